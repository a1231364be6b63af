"""Translate one image or a folder of images (the `translate` command) through the sketch
pipeline, so a drawing and its hint file are prepared exactly as the studio prepares them."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

from PIL import Image
from tqdm import tqdm

from engine.data.datasets import split_aligned
from engine.data.images import ImageLoadError, list_images, load_image, output_paths
from engine.data.sketch import EmptySketchError, hint_layer
from engine.errors import UserError
from engine.pipelines.sketch import Look, SketchPipeline


def read_input(path: Path, direction: str | None) -> Image.Image:
    """The model's input from a file: the input half of an A|B pair, or the image as is."""
    img = load_image(path)
    return split_aligned(img, direction, str(path))[0] if direction else img


def translate_paths(
    pipeline: SketchPipeline,
    src: Path,
    dst: Path,
    direction: str | None = None,
    source: str | None = None,
    fit: str = "resize",
    batch_size: int = 8,
    progress: bool = True,
    hints: Path | None = None,
    skip_bad: bool = False,
    looks: dict[str, Look] | None = None,
) -> list[Path]:
    """IN file -> OUT file (or OUT/stem.png if OUT is a folder); IN folder -> OUT/stem.png each.
    `source`: None takes inputs as the model's own input (an edge map, a photo for CycleGAN);
    "drawing" or "photo" prepares each as the sketch pipeline does (engine.pipelines.sketch).
    `hints`: an RGBA hint image for a single input, or a folder of them matched by stem (inputs
    without one get no hints). `skip_bad`: warn about unreadable inputs (or, with `direction`,
    ones that are not A|B pairs) and go on. `looks`: file-name suffix -> look, for a multimodal
    model (default: its typical look, no suffix). Returns the files written."""
    files, targets = input_and_output_paths(src, dst)
    looks = looks or {"": Look()}
    if hints is not None and not pipeline.takes_hints:
        name = Path(pipeline.predictor.source).name
        raise UserError(f"{name} was not trained with colour hints; drop --hints")
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
                inputs.append((read_input(path, direction), find_hint(path), target, path))
            except ImageLoadError as err:
                if not skip_bad:
                    raise ImageLoadError(f"{err}; --skip-bad-images skips such files") from err
                warnings.warn(f"skipping {err}", stacklevel=2)
        if not inputs:
            continue
        images, hint_images, chunk_targets, paths = (list(column) for column in zip(*inputs))
        if source is not None:
            prepared = [prepare_one(pipeline, *named, source) for named in zip(images, hint_images, paths)]
        for suffix, look in looks.items():
            if source is None:
                outputs = pipeline.translate_images(images, hint_images, fit, look)
            else:
                outputs = pipeline.translate(prepared, look)
            for target, out in zip(chunk_targets, outputs):
                target = target.with_name(f"{target.stem}{suffix}{target.suffix}")
                out.save(target)
                written.append(target)
    bar.close()
    if not written:
        raise UserError(f"none of the inputs in {src} could be translated")
    return written


def input_and_output_paths(src: Path, dst: Path) -> tuple[list[Path], list[Path]]:
    """The input files and where each one's output goes (the output folder is made)."""
    if src.is_dir():
        files = list_images(src)
        if not files:
            raise UserError(f"no images in {src}")
        dst.mkdir(parents=True, exist_ok=True)
        return files, output_paths(files, dst)
    if src.is_file():
        target = dst / f"{src.stem}.png" if dst.is_dir() or not dst.suffix else dst
        if Image.registered_extensions().get(target.suffix.lower()) not in Image.SAVE:
            raise UserError(
                f"{target}: {target.suffix} is not an image type that can be written; use .png or .jpg"
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        return [src], [target]
    raise UserError(f"no such file or folder: {src}")


def prepare_one(pipeline: SketchPipeline, image: Image.Image, hint, path: Path, source: str):
    """One input prepared as the studio prepares a drawing; an empty one is named."""
    try:
        return pipeline.prepare(image, hint, source)
    except EmptySketchError as err:
        raise EmptySketchError(f"{path} ({image.width}x{image.height}): {err}") from None


def _chunks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def read_hints(path: Path) -> Image.Image:
    """An RGBA hint file, refused in one line when it has no transparency."""
    return hint_layer(load_image(path, mode=None), str(path))


def hint_finder(hints: Path | None, src: Path):
    """input path -> its RGBA hint image or None. A hint file serves a single input; a hint
    folder serves a folder of inputs by file stem."""
    if hints is None:
        return lambda path: None
    if hints.is_file():
        if src.is_dir():
            raise UserError(f"{hints} is one hint image; for the folder {src} give a folder of hints")
        image = read_hints(hints)
        return lambda path: image
    if not hints.is_dir():
        raise UserError(f"no hint image or folder at {hints}")
    by_stem = {p.stem: p for p in list_images(hints)}
    return lambda path: read_hints(by_stem[path.stem]) if path.stem in by_stem else None
