"""Which image-to-image models a drawing may be given: the kind says a model translates images,
not what it was trained on. A facades pix2pix reads label maps and answers a shoe outline with
a wall, so the sketch demos offer only models trained on drawings or edge maps."""

from __future__ import annotations

from pathlib import Path

from engine.errors import UserError
from engine.store.models import BUNDLED, bundled_models
from engine.store.runs import RunStore

# datasets whose inputs are label maps or photos (the official pix2pix sets), never drawings
NOT_DRAWINGS = ("facades", "cityscapes", "maps", "night2day", "day2night", "ade20k", "label")


def reads_drawings(model: str, home: str | None = None) -> bool:
    """Whether `model` (a bundled name or a run id) was trained on drawings or edge maps: a
    bundled model by its table, a run by its dataset's folder name. A checkpoint file says
    nothing about its data and is kept."""
    if model in BUNDLED:
        return not BUNDLED[model].reads_label_maps
    try:
        run = RunStore(home).get(model)
    except UserError:
        return True
    data = Path(run.config.get("settings", {}).get("data", "")).name.lower()
    return not any(word in data for word in NOT_DRAWINGS)


def drawing_models(models: dict[str, str], home: str | None = None) -> dict[str, str]:
    """The label -> model entries of `models` that read drawings, in their order."""
    return {label: model for label, model in models.items() if reads_drawings(model, home)}


FAST_SUFFIX = "-live"  # "default-live" is a student cut out of "default" and distilled from it


def fast_companion(model: str) -> str | None:
    """The installed bundled student of the bundled `model` (engine/tasks/distill.py), or None:
    runs and files have none. It drafts the model's answer to each stroke on the live canvas (the
    model itself redraws once the pen rests), and the static Space runs it in the browser."""
    name = model + FAST_SUFFIX
    return name if model in BUNDLED and name in bundled_models("image-to-image") else None
