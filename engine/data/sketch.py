"""Turn a drawing into the kind of edge map edges2shoes was made of.

edges2shoes' A side is binary: 1-pixel black lines on white, the shoe filling the frame. A
canvas drawing is anything else: transparent background, thick anti-aliased strokes, small in
a corner, any size. We flatten onto white, find the strokes, fit them into the square with a
margin (white padding, aspect kept) and thin them to 1-pixel lines.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageOps
from skimage.morphology import skeletonize

from engine.data.images import flatten_alpha


class EmptySketchError(ValueError):
    """Nothing drawn: the model would only invent a shoe from noise."""


def prepare_sketch(
    img: Image.Image, size: int = 256, margin: float = 0.06, crop_to_strokes: bool = True, thin: bool = True
) -> Image.Image:
    """Any drawing (RGBA canvas, photo of paper, white on black) -> RGB edge map size x size."""
    gray = np.asarray(flatten_alpha(img).convert("L"), dtype=np.uint8)
    if np.median(gray) < 128:  # light strokes on a dark ground: make it dark on light
        gray = 255 - gray
    strokes = gray < 160
    if not strokes.any():
        raise EmptySketchError("the sketch is empty: draw some lines first")
    if crop_to_strokes:
        rows, cols = np.nonzero(strokes)
        top, bottom, left, right = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
        gray = gray[top:bottom, left:right]
    h, w = gray.shape
    side = int(max(h, w) * (1 + 2 * margin)) + 1
    square = Image.new("L", (side, side), 255)
    square.paste(Image.fromarray(gray), ((side - w) // 2, (side - h) // 2))
    fitted = np.asarray(square.resize((size, size), Image.LANCZOS))
    lines = fitted < 200
    if thin:
        lines = skeletonize(lines)
    out = np.where(lines, 0, 255).astype(np.uint8)
    return ImageOps.grayscale(Image.fromarray(out)).convert("RGB")


def stroke_width(img: Image.Image) -> float:
    """Mean width in pixels of the dark lines: dark area over skeleton length."""
    dark = np.asarray(img.convert("L")) < 128
    skeleton = skeletonize(dark).sum()
    return float(dark.sum() / skeleton) if skeleton else 0.0
