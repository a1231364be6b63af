"""Tiny data and settings: pix2pix pairs drawn on the fly, a network small enough to train in
seconds on 32 x 32 images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

TINY_PIX2PIX = {"ngf": 8, "ndf": 8, "n_layers": 2, "load_size": 36, "crop_size": 32}
TINY_FLAGS = ["--ngf", "8", "--ndf", "8", "--n-layers", "2", "--load-size", "36", "--crop-size", "32"]


def shape_pair(i: int, size: int) -> tuple[Image.Image, Image.Image]:
    """A: black outline of a shape on white; B: the same shape filled with a colour."""
    rng = np.random.default_rng(i)
    a = Image.new("RGB", (size, size), "white")
    b = Image.new("RGB", (size, size), (235, 235, 235))
    x0, y0 = rng.integers(2, size // 3, 2)
    x1, y1 = rng.integers(size // 2, size - 2, 2)
    colour = tuple(int(c) for c in rng.integers(30, 220, 3))
    ImageDraw.Draw(a).ellipse((x0, y0, x1, y1), outline="black", width=1)
    ImageDraw.Draw(b).ellipse((x0, y0, x1, y1), fill=colour)
    return a, b


def write_aligned(folder: Path, count: int, size: int, start: int = 0) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(start, start + count):
        a, b = shape_pair(i, size)
        ab = Image.new("RGB", (2 * size, size))
        ab.paste(a, (0, 0))
        ab.paste(b, (size, 0))
        paths.append(folder / f"{i}_AB.png")
        ab.save(paths[-1])
    return paths


def write_shapes_dataset(root: Path) -> Path:
    """root/train (8 pairs) and root/val (3 pairs) of 32x32 halves, pix2pix layout."""
    write_aligned(root / "train", 8, 32)
    write_aligned(root / "val", 3, 32, start=100)
    return root


TINY_CYCLEGAN = {
    "ngf": 8, "ndf": 8, "n_blocks": 2, "n_layers": 2, "load_size": 36, "crop_size": 32, "pool_size": 4,
}  # fmt: skip


def write_unaligned_dataset(root: Path, count: int = 6, size: int = 32) -> Path:
    """The official unaligned layout: outlines in trainA/testA, filled shapes in trainB/testB."""
    for split, start, n in (("train", 0, count), ("test", 100, 3)):
        for domain in ("A", "B"):
            (root / f"{split}{domain}").mkdir(parents=True, exist_ok=True)
        for i in range(start, start + n):
            a, b = shape_pair(i, size)
            a.save(root / f"{split}A" / f"{i}.png")
            b.save(root / f"{split}B" / f"{i + 50}.png")  # no shared names: nothing pairs them
    return root


TINY_LABELS = {
    "ngf": 4, "ndf": 8, "n_layers": 2, "load_size": 68, "crop_size": 64, "lambda_vgg": 0.0,
}  # fmt: skip
# each class's flat colour in the photos (the tiny scenes' "texture"), facades palette order
SCENE_COLOURS = [(90, 90, 90), (200, 170, 140), (40, 60, 90), (120, 60, 30)]


def scene(i: int, size: int) -> tuple[np.ndarray, Image.Image]:
    """A label map of rectangles (classes 0-3 on class 1, like windows on a facade) and its photo."""
    rng = np.random.default_rng(i)
    labels = np.ones((size, size), np.uint8)
    labels[: size // 6] = 0  # sky
    for _ in range(4):
        y, x = rng.integers(size // 6, size - 12, 2)
        labels[y : y + 10, x : x + 8] = rng.integers(2, 4)
    photo = np.asarray(SCENE_COLOURS, np.uint8)[labels]
    return labels, Image.fromarray(photo)


def write_label_dataset(root: Path, layout: str = "aligned", size: int = 64, count: int = 6) -> Path:
    """'aligned': pix2pix facades style, photo | colour map (facades colours, saved as JPEG so
    the colours blur as the real ones do); 'folders': train|val/labels/*.png index PNGs with a
    palette + train|val/images/*.jpg and root/classes.txt."""
    from engine.data.label_maps import FACADES

    for split, start, n in (("train", 0, count), ("val", 100, 2)):
        for i in range(start, start + n):
            labels, photo = scene(i, size)
            if layout == "aligned":
                (root / split).mkdir(parents=True, exist_ok=True)
                pair = Image.new("RGB", (2 * size, size))
                pair.paste(photo, (0, 0))
                pair.paste(FACADES.render(labels), (size, 0))
                pair.save(root / split / f"{i}.jpg", quality=90)
            else:
                for sub in ("labels", "images"):
                    (root / split / sub).mkdir(parents=True, exist_ok=True)
                indexed = Image.fromarray(labels, "P")
                indexed.putpalette([v for c in ((0, 0, 0), (255, 0, 0), (0, 255, 0), (0, 0, 255)) for v in c])
                indexed.save(root / split / "labels" / f"{i}.png")
                photo.save(root / split / "images" / f"{i}.jpg", quality=90)
    if layout == "folders":
        (root / "classes.txt").write_text("sky\nwall\nwindow\ndoor\n")
    return root
