"""Style sweeps: one Gatys result per setting, side by side, saved to the run store.

Problem 6.3 asks which content layer gives the best picture, and how the style/content balance
changes it; a sweep answers with a grid of results plus each one's losses. The built-in
example pictures live in `engine.style.examples`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont, ImageOps

from engine.data.images import image_grid, image_to_tensor
from engine.errors import UserError
from engine.models.vgg import check_layers
from engine.store.runs import Run, RunStore
from engine.style.gatys import StyleConfig, StyleProgress, level_count, stylize_steps

TASK = "style-sweep"
TERMS = ("content", "style", "tv", "total")
CONTENT_LAYERS = ("relu1_2", "relu2_2", "relu3_2", "relu4_2", "relu5_2")
STYLE_WEIGHTS = (1.0, 3.0, 10.0, 30.0)
TV_WEIGHTS = (0.0, 10.0, 100.0, 1000.0)


# sweeps ---------------------------------------------------------------------------------------
@dataclass
class SweepPoint:
    """One setting of a sweep: its metric key, its caption, and what it changes in the config."""

    key: str
    label: str
    overrides: dict[str, Any]


@dataclass
class SweepResult:
    key: str
    label: str
    image: Image.Image
    losses: dict[str, float]  # final value of each term
    curves: dict[str, list[float]] = field(default_factory=dict)  # each term, step by step


def content_layer_points(layers: Sequence[str] = CONTENT_LAYERS) -> list[SweepPoint]:
    check_layers(layers)
    return [SweepPoint(layer, layer, {"content_layer": layer}) for layer in layers]


def style_weight_points(weights: Sequence[float] = STYLE_WEIGHTS, content: float = 1.0) -> list[SweepPoint]:
    changes = [{"style_weight": float(w), "content_weight": float(content)} for w in weights]
    return [SweepPoint(f"style_{w:g}", f"style {w:g}", c) for w, c in zip(weights, changes)]


def tv_weight_points(weights: Sequence[float] = TV_WEIGHTS) -> list[SweepPoint]:
    """The smoothness term from off to dominant: brush texture gives way to flat, blurred areas."""
    return [SweepPoint(f"tv_{w:g}", f"TV {w:g}", {"tv_weight": float(w)}) for w in weights]


def sweep_config(size: int = 128, steps: int = 35, **overrides: Any) -> StyleConfig:
    """Quick settings for a sweep: two levels sharing `steps` (a few seconds a result at 128 px
    on a CPU, so a whole sweep is worth waiting for), no intermediate pictures; a fixed count
    (no flat-loss stop) so that every point of a sweep gets the same steps."""
    coarse = steps * 4 // 7
    base = dict(size=size, levels=2, coarse_steps=coarse, steps=steps - coarse, flat=0.0, preview_every=0)
    return StyleConfig(**{**base, **overrides})


def step_count(config: StyleConfig) -> int:
    return config.steps + config.coarse_steps * (level_count(config) - 1)


def run_point(
    content: Image.Image,
    style: Image.Image,
    point: SweepPoint,
    config: StyleConfig,
    cancel: threading.Event | None,
    report: Callable[[StyleProgress], None],
) -> SweepResult | None:
    """One Gatys run, keeping every step's losses; None when cancelled before its first step."""
    curves: dict[str, list[float]] = {t: [] for t in TERMS}
    last = None
    for last in stylize_steps(content, style, config, cancel):
        report(last)
        for t in TERMS if not last.cancelled else ():
            curves[t].append(getattr(last, f"{t}_loss"))
    if last is None or not curves["total"]:
        return None
    return SweepResult(point.key, point.label, last.image, {t: v[-1] for t, v in curves.items()}, curves)


def sweep_grid(content: Image.Image, style: Image.Image, results: Sequence[SweepResult]) -> Image.Image:
    """Photo, style and each result in a row, each captioned underneath."""
    size = results[0].image.size
    tiles = [content.convert("RGB").resize(size), ImageOps.fit(style.convert("RGB"), size)]
    row = image_grid([[image_to_tensor(t) for t in [*tiles, *(r.image for r in results)]]])
    captioned = Image.new("RGB", (row.width, row.height + 16), "white")
    captioned.paste(row)
    draw, font = ImageDraw.Draw(captioned), ImageFont.load_default()
    for i, text in enumerate(["content", "style", *(r.label for r in results)]):
        draw.text((i * (size[0] + 2) + 2, row.height + 2), text, fill="black", font=font)
    return captioned


def run_sweep(
    content: Image.Image,
    style: Image.Image,
    points: Sequence[SweepPoint],
    kind: str,
    base: StyleConfig | None = None,
    store: RunStore | None = None,
    name: str = "",
    inputs: dict[str, str] | None = None,
    cancel: threading.Event | None = None,
    on_progress: Callable[[float, str], None] | None = None,
) -> tuple[str, list[SweepResult]]:
    """Run every point and save the sweep as a `style-sweep` run -> (run id, results).

    The run holds the final losses as metrics (step = 1-based position, names like
    `content_loss/relu4_2`), the captioned grid as samples/step_N.png and each point's loss
    curves in sweep.json. It ends finished, stopped (cancel) or failed with the error."""
    if not points:
        raise UserError("a sweep needs at least one setting")
    base = base or sweep_config()
    configs = [replace(base, **p.overrides) for p in points]  # bad settings fail before any work
    store = store or RunStore()
    config = {"kind": kind, "points": [asdict(p) for p in points], "style_config": asdict(base)}
    run = store.create_run(TASK, {**config, "inputs": inputs or {}}, name=name, max_steps=len(points))
    store.claim(run.id)
    total, done, results = sum(map(step_count, configs)), 0, []

    def report(p: StyleProgress) -> None:
        if on_progress:
            on_progress(
                min(1.0, (done + p.step) / max(total, 1)), f"{point.label}: step {p.step}/{p.total_steps}"
            )

    try:
        for index, (point, config) in enumerate(zip(points, configs), start=1):
            result = run_point(content, style, point, config, cancel, report)
            done += step_count(config)
            if result is None:
                break
            results.append(result)
            store.log_metric_rows(
                run.id, [(index, f"{t}_loss/{point.key}", v) for t, v in result.losses.items()]
            )
            if cancel is not None and cancel.is_set():
                break
        if results:
            run.samples_dir.mkdir(parents=True, exist_ok=True)
            sweep_grid(content, style, results).save(run.samples_dir / f"step_{len(results):08d}.png")
        (run.folder / "sweep.json").write_text(json.dumps({"curves": {r.key: r.curves for r in results}}))
        finished = len(results) == len(points)
        store.set_status(
            run.id, *(("finished",) if finished else ("stopped", f"stopped after {len(results)}"))
        )
    except BaseException as err:  # a Streamlit rerun or Ctrl-C ends the sweep too: record it
        failed = isinstance(err, Exception)
        store.set_status(run.id, "failed" if failed else "stopped", f"{type(err).__name__}: {err}")
        raise
    return run.id, results


@dataclass
class SavedSweep:
    """What a page needs to show a finished sweep again."""

    run: Run
    points: list[SweepPoint]
    finals: dict[str, dict[str, float]]  # point key -> term -> final loss
    curves: dict[str, dict[str, list[float]]]  # point key -> term -> loss at each step
    grid: Path | None


def read_sweep(store: RunStore, run_id: str) -> SavedSweep:
    run = store.get(run_id)
    points = [SweepPoint(**p) for p in run.config.get("points", [])]
    finals: dict[str, dict[str, float]] = {}
    for _, metric, value in store.metrics(run_id):
        term, _, key = metric.partition("/")
        finals.setdefault(key, {})[term.removesuffix("_loss")] = value
    saved = run.folder / "sweep.json"
    curves = json.loads(saved.read_text()).get("curves", {}) if saved.is_file() else {}
    samples = store.samples(run_id)
    return SavedSweep(run, points, finals, curves, samples[-1][1] if samples else None)
