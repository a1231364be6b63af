"""Translate one image or a folder of images with a predictor (the `translate` command)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

from PIL import Image
from tqdm import tqdm

from engine.data.datasets import split_aligned
from engine.data.images import ImageLoadError, list_images, load_image
from engine.data.sketch import prepare_sketch
from engine.errors import UserError
from engine.inference.predictor import Predictor


def read_input(path: Path, direction: str | None, sketch: bool, size: int) -> Image.Image:
    """The model's input from a file: the input half of an A|B pair, a sketch, or as is."""
    img = load_image(path)
    if direction:
        img = split_aligned(img, direction, str(path))[0]
    return prepare_sketch(img, size) if sketch else img


def translate_paths(
    predictor: Predictor,
    src: Path,
    dst: Path,
    direction: str | None = None,
    sketch: bool = False,
    fit: str = "resize",
    batch_size: int = 8,
    progress: bool = True,
    hints: Path | None = None,
    skip_bad: bool = False,
) -> list[Path]:
    """IN file -> OUT file (or OUT/stem.png if OUT is a folder); IN folder -> OUT/stem.png each.
    `hints`: an RGBA hint image for a single input, or a folder of them matched by stem (inputs
    without one get no hints). `skip_bad`: warn about unreadable inputs (or, with `direction`,
    ones that are not A|B pairs) and go on; returns the files written."""
    if src.is_dir():
        files = list_images(src)
        if not files:
            raise UserError(f"no images in {src}")
        dst.mkdir(parents=True, exist_ok=True)
        targets = output_paths(files, dst)
    elif src.is_file():
        files = [src]
        targets = [dst / f"{src.stem}.png" if dst.is_dir() or not dst.suffix else dst]
        targets[0].parent.mkdir(parents=True, exist_ok=True)
    else:
        raise UserError(f"no such file or folder: {src}")
    if fit == "pad":
        batch_size = 1  # sizes differ from file to file
    find_hint = hint_finder(hints, src)
    bar = tqdm(total=len(files), unit="img", disable=not progress)
    written = []
    for chunk in _chunks(list(zip(files, targets)), batch_size):
        bar.update(len(chunk))
        inputs = []
        for path, target in chunk:
            try:
                inputs.append((read_input(path, direction, sketch, predictor.size), target, path))
            except ImageLoadError as err:
                if not skip_bad:
                    raise ImageLoadError(f"{err}; --skip-bad-images skips such files") from err
                warnings.warn(f"skipping {err}", stacklevel=2)
        if not inputs:
            continue
        images, chunk_targets, paths = zip(*inputs)
        outputs = predictor.translate_batch(list(images), fit, [find_hint(p) for p in paths])
        for target, out in zip(chunk_targets, outputs):
            out.save(target)
            written.append(target)
    bar.close()
    if not written:
        raise UserError(f"none of the inputs in {src} could be translated")
    return written


def _chunks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def output_paths(files: list[Path], dst: Path) -> list[Path]:
    """OUT/stem.png for each input; inputs sharing a stem (a.jpg, a.png) keep their extension
    in the name (a_jpg.png, a_png.png) so no output overwrites another."""
    stems = [f.stem for f in files]
    return [
        dst / (f"{f.stem}.png" if stems.count(f.stem) == 1 else f"{f.stem}_{f.suffix[1:]}.png") for f in files
    ]


def hint_finder(hints: Path | None, src: Path):
    """input path -> its RGBA hint image or None. A hint file serves a single input; a hint
    folder serves a folder of inputs by file stem."""
    if hints is None:
        return lambda path: None
    if hints.is_file():
        if src.is_dir():
            raise UserError(f"{hints} is one hint image; for the folder {src} give a folder of hints")
        image = load_image(hints, mode="RGBA")
        return lambda path: image
    if not hints.is_dir():
        raise UserError(f"no hint image or folder at {hints}")
    by_stem = {p.stem: p for p in list_images(hints)}
    return lambda path: load_image(by_stem[path.stem], mode="RGBA") if path.stem in by_stem else None
