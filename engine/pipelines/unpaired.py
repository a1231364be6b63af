"""What an unpaired (CycleGAN) model does with a person's picture: name its two domains, fit the
picture to the model's size keeping its aspect, translate it one way and back again, and pick a
held-out picture of a domain (from the run's own dataset, or the bundled model's own examples).
Messages never name a path on the server."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from engine.data.images import ImageLoadError, list_images, load_image
from engine.data.unpaired import domain_folders, read_domain_image
from engine.errors import UserError
from engine.inference.loader import load_predictor
from engine.store.models import BUNDLED, assets_models_dir
from engine.store.runs import RunStore

WAYS = ("AtoB", "BtoA")
# the bundled models' domains (A, B) and the folder of their examples, one subfolder a domain
BUNDLED_DOMAINS = {"default-cyclegan": ("shoes", "handbags")}


def examples_root() -> Path:
    """assets/unpaired beside the bundled model files (a checkout or an installed share dir)."""
    return assets_models_dir().parent / "unpaired"


def _run_domains(model: str, home: str | None) -> tuple[str, str]:
    """A run's domains from its dataset names: "edges2shoes" half B is shoes, "horse2zebra" is
    horses | zebras; anything else is the folder's name."""
    try:
        run = RunStore(home).get(model)
    except UserError:
        return "A", "B"
    task, data = run.config.get("task_config", {}), run.config.get("settings", {}).get("data", "")
    name_a, name_b = Path(data).name, Path(task.get("data_b", "")).name

    def side(name: str, half: str, fallback: str) -> str:
        parts = name.split("2")
        if len(parts) == 2 and all(parts):
            return parts[half == "B"] if half in ("A", "B") else parts[fallback == "B"]
        return f"{name} ({fallback})" if name else fallback

    if task.get("unpaired"):
        return side(name_a, "A", "A"), side(name_a, "B", "B")
    if name_b:
        return side(name_a, task.get("half_a", "whole"), "A"), side(name_b, task.get("half_b", "whole"), "B")
    return side(name_a, "whole", "A"), side(name_a, "whole", "B")


def domain_names(model: str, home: str | None = None) -> tuple[str, str]:
    """(A, B) in words for a model: the bundled ones' from their table, a run's from its data."""
    if model in BUNDLED_DOMAINS:
        return BUNDLED_DOMAINS[model]
    if model in BUNDLED:
        return "A", "B"
    return _run_domains(model, home)


def fit_to_model(picture: Image.Image, size: int, multiple: int = 4) -> Image.Image:
    """The picture with its long side at `size` and its aspect kept (the short side rounded to a
    multiple the generator can halve): a CycleGAN ResNet generator is size-agnostic, so nothing
    needs squashing into a square."""
    scale = size / max(picture.size)
    width, height = (max(multiple, round(side * scale / multiple) * multiple) for side in picture.size)
    return picture.convert("RGB").resize((width, height), Image.BICUBIC)


@dataclass
class Cycle:
    """A picture the model saw, its translation, and the translation translated back."""

    shown: Image.Image
    translated: Image.Image
    back: Image.Image


def translate_cycle(model: str, picture: Image.Image, way: str, home: str | None = None) -> Cycle:
    """One way and back again, at the model's size with the picture's aspect."""
    if way not in WAYS:
        raise UserError(f"direction must be AtoB or BtoA, got {way!r}")
    forward = load_predictor(model, home, direction=way)
    back = load_predictor(model, home, direction=WAYS[way == "AtoB"])
    shown = fit_to_model(picture, forward.size)
    translated = forward.translate_batch([shown], fit="pad")[0]
    return Cycle(shown, translated, back.translate_batch([translated], fit="pad")[0])


def example_pictures(model: str, way: str) -> list[Path]:
    """A bundled model's example pictures of the direction's input domain ([] for none)."""
    if model not in BUNDLED_DOMAINS:
        return []
    folder = examples_root() / BUNDLED_DOMAINS[model][way == "BtoA"]
    return list_images(folder) if folder.is_dir() else []


def held_out_picture(model: str, way: str, seed: int, home: str | None = None) -> tuple[Image.Image, str]:
    """(a picture of the direction's input domain, where it came from in words): from a run's
    own held-out split when its dataset is on this machine, else from the bundled examples."""
    if way not in WAYS:
        raise UserError(f"direction must be AtoB or BtoA, got {way!r}")
    pick = random.Random(int(seed)).choice
    examples = example_pictures(model, way)
    if examples:
        path = pick(examples)
        domain = domain_names(model)[way == "BtoA"]
        return load_image(path), f"example {examples.index(path) + 1} of {len(examples)} {domain}"
    domain = _run_input_domain(model, way, home)
    files = list_images(domain.folder)
    if not files:
        raise UserError(f"no images in the run's {domain.folder.name}/")
    path = pick(files)
    try:
        return read_domain_image(path, domain.half), f"{path.name} from {domain.folder.name}/"
    except ImageLoadError:
        raise UserError(f"cannot read {path.name} from {domain.folder.name}/") from None


def _run_input_domain(model: str, way: str, home: str | None):
    try:
        run = RunStore(home).get(model)
    except UserError:
        raise UserError("this model has no held-out pictures here; upload one") from None
    task, data = run.config.get("task_config", {}), run.config.get("settings", {}).get("data", "")
    args = (task.get("data_b", ""), task.get("half_a", "whole"), task.get("half_b", "whole"))
    try:
        domain_a, domain_b = domain_folders(data, "val", *args, task.get("unpaired", False))
    except UserError:
        raise UserError("the run's dataset is not on this machine; upload a picture") from None
    return domain_a if way == "AtoB" else domain_b
