"""Style transfer: slide the strength and see the painting at once, then refine it with Gatys.

Instant mode (Magenta's arbitrary-style network, `engine.style.instant`) redraws on every
slider move; Refine streams `engine.style.gatys.stylize_steps`' pictures and loss curves, and Stop
ends it at the next step. The demo reads only uploads and its own examples (a shared Space must
not let a visitor name a file on the server), caps upload sizes, and answers bad input with a
message, never a traceback.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import gradio as gr
import plotly.graph_objects as go
from PIL import Image

from engine.errors import UserError
from engine.models.vgg import LAYER_NAMES
from engine.store.curves import log_ticks, tick_label
from engine.style.examples import examples_dir, write_examples
from engine.style.gatys import STYLE_LAYERS, StyleConfig, StyleProgress, stylize_steps
from engine.style.instant import instant_stylize
from studio.sessions import SessionStops
from studio.uploads import CACHE_CLEANUP, MissingUpload, image_upload, limit_decoding, read_upload

PREVIEW_SIDE = 512  # instant preview's long side at most
MAX_REFINE_SIDE = 512
MAX_STEPS = 300
RELU_LAYERS = tuple(name for name in LAYER_NAMES if name.startswith("relu"))
TERMS = ("content", "style", "tv")
# the refined picture (256x171 by default) fills its panel instead of sitting small inside it
REFINED_CSS = "<style>#refined img { width: 100%; height: 100%; object-fit: contain; }</style>"
UPDATE_EVERY_S = 0.25  # at most this often a status (pictures always go out)
PLOT_EVERY_S = 1.0  # and the loss plot at most this often


class StyleDemo:
    """The demo's functions, bound to a base Gatys config and the folders it may read."""

    def __init__(self, base: StyleConfig | None = None, roots: Sequence[str | Path] | None = None) -> None:
        self.base = base or StyleConfig(preview_every=5)
        self.roots = [Path(r).resolve() for r in (roots if roots is not None else [examples_dir()])]
        self.stops = SessionStops()
        # a browser redraws a growing plot slower than small steps arrive; updates queued behind
        # it kept the page on "Stopping…" for 30-130 s while the plot caught up
        self.update_every_s, self.plot_every_s = UPDATE_EVERY_S, PLOT_EVERY_S

    def load(self, path: str | None, what: str) -> Image.Image:
        """An uploaded (or example) picture as RGB, its size checked before decoding."""
        return read_upload(path, what, self.roots)

    def preview(
        self, content_path: str | None, style_path: str | None, strength: float, preserve_color: bool
    ) -> tuple[Image.Image | None, str]:
        """(instant stylised picture, message): one network pass, fast enough for every slider move."""
        try:
            content, style = self.load(content_path, "content"), self.load(style_path, "style")
            size = min(max(content.size), PREVIEW_SIDE)
            strength = min(1.0, max(0.0, float(strength)))
            return instant_stylize(content, style, strength, bool(preserve_color), size), ""
        except MissingUpload as hint:
            return None, str(hint)
        except UserError as err:
            return None, f"Could not use that: {err}"

    def config(
        self,
        content_weight: float,
        style_weight: float,
        tv_weight: float,
        content_layer: str,
        style_layers: Sequence[str],
        size: int,
        steps: int,
        preserve_color: bool,
    ) -> StyleConfig:
        """The base config with the sliders' values, checked and clamped (a client may send anything)."""
        if content_layer not in RELU_LAYERS or not set(style_layers) <= set(RELU_LAYERS):
            raise UserError(f"layers must be among {', '.join(RELU_LAYERS)}")
        if not style_layers:
            raise UserError("tick at least one style layer")
        return replace(
            self.base,
            content_weight=max(0.0, float(content_weight)),
            style_weight=max(0.0, float(style_weight)),
            tv_weight=max(0.0, float(tv_weight)),
            content_layer=content_layer,
            style_layers=tuple(style_layers),
            style_layer_weights=(),
            size=int(min(max(16, size), MAX_REFINE_SIDE)),
            steps=int(min(max(1, steps), MAX_STEPS)),
            preserve_color=bool(preserve_color),
        )

    def refine(
        self,
        content_path: str | None,
        style_path: str | None,
        content_weight: float,
        style_weight: float,
        tv_weight: float,
        content_layer: str,
        style_layers: list[str],
        size: int,
        steps: int,
        preserve_color: bool,
        request: gr.Request | None = None,
    ) -> Iterator[tuple]:
        """Yield (picture or skip, loss figure, status) after every optimisation step."""
        stop = self.stops.begin(request)
        try:
            content, style = self.load(content_path, "content"), self.load(style_path, "style")
            cfg = self.config(
                content_weight,
                style_weight,
                tv_weight,
                content_layer,
                style_layers,
                size,
                steps,
                preserve_color,
            )
        except MissingUpload as hint:
            yield None, None, str(hint)
            return
        except UserError as err:
            yield None, None, f"Could not use that: {err}"
            return
        history: list[StyleProgress] = []
        start = sent = plotted = time.perf_counter()
        try:
            for p in stylize_steps(content, style, cfg, stop):
                if not p.cancelled:
                    history.append(p)
                now, last = time.perf_counter(), p.done or p.cancelled
                if not last and p.image is None and now - sent < self.update_every_s:
                    continue  # the browser falls behind fast steps: Stop then waits on its backlog
                replot = last or now - plotted >= self.plot_every_s or len(history) == 1
                sent, plotted = now, now if replot else plotted
                yield (
                    p.image if p.image is not None else gr.skip(),
                    loss_figure(history, cfg) if replot else gr.skip(),
                    status(p, start),
                )
        except UserError as err:
            yield gr.skip(), gr.skip(), f"Refine failed: {err}"
        finally:
            self.stops.end(request, stop)

    def stop(self, request: gr.Request | None = None) -> str:
        """Ask this visitor's refine to end after its current step."""
        return self.stops.stop(request)


def status(p: StyleProgress, start: float) -> str:
    where = f"step {p.step}/{p.total_steps} at {p.size[0]}×{p.size[1]} px"
    if p.cancelled:
        return f"Stopped at {where}."
    if p.done:
        return f"Done: {p.total_steps} steps in {time.perf_counter() - start:.1f} s."
    return f"Refining: {where} · total loss {p.total_loss:.3g}"


def readable_top(values: Sequence[float]) -> float:
    """The axis top: the largest value, unless a few spikes tower over the rest (a diverged step,
    the jump at a new resolution); then 3x the 90th percentile, so the other curves stay legible."""
    ordered = sorted(values)
    return min(ordered[-1], 3 * ordered[int(0.9 * (len(ordered) - 1))])


def loss_figure(history: Sequence[StyleProgress], cfg: StyleConfig) -> go.Figure:
    """Each weighted loss term and their total, step by step (log scale); a dotted line marks
    the switch to the next resolution, where the losses rise because the picture, upsampled
    from the coarser level, lacks the detail the finer targets have."""
    fig = go.Figure()
    steps = [p.step for p in history]
    for term in TERMS:
        weight = getattr(cfg, f"{term}_weight")
        values = [weight * getattr(p, f"{term}_loss") for p in history]
        fig.add_scatter(x=steps, y=values, mode="lines", name=f"{term} × {weight:g}")
    fig.add_scatter(x=steps, y=[p.total_loss for p in history], mode="lines", name="total", line={"width": 3})
    values = [v for trace in fig.data for v in trace.y if v > 0 and math.isfinite(v)]
    if values:  # three decades below the top: the content loss starts at 0 from the photo
        top = readable_top(values)
        low = max(min(values), top * 1e-3)
        ticks = log_ticks(low / 1.3, top * 1.3, most=16)  # 1-2-5 over the four decades shown
        fig.update_yaxes(
            range=[math.log10(low) - 0.1, math.log10(top) + 0.1],
            tickvals=ticks,
            ticktext=[tick_label(t) for t in ticks],
        )
    for before, after in zip(history, history[1:]):
        if before.size != after.size:
            fig.add_vline(x=before.step + 0.5, line_dash="dot", line_color="grey")
    fig.update_layout(
        height=300,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        xaxis_title="step",
        yaxis_type="log",
        legend={"orientation": "h", "y": -0.3},
        title="Losses",
    )
    return fig


def build_style_demo(base: StyleConfig | None = None) -> gr.Blocks:
    fns = StyleDemo(base)
    cfg = fns.base
    photos, styles = write_examples()
    limit_decoding()
    with gr.Blocks(title="Style transfer", delete_cache=CACHE_CLEANUP) as demo:
        gr.Markdown(
            "## Neural style transfer\nPick a photo and a style. The preview follows the sliders at once "
            "(a feed-forward network); **Refine** paints it properly by optimisation (Gatys et al.), "
            "with the losses falling live. **Stop** keeps the picture so far."
        )
        with gr.Row():
            with gr.Column():
                content = image_upload("Content photo", height=260)
                if photos:
                    gr.Examples([str(p) for p in photos], inputs=content, label="Photos (scikit-image)")
            with gr.Column():
                style = image_upload("Style", height=260)
                gr.Examples(
                    [str(p) for p in styles],
                    inputs=style,
                    label="Styles: public-domain paintings, then patterns drawn at startup",
                )
            with gr.Column():
                preview = gr.Image(
                    label="Instant preview", type="pil", format="png", interactive=False,
                    buttons=["download"], height=260, elem_id="preview",
                )  # fmt: skip
                strength = gr.Slider(0, 1, 1.0, step=0.05, label="Style strength")
                preserve = gr.Checkbox(label="Keep the photo's colours")
                note = gr.Markdown()
        with gr.Row():
            with gr.Column(scale=1):
                gr.Markdown("### Refine (Gatys optimisation)")
                weights = [
                    gr.Slider(0, 10, cfg.content_weight, step=0.1, label="Content weight"),
                    gr.Slider(0, 30, cfg.style_weight, step=0.5, label="Style weight"),
                    gr.Slider(0, 50, cfg.tv_weight, step=1, label="Smoothness (total variation) weight"),
                ]
                layer = gr.Dropdown(list(RELU_LAYERS), value=cfg.content_layer, label="Content layer")
                choices = list(dict.fromkeys([*STYLE_LAYERS, *cfg.style_layers]))
                layers = gr.CheckboxGroup(choices, value=list(cfg.style_layers), label="Style layers")
                size = gr.Slider(
                    min(64, cfg.size), MAX_REFINE_SIDE, cfg.size, step=16, label="Size (long side, px)"
                )
                steps = gr.Slider(min(5, cfg.steps), MAX_STEPS, cfg.steps, step=1, label="Steps at full size")
                with gr.Row():
                    refine = gr.Button("Refine", variant="primary")
                    stop = gr.Button("Stop", variant="stop")
            with gr.Column(scale=2):
                gr.HTML(REFINED_CSS, padding=False)
                refined = gr.Image(
                    label="Refined", type="pil", format="png", interactive=False,
                    buttons=["download"], height=380, elem_id="refined",
                )  # fmt: skip
                plot = gr.Plot(label="Losses")
                state = gr.Markdown()
        gr.on(
            [content.change, style.change, strength.change, preserve.change],
            fns.preview,
            [content, style, strength, preserve],
            [preview, note],
            trigger_mode="always_last",
            api_name="instant_preview",
            show_progress="hidden",
        )
        inputs = [content, style, *weights, layer, layers, size, steps, preserve]
        # a second click stops this visitor's running refine first instead of queueing behind it
        started = refine.click(
            fns.stops.stop_quietly, None, None, api_name=False, concurrency_limit=None, show_progress="hidden"
        )
        started.then(
            fns.refine, inputs, [refined, plot, state], api_name="refine", trigger_mode="always_last"
        )
        stop.click(fns.stop, None, state, api_name="stop", concurrency_limit=None)
    return demo
