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
from engine.errors import UserError


class EmptySketchError(UserError):
    """Nothing drawn: the model would only invent a shoe from noise."""


def _ink(img: Image.Image) -> np.ndarray:
    """Grey levels with the strokes dark, whatever the drawing's polarity."""
    gray = np.asarray(flatten_alpha(img).convert("L"), dtype=np.uint8)
    return 255 - gray if np.median(gray) < 128 else gray  # light strokes on dark: flip


def stroke_frame(img: Image.Image, margin: float = 0.06, crop_to_strokes: bool = True) -> tuple:
    """(box, side): the strokes' bounding box and the square side that holds it with a margin."""
    strokes = _ink(img) < 160
    if not strokes.any():
        raise EmptySketchError("the sketch is empty: draw some lines first")
    box = (0, 0, img.width, img.height)
    if crop_to_strokes:
        rows, cols = np.nonzero(strokes)
        box = (int(cols.min()), int(rows.min()), int(cols.max()) + 1, int(rows.max()) + 1)
    side = int(max(box[2] - box[0], box[3] - box[1]) * (1 + 2 * margin)) + 1
    return box, side


def fit_to_frame(img: Image.Image, frame: tuple, size: int, fill, resample) -> Image.Image:
    """Crop `img` to the frame's box and centre it on a `fill` square, scaled to size x size."""
    (left, top, right, bottom), side = frame
    square = Image.new(img.mode, (side, side), fill)
    square.paste(
        img.crop((left, top, right, bottom)), ((side - right + left) // 2, (side - bottom + top) // 2)
    )
    return square.resize((size, size), resample)


def prepare_sketch(
    img: Image.Image, size: int = 256, margin: float = 0.06, crop_to_strokes: bool = True, thin: bool = True
) -> Image.Image:
    """Any drawing (RGBA canvas, photo of paper, white on black) -> RGB edge map size x size."""
    frame = stroke_frame(img, margin, crop_to_strokes)
    gray = Image.fromarray(_ink(img))
    lines = np.asarray(fit_to_frame(gray, frame, size, 255, Image.LANCZOS)) < 200
    if thin:
        lines = skeletonize(lines)
    out = np.where(lines, 0, 255).astype(np.uint8)
    return ImageOps.grayscale(Image.fromarray(out)).convert("RGB")


def prepare_hints(
    hints: Image.Image,
    drawing: Image.Image,
    size: int = 256,
    margin: float = 0.06,
    crop_to_strokes: bool = True,
) -> Image.Image:
    """An RGBA hint layer drawn over `drawing` -> RGBA size x size, moved and scaled exactly as
    `prepare_sketch` moves the drawing's strokes (nearest neighbours: a dab keeps its colour)."""
    if hints.size != drawing.size:
        hints = hints.resize(drawing.size, Image.NEAREST)
    frame = stroke_frame(drawing, margin, crop_to_strokes)
    return fit_to_frame(hints.convert("RGBA"), frame, size, (0, 0, 0, 0), Image.NEAREST)


def fit_hints_square(hints: Image.Image, size: int) -> Image.Image:
    """An RGBA hint image fitted as `edges.fit_square` fits its photo (transparent padding)."""
    return ImageOps.pad(hints.convert("RGBA"), (size, size), method=Image.NEAREST, color=(0, 0, 0, 0))


def split_colour_hints(img: Image.Image, spread: int = 60) -> tuple[Image.Image, Image.Image | None]:
    """One drawing with black lines and coloured strokes -> (the lines on white, an RGBA hint
    layer of the coloured strokes, or None without any). A pixel is a hint when its channels
    differ by more than `spread` (grey and black ink never do)."""
    rgb = np.asarray(flatten_alpha(img).convert("RGB")).astype(np.int16)
    coloured = (rgb.max(axis=2) - rgb.min(axis=2)) > spread
    if not coloured.any():
        return Image.fromarray(rgb.astype(np.uint8)), None
    lines = np.where(coloured[..., None], 255, rgb).astype(np.uint8)
    hints = np.zeros(rgb.shape[:2] + (4,), np.uint8)
    hints[coloured, :3] = rgb[coloured]
    hints[coloured, 3] = 255
    return Image.fromarray(lines), Image.fromarray(hints, mode="RGBA")


def paint_hints_over(edges: Image.Image, hints: Image.Image | None) -> Image.Image:
    """The edge map with the hint dabs on top: what the model is told, for people to see."""
    if hints is None:
        return edges
    return Image.alpha_composite(edges.convert("RGBA"), hints.convert("RGBA")).convert("RGB")


def stroke_width(img: Image.Image) -> float:
    """Mean width in pixels of the dark lines: dark area over skeleton length."""
    dark = np.asarray(img.convert("L")) < 128
    skeleton = skeletonize(dark).sum()
    return float(dark.sum() / skeleton) if skeleton else 0.0
