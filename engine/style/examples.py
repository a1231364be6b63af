"""Built-in example pictures for style transfer: scikit-image's sample photos as content; as
styles, three small public-domain paintings shipped in assets/styles (Van Gogh, Turner, Munch)
and patterns drawn procedurally. The Gradio demo and the Streamlit lab offer the same ones."""

from __future__ import annotations

import functools
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from engine.data.images import load_image
from engine.pretrained import MissingWeightsError, package_file
from engine.store.models import assets_models_dir

PHOTOS = {
    "astronaut": "astronaut.png",
    "chelsea": "chelsea.png",
    "coffee": "coffee.png",
    "rocket": "rocket.jpg",
}
STYLE_SIDE = 256
PAINTINGS = {  # assets/styles: see its README for where they come from
    "starry_night": "starry_night.jpg",
    "shipwreck": "shipwreck.jpg",
    "the_scream": "the_scream.jpg",
}


def paintings_dir() -> Path:
    """assets/styles beside the bundled models (a checkout, or an install's share folder)."""
    return assets_models_dir().parent / "styles"


@functools.cache
def example_painting(name: str) -> Image.Image:
    """A shipped public-domain painting by name."""
    return load_image(paintings_dir() / PAINTINGS[name])


@functools.cache
def example_photo(name: str) -> Image.Image:
    """A scikit-image sample photo by name (read from the installed package, no download)."""
    path = package_file("skimage", f"data/{PHOTOS[name]}", "install it with `pip install scikit-image`")
    return load_image(path)


def swirls(rng: np.random.Generator, side: int) -> Image.Image:
    """Short blue and yellow strokes circling a few vortices, in the manner of a starry night."""
    img = Image.new("RGB", (side, side), (22, 38, 92))
    palette = [(34, 64, 150), (64, 112, 196), (122, 170, 222), (236, 198, 62), (250, 232, 128), (16, 26, 64)]
    centres = rng.uniform(0, side, (4, 2))
    spin = rng.choice([-1.0, 1.0], 4)
    pos = rng.uniform(0, side, (side * 14, 2))
    paths = [pos.copy()]
    for _ in range(5):  # walk every stroke along the tangent of its nearest vortex
        offset = pos[:, None, :] - centres[None]
        nearest = np.argmin((offset**2).sum(-1), axis=1)
        d = offset[np.arange(len(pos)), nearest]
        tangent = np.stack([-d[:, 1], d[:, 0]], axis=1) * spin[nearest, None]
        pos = pos + 3.0 * tangent / (np.linalg.norm(tangent, axis=1, keepdims=True) + 1e-6)
        paths.append(pos.copy())
    draw = ImageDraw.Draw(img)
    colours = rng.integers(0, len(palette), len(pos))
    widths = rng.integers(2, 5, len(pos))
    for i in range(len(pos)):
        draw.line([tuple(p[i]) for p in paths], fill=palette[colours[i]], width=int(widths[i]))
    return img


def mosaic(rng: np.random.Generator, side: int) -> Image.Image:
    """Warm Voronoi tiles with dark grout, like a Byzantine mosaic."""
    seeds = rng.uniform(0, side, (110, 2)).astype(np.float32)
    yy, xx = np.mgrid[0:side, 0:side].astype(np.float32)
    label = np.argmin((xx[..., None] - seeds[:, 0]) ** 2 + (yy[..., None] - seeds[:, 1]) ** 2, axis=-1)
    palette = np.array([[196, 92, 40], [226, 170, 60], [140, 40, 36], [40, 96, 120], [232, 214, 170]])
    colours = palette[rng.integers(0, len(palette), len(seeds))] + rng.integers(-25, 25, (len(seeds), 3))
    rgb = colours[label]
    edge = np.zeros_like(label, dtype=bool)
    edge[:, 1:] |= label[:, 1:] != label[:, :-1]
    edge[1:, :] |= label[1:, :] != label[:-1, :]
    rgb[edge] = (38, 30, 26)
    return Image.fromarray(rgb.clip(0, 255).astype(np.uint8))


def waves(rng: np.random.Generator, side: int) -> Image.Image:
    """Banded sea waves in blues and foam white, a woodblock-print palette."""
    yy, xx = np.mgrid[0:side, 0:side] / side
    phase = rng.uniform(0, 2 * math.pi, 2)
    field = np.sin(30 * yy + 3 * np.sin(9 * xx + phase[0]) + 1.5 * np.sin(17 * xx * yy + phase[1]))
    levels = np.floor((field + 1) * 2.5).clip(0, 4).astype(int)  # five flat bands
    palette = np.array([[12, 34, 82], [30, 76, 140], [70, 128, 180], [172, 204, 222], [244, 240, 226]])
    return Image.fromarray(palette[levels].astype(np.uint8))


def dots(rng: np.random.Generator, side: int) -> Image.Image:
    """Pointillist dabs of pure colour on a pale ground, after Seurat."""
    img = Image.new("RGB", (side, side), (236, 228, 204))
    palette = [(214, 64, 52), (244, 176, 48), (72, 140, 74), (46, 94, 170), (150, 72, 150), (250, 226, 120)]
    draw = ImageDraw.Draw(img)
    for x, y, r, c in zip(*rng.uniform(0, side, (2, side * 10)), rng.uniform(1.5, 4, side * 10),
                          rng.integers(0, len(palette), side * 10)):  # fmt: skip
        draw.ellipse((x - r, y - r, x + r, y + r), fill=palette[c])
    return img


PAINTERS: dict[str, Callable[[np.random.Generator, int], Image.Image]] = {
    "swirls": swirls,
    "mosaic": mosaic,
    "waves": waves,
    "dots": dots,
}


@functools.cache
def example_style(name: str) -> Image.Image:
    """A procedural painting by name; the same picture every time (seeded)."""
    return PAINTERS[name](np.random.default_rng(sorted(PAINTERS).index(name)), STYLE_SIDE)


def example_photos() -> dict[str, Image.Image]:
    """The sample photos that are installed (none, rather than an error, without scikit-image)."""
    try:
        return {name: example_photo(name) for name in PHOTOS}
    except (MissingWeightsError, OSError, ValueError):
        return {}


def example_styles() -> dict[str, Image.Image]:
    """The paintings that are installed, then the procedural patterns."""
    shipped = {
        name: example_painting(name) for name, file in PAINTINGS.items() if (paintings_dir() / file).is_file()
    }
    return {**shipped, **{name: example_style(name) for name in PAINTERS}}


def examples_dir() -> Path:
    return Path(tempfile.gettempdir()) / "image-studio-style-examples"


def write_examples(folder: str | Path | None = None) -> tuple[list[Path], list[Path]]:
    """(photo files, style files) as PNGs in `folder` (default: examples_dir()), written once;
    for UIs that take example files rather than pictures."""
    folder = Path(folder or examples_dir())
    folder.mkdir(parents=True, exist_ok=True)

    def saved(kind: str, pictures: dict[str, Image.Image]) -> list[Path]:
        paths = [folder / f"{kind}_{name}.png" for name in pictures]
        for path, picture in zip(paths, pictures.values()):
            if not path.is_file():  # write aside, then rename: another process may read it
                aside = path.with_name(f"{path.stem}.{os.getpid()}.png")
                picture.save(aside)
                aside.replace(path)
        return paths

    return saved("photo", example_photos()), saved("style", example_styles())
