"""Deep image prior: corrupt a photo (noise, painted holes, shrinking) and watch an untrained
network restore it, with the PSNR curve that shows it drawing the picture before the noise.

The demo streams `engine.prior.fit.prior_steps`; Stop keeps the picture so far. It reads only
uploads and its own example photos, caps sizes, and answers bad input with a message.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import gradio as gr
import numpy as np
import plotly.graph_objects as go
from PIL import Image, ImageDraw

from engine.errors import UserError
from engine.prior.corruption import Corruption, corruption_of, simulate, to_picture, to_unit_tensor
from engine.prior.fit import DEFAULT_STEPS, PriorConfig, PriorProgress, prior_steps, psnr_db
from engine.style.examples import examples_dir, write_examples
from studio.inputs import MaskEditor, Slider
from studio.sessions import SessionStops, session_key
from studio.uploads import CACHE_CLEANUP, MissingUpload, image_upload, limit_decoding, read_upload

KINDS = {"Denoise": "denoise", "Inpaint (paint the holes)": "inpaint", "Upscale": "upscale"}
MAX_SIDE = 384  # the work size's long side at most: a 384 px fit already takes minutes here
MAX_STEPS = 2000
BASELINES = {"denoise": "noisy input", "inpaint": "holes filled grey", "upscale": "bicubic enlargement"}


def fit_side(photo: Image.Image, side: int) -> Image.Image:
    """The photo shrunk so its long side is at most `side` (never enlarged)."""
    scale = min(1.0, side / max(photo.size))
    size = (max(8, round(photo.width * scale)), max(8, round(photo.height * scale)))
    return photo if size == photo.size else photo.resize(size, Image.Resampling.LANCZOS)


def scribbles(size: tuple[int, int], seed: int = 0) -> Image.Image:
    """Default holes when none were painted: a few thick random strokes (white = hole)."""
    rng = np.random.default_rng(seed)
    mask = Image.new("L", size, 0)
    draw = ImageDraw.Draw(mask)
    width = max(3, min(size) // 40)
    for _ in range(7):
        points = [tuple(rng.uniform(0, 1, 2) * size) for _ in range(3)]
        draw.line(points, fill=255, width=width, joint="curve")
    return mask


def painted_holes(editor: dict | None, size: tuple[int, int]) -> Image.Image | None:
    """The strokes painted on the mask editor (any colour, any layer) as a white-on-black mask
    of `size`, or None when nothing was painted."""
    layers = [layer for layer in (editor or {}).get("layers") or [] if isinstance(layer, Image.Image)]
    if not layers:
        return None
    alpha = np.zeros(layers[0].size[::-1], dtype=bool)
    for layer in layers:
        if layer.size == layers[0].size:
            alpha |= np.asarray(layer.convert("RGBA"))[..., 3] > 0
    if not alpha.any():
        return None
    return Image.fromarray(alpha.astype(np.uint8) * 255, "L").resize(size, Image.Resampling.NEAREST)


class PriorDemo:
    """The demo's functions, bound to a base config and the folders besides uploads it may read."""

    def __init__(self, base: PriorConfig | None = None, roots: Sequence[str | Path] | None = None) -> None:
        self.base = base or PriorConfig(preview_every=10, log_every=10)
        self.roots = [Path(r).resolve() for r in (roots if roots is not None else [examples_dir()])]
        self.stops = SessionStops()
        self.restarts: dict[str, int] = {}  # Restore clicks per session: a newer one supersedes a fit

    def photo(self, path: str | None, side: float) -> Image.Image:
        """The uploaded (or example) photo at the work size."""
        return fit_side(read_upload(path, "photo", self.roots), int(min(max(32, side), MAX_SIDE)))

    def canvas(self, path: str | None, side: float) -> dict | None:
        """A fresh mask editor over the photo (painting on it marks holes)."""
        try:
            photo = self.photo(path, side)
        except UserError:
            return None
        return {"background": photo, "layers": [], "composite": photo}

    def corruption(
        self, photo: Image.Image, kind: str, sigma: float, scale: int, editor: dict | None, as_is: bool
    ) -> tuple[Corruption, str]:
        """(what to restore, a note on the holes used)."""
        note = ""
        mask = None
        if kind == "inpaint":
            mask = painted_holes(editor, photo.size)
            if mask is None:
                mask, note = scribbles(photo.size), " No holes were painted, so random strokes were cut out."
        scale = int(scale)
        if as_is:
            return corruption_of(kind, photo, mask, scale), note
        return simulate(kind, photo, float(sigma), mask, scale, self.base.seed), note

    def restore(
        self,
        path: str | None,
        kind_label: str,
        sigma: float,
        scale: float,
        editor: dict | None,
        steps: float,
        side: float,
        as_is: bool,
        request: gr.Request | None = None,
    ) -> Iterator[tuple]:
        """Yield (corrupted input, restored picture, curve, status) as the fit goes."""
        try:
            kind = KINDS.get(kind_label)
            if kind is None:
                raise UserError(f"choose one of {', '.join(KINDS)}")
            photo = self.photo(path, side)
            if as_is and kind == "upscale":  # the output, not the input, is the work size
                photo = fit_side(photo, max(8, int(side) // int(scale)))
            corruption, note = self.corruption(photo, kind, sigma, int(scale), editor, bool(as_is))
            steps = int(min(max(1, steps or DEFAULT_STEPS[kind]), MAX_STEPS))
            cfg = replace(self.base, steps=steps)
            reference = (
                None
                if as_is
                else to_unit_tensor(photo)[..., : corruption.output_size[0], : corruption.output_size[1]]
            )
        except MissingUpload as hint:
            yield None, None, None, str(hint)
            return
        except UserError as err:
            yield None, None, None, f"Could not use that: {err}"
            return
        baseline = psnr_db(corruption.naive(), reference) if reference is not None else math.nan
        shown = to_picture(corruption.naive())
        log: list[PriorProgress] = []
        mine = self.restarts.get(session_key(request), 0)
        start = time.perf_counter()
        yield shown, None, curve(log, baseline, kind), f"Fitting a fresh network for {steps} steps…{note}"
        stop = self.stops.begin(request)
        try:
            for item in prior_steps(corruption, cfg, reference, stop):
                if item.step and (item.step % cfg.log_every == 0 or item.done) and not item.cancelled:
                    log.append(item)
                if item.result is None and not item.done:
                    continue
                if self.restarts.get(session_key(request), 0) != mine:
                    return  # a new Restore stopped it: its "Starting…" stays until the new fit shows
                picture = to_picture(item.result) if item.result is not None else gr.skip()
                yield (
                    gr.skip(),
                    picture,
                    curve(log, baseline, kind),
                    status(item, log, baseline, start) + note,
                )
        except UserError as err:
            yield gr.skip(), gr.skip(), gr.skip(), f"The fit failed: {err}"
        finally:
            self.stops.end(request, stop)

    def stop(self, request: gr.Request | None = None) -> str:
        return self.stops.stop(request)

    def restart(self, request: gr.Request | None = None) -> tuple:
        """Restore's first, immediate step: stop this visitor's running fit (it then ends without
        a "Stopped at step N"), clear its picture and curve, and say a new fit is starting."""
        key = session_key(request)
        self.restarts[key] = self.restarts.get(key, 0) + 1
        self.stops.stop(request)
        return None, None, "Starting a new fit…"


def status(item: PriorProgress, log: list[PriorProgress], baseline: float, start: float) -> str:
    seconds = time.perf_counter() - start
    scores = [row for row in log if not math.isnan(row.psnr_average)]
    score = f" · PSNR {scores[-1].psnr_average:.2f} dB (input {baseline:.2f} dB)" if scores else ""
    if item.cancelled:
        return f"Stopped at step {item.step}; the picture so far is kept{score}."
    if item.done:
        best = max(scores, key=lambda row: row.psnr_average) if scores else None
        peak = (
            f"; the averaged output peaked at {best.psnr_average:.2f} dB at step {best.step}" if best else ""
        )
        return f"Done: {item.total_steps} steps in {seconds:.0f} s{score}{peak}."
    return f"Step {item.step}/{item.total_steps}, {seconds:.0f} s{score}"


def curve(log: Sequence[PriorProgress], baseline: float, kind: str = "denoise") -> go.Figure:
    """PSNR of each step's drawing and of the averaged output against the corrupted input's;
    without a reference, the loss (log scale)."""
    fig = go.Figure()
    steps = [row.step for row in log]
    if math.isnan(baseline):
        fig.add_scatter(x=steps, y=[row.loss for row in log], mode="lines", name="loss (MSE to the input)")
        fig.update_yaxes(type="log", title="loss")
    else:
        fig.add_scatter(x=steps, y=[row.psnr for row in log], mode="lines", name="this step's drawing")
        fig.add_scatter(
            x=steps,
            y=[row.psnr_average for row in log],
            mode="lines",
            name="averaged output",
            line={"width": 3},
        )
        fig.add_hline(y=baseline, line_dash="dot", line_color="grey", annotation_text=BASELINES[kind])
        fig.update_yaxes(title="PSNR (dB)")
    fig.update_layout(
        height=300, margin={"l": 10, "r": 10, "t": 30, "b": 10}, xaxis_title="step",
        legend={"orientation": "h", "y": -0.3}, title="Fit: the picture comes before the noise",
    )  # fmt: skip
    return fig


def build_prior_demo(base: PriorConfig | None = None) -> gr.Blocks:
    fns = PriorDemo(base)
    photos, _ = write_examples()
    limit_decoding()
    with gr.Blocks(title="Deep image prior", delete_cache=CACHE_CLEANUP) as demo:
        gr.Markdown(
            "## Deep image prior\nA network that never saw a dataset, fitted to one corrupted photo from "
            "a fixed random code, draws the picture **before** it draws the noise: stopping early "
            "restores it (Ulyanov et al. 2018). Pick a photo and a corruption, press **Restore**, and "
            "watch the PSNR rise above the corrupted input's, and fall again if you let it run."
        )
        with gr.Row():
            with gr.Column(scale=1):
                photo = image_upload("Photo", height=240)
                if photos:
                    gr.Examples([str(p) for p in photos], inputs=photo, label="Photos (scikit-image)")
                kind = gr.Radio(list(KINDS), value="Denoise", label="Corruption")
                sigma = Slider(5, 75, 25, step=5, label="Noise level σ (0-255 scale)")
                scale = gr.Radio([2, 4, 8], value=4, label="Upscale factor", visible=False)
                with gr.Column(visible=False) as mask_box:
                    mask = MaskEditor(
                        label="Paint the holes", type="pil", image_mode="RGBA", sources=(), layers=False,
                        transforms=(), brush=gr.Brush(default_size=10, colors=["#ff00ff"], color_mode="fixed"),
                        height=300,
                    )  # fmt: skip
                as_is = gr.Checkbox(label="My photo is already corrupted: restore it as it is (no PSNR)")
                side = Slider(64, MAX_SIDE, 256, step=32, label="Work size (long side, px)")
                steps = Slider(0, MAX_STEPS, 0, step=50, label="Steps (0: the default for the corruption)")
                with gr.Row():
                    run = gr.Button("Restore", variant="primary")
                    stop = gr.Button("Stop", variant="stop")
            with gr.Column(scale=2):
                with gr.Row():
                    corrupted = gr.Image(label="Corrupted input", type="pil", interactive=False, height=300)
                    restored = gr.Image(
                        label="Restored", type="pil", format="png", interactive=False, buttons=["download"],
                        height=300, elem_id="restored",
                    )  # fmt: skip
                plot = gr.Plot(label="PSNR")
                state = gr.Markdown()

        def show_options(label: str) -> tuple:
            chosen = KINDS.get(label)
            return (
                gr.update(visible=chosen == "denoise"),
                gr.update(visible=chosen == "upscale"),
                gr.update(visible=chosen == "inpaint"),
            )

        kind.change(show_options, kind, [sigma, scale, mask_box], api_name=False)
        gr.on([photo.change, side.change], fns.canvas, [photo, side], mask, api_name=False)
        inputs = [photo, kind, sigma, scale, mask, steps, side, as_is]
        # a second click stops this visitor's running fit first instead of queueing behind it
        started = run.click(
            fns.restart, None, [restored, plot, state], api_name=False, concurrency_limit=None,
            show_progress="hidden",
        )  # fmt: skip
        started.then(
            fns.restore,
            inputs,
            [corrupted, restored, plot, state],
            api_name="restore",
            trigger_mode="always_last",
        )
        stop.click(fns.stop, None, state, api_name="stop", concurrency_limit=None)
    return demo
