"""Turn a drawing into the kind of edge map edges2shoes was made of.

edges2shoes' A side is binary: 1-pixel black lines on white, the shoe filling the frame. A
canvas drawing is anything else: transparent background, thick anti-aliased strokes, small in
a corner, any size. We flatten onto white, find the strokes, fit them into the square with a
margin (white padding, aspect kept) and thin them to 1-pixel lines. Colour hints painted over
the drawing move with its strokes: one `StrokeFrame` places both. `prepare_drawing` is the
whole preparation; `engine.pipelines.sketch` runs it before the model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps
from skimage.morphology import skeletonize

from engine.data.images import box_around, flatten_alpha
from engine.errors import UserError

# edges2shoes' shoes fill the width and stand on the bottom edge (over its train split the
# strokes' box spans columns 5-250 and ends at row 251 of 256, medians): a drawing is placed the
# same way. Centred in a square instead, a wide shoe left white rows under its sole that the
# model had never seen white, and it painted a dark smudge there.
EDGE_MARGIN = 0.02  # of the side, kept free left, right, below and (at least) above
COLOUR_SPREAD = 60  # a pixel whose channels differ by more than this is colour, not ink


class EmptySketchError(UserError):
    """Nothing drawn: the model would only invent a shoe from noise."""


@dataclass(frozen=True)
class StrokeFrame:
    """Where a drawing's strokes go: the box cut from the canvas, its scale, and where its
    top-left corner lands in the model's square."""

    box: tuple[int, int, int, int]
    scale: float
    offset: tuple[int, int]


@dataclass(frozen=True)
class PreparedDrawing:
    """What the model is shown: the edge map and the hint layer (RGBA, or None) at its size."""

    edges: Image.Image
    hints: Image.Image | None


def ink_of(paper: Image.Image) -> np.ndarray:
    """Grey levels of a flattened drawing with the strokes dark, whatever its polarity."""
    gray = np.asarray(paper.convert("L"), dtype=np.uint8)
    return 255 - gray if np.median(gray) < 128 else gray  # light strokes on dark: flip


def stroke_frame(ink: np.ndarray, size: int, crop_to_strokes: bool = True) -> StrokeFrame:
    """The strokes' bounding box (or the whole canvas), scaled to fit the model's square inside
    EDGE_MARGIN, centred left to right and standing on the bottom margin, as edges2shoes' shoes."""
    strokes = ink < 160
    if not strokes.any():
        raise EmptySketchError("the sketch is empty: draw some lines first")
    box = (0, 0, ink.shape[1], ink.shape[0])
    if crop_to_strokes:
        rows, cols = np.nonzero(strokes)
        box = (int(cols.min()), int(rows.min()), int(cols.max()) + 1, int(rows.max()) + 1)
    width, height = box[2] - box[0], box[3] - box[1]
    inner = size * (1 - 2 * EDGE_MARGIN)
    scale = min(inner / width, inner / height)
    left = round((size - width * scale) / 2)
    top = round(size * (1 - EDGE_MARGIN) - height * scale)
    return StrokeFrame(box, scale, (left, top))


def fit_to_frame(img: Image.Image, frame: StrokeFrame, size: int, fill, resample) -> Image.Image:
    """Crop `img` to the frame's box, scale it and place it on a `fill` square of size x size."""
    width, height = frame.box[2] - frame.box[0], frame.box[3] - frame.box[1]
    scaled = (max(1, round(width * frame.scale)), max(1, round(height * frame.scale)))
    square = Image.new(img.mode, (size, size), fill)
    square.paste(img.crop(frame.box).resize(scaled, resample), frame.offset)
    return square


def thin_lines(mask: np.ndarray) -> np.ndarray:
    """skimage's `skeletonize` of a bool mask, run on the box around its pixels only: the same
    pixels (thinning looks at 8-neighbours, and the box keeps a border of empty ones) in half
    the time or less on a drawing that fills the width of the frame but not its height."""
    thin = np.zeros(mask.shape, bool)
    if mask.any():
        box = box_around(mask, 1)
        thin[box] = skeletonize(mask[box])
    return thin


def edge_map(ink: np.ndarray, frame: StrokeFrame, size: int, thin: bool = True) -> Image.Image:
    """The ink fitted to the frame as black lines on white (1 px wide when `thin`), RGB."""
    fitted = np.asarray(fit_to_frame(Image.fromarray(ink), frame, size, 255, Image.LANCZOS)) < 200
    if thin:
        fitted = thin_lines(fitted)
    return Image.fromarray(np.where(fitted, 0, 255).astype(np.uint8)).convert("RGB")


def hint_layer(img: Image.Image, name: str = "the hint image") -> Image.Image:
    """An RGBA hint image (transparent = no hint, opaque = a colour dab), checked: an image
    without transparency would mark every pixel as a hint and wash the output out."""
    transparent = img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info
    rgba = img.convert("RGBA")
    if not transparent or np.asarray(rgba)[..., 3].min() == 255:
        raise UserError(
            f"{name} has no transparent pixels: hints need transparency (an RGBA PNG where only "
            "the colour dabs are opaque)"
        )
    return rgba


def split_colour_hints(paper: Image.Image) -> tuple[Image.Image, Image.Image | None]:
    """A flattened drawing with black lines and coloured strokes -> (the lines on white, an RGBA
    hint layer of the coloured strokes, or None without any). Grey and black ink is never a hint."""
    rgb = np.asarray(paper.convert("RGB")).astype(np.int16)
    red, green, blue = rgb[..., 0], rgb[..., 1], rgb[..., 2]  # numpy reduces a 3-wide axis slowly
    spread = np.maximum(np.maximum(red, green), blue) - np.minimum(np.minimum(red, green), blue)
    coloured = spread > COLOUR_SPREAD
    if not coloured.any():
        return paper.convert("RGB"), None
    lines = np.where(coloured[..., None], 255, rgb).astype(np.uint8)
    hints = np.zeros(rgb.shape[:2] + (4,), np.uint8)
    hints[coloured, :3] = rgb[coloured]
    hints[coloured, 3] = 255
    return Image.fromarray(lines), Image.fromarray(hints, mode="RGBA")


def prepare_drawing(
    drawing: Image.Image,
    hints: Image.Image | None = None,
    size: int = 256,
    thin: bool = True,
    crop_to_strokes: bool = True,
) -> PreparedDrawing:
    """Any drawing (RGBA canvas, photo of paper, white on black) and its optional RGBA hint
    layer (same canvas; scaled to it if its size differs) -> what the model is shown. Without
    a hint layer, coloured strokes in the drawing itself are the hints. The drawing is
    flattened once and its stroke frame found once; the hints move exactly as the strokes."""
    paper = flatten_alpha(drawing)
    if hints is None:
        paper, hints = split_colour_hints(paper)
    else:
        hints = hint_layer(hints)
    ink = ink_of(paper)
    frame = stroke_frame(ink, size, crop_to_strokes)
    if hints is not None:
        if hints.size != drawing.size:
            hints = hints.resize(drawing.size, Image.NEAREST)
        hints = fit_to_frame(hints, frame, size, (0, 0, 0, 0), Image.NEAREST)  # a dab keeps its colour
    return PreparedDrawing(edge_map(ink, frame, size, thin), hints)


def prepare_sketch(drawing: Image.Image, size: int = 256, thin: bool = True) -> Image.Image:
    """The edge map alone (pages that show the bundled example sketches)."""
    return prepare_drawing(drawing, None, size, thin).edges


def fit_hints_square(hints: Image.Image, size: int) -> Image.Image:
    """An RGBA hint layer fitted as `edges.fit_square` fits its photo (transparent padding)."""
    return ImageOps.pad(hints, (size, size), method=Image.NEAREST, color=(0, 0, 0, 0))


def paint_hints_over(edges: Image.Image, hints: Image.Image | None) -> Image.Image:
    """The edge map with the hint dabs on top: what the model is told, for people to see."""
    if hints is None:
        return edges
    return Image.alpha_composite(edges.convert("RGBA"), hints.convert("RGBA")).convert("RGB")


def stroke_width(img: Image.Image) -> float:
    """Mean width in pixels of the dark lines: dark area over skeleton length."""
    dark = np.asarray(img.convert("L")) < 128
    skeleton = thin_lines(dark).sum()
    return float(dark.sum() / skeleton) if skeleton else 0.0
