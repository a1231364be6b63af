"""Translate one image or a folder of images with a predictor (the `translate` command)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from PIL import Image
from tqdm import tqdm

from engine.data.datasets import split_aligned
from engine.data.images import list_images, load_image
from engine.data.sketch import prepare_sketch
from engine.infer import Predictor


def read_input(path: Path, direction: str | None, sketch: bool, size: int) -> Image.Image:
    """The model's input from a file: the input half of an A|B pair, a sketch, or as is."""
    img = load_image(path)
    if direction:
        img = split_aligned(img, direction)[0]
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
) -> list[Path]:
    """IN file -> OUT file (or OUT/stem.png if OUT is a folder); IN folder -> OUT/stem.png each."""
    if src.is_dir():
        files = list_images(src)
        if not files:
            raise ValueError(f"no images in {src}")
        dst.mkdir(parents=True, exist_ok=True)
        targets = [dst / f"{f.stem}.png" for f in files]
    elif src.is_file():
        files = [src]
        targets = [dst / f"{src.stem}.png" if dst.is_dir() or not dst.suffix else dst]
        targets[0].parent.mkdir(parents=True, exist_ok=True)
    else:
        raise FileNotFoundError(f"no such file or folder: {src}")
    if fit == "pad":
        batch_size = 1  # sizes differ from file to file
    bar = tqdm(total=len(files), unit="img", disable=not progress)
    for chunk in _chunks(list(zip(files, targets)), batch_size):
        inputs = [read_input(f, direction, sketch, predictor.size) for f, _ in chunk]
        for (_, target), out in zip(chunk, predictor.translate_batch(inputs, fit)):
            out.save(target)
        bar.update(len(chunk))
    bar.close()
    return targets


def _chunks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
