"""Outline drawings as people draw them: a shoe's silhouette traced in a few straight strokes,
perhaps a sole line, with a sketchpad's pen, anywhere and at any size on a canvas.

HED edge maps carry every seam and lace; what a new user draws on the live canvas is a plain
outline. Both the held-out "outline" set (`data make-drawings --style outline`, `eval
--outlines`) and the training augmentation draw them from the target photo's silhouette, from a
numpy Generator seeded per sample: the same set every time, the same drawing on resume.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage
from skimage.measure import find_contours

CANVAS = 256  # the live canvas's drawing size in pixels
PEN_WIDTHS = (1, 2, 2, 2, 3, 4)  # px on that canvas: its size slider's common settings
MIN_OBJECT = 16  # px: a photo with less object on its white background has nothing to outline
OPEN_GAP = (4.0, 12.0)  # px on the canvas: how far a quick contour's end stops from its start


def shoe_mask(photo: np.ndarray) -> np.ndarray:
    """The object on its white product-photo background, holes filled (H x W bool)."""
    dark = photo.min(axis=2) < 235
    dark = ndimage.binary_closing(dark, iterations=2)
    filled = ndimage.binary_fill_holes(dark)
    labels, count = ndimage.label(filled)
    if count <= 1:
        return filled
    sizes = ndimage.sum_labels(filled, labels, range(1, count + 1))
    return labels == (int(np.argmax(sizes)) + 1)


@dataclass(frozen=True)
class Placement:
    """Where the photo's frame lands on the canvas: scale, then offset (canvas px)."""

    scale: float = 1.0
    offset: tuple[float, float] = (0.0, 0.0)


def silhouette(mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The mask's outer contour simplified to a few straight strokes, as (x, y) points."""
    from skimage.measure import approximate_polygon  # imports scipy.signal (0.5 s): only here

    contours = find_contours(np.pad(mask, 1).astype(np.float32), 0.5)
    longest = max(contours, key=len)[:, ::-1] - 1  # (row, col) -> (x, y), padding undone
    tolerance = rng.uniform(2.0, 6.0) * mask.shape[0] / 256
    points = approximate_polygon(longest, tolerance)
    return points + rng.normal(0.0, 0.6, points.shape)  # an unsteady hand


def sole_line(mask: np.ndarray, rng: np.random.Generator) -> np.ndarray | None:
    """A line following the bottom of the shoe a little above it, or None for a thin mask."""
    cols = np.nonzero(mask.any(0))[0]
    if len(cols) < 8:
        return None
    bottoms = np.array([np.nonzero(mask[:, c])[0].max() for c in cols])
    tops = np.array([np.nonzero(mask[:, c])[0].min() for c in cols])
    height = bottoms.max() - tops.min()
    lift = rng.uniform(0.05, 0.14) * height
    keep = (bottoms - lift) > tops + 2  # only where the shoe is thicker than the sole
    start, stop = int(0.03 * len(cols)), int(0.97 * len(cols))
    chosen = np.nonzero(keep[start:stop])[0] + start
    if len(chosen) < 4:
        return None
    picks = chosen[np.linspace(0, len(chosen) - 1, int(rng.integers(3, 7))).round().astype(int)]
    return np.stack([cols[picks], bottoms[picks] - lift], axis=1).astype(np.float64)


def outline_strokes(photo: np.ndarray, rng: np.random.Generator, sole: float = 0.6) -> list[np.ndarray]:
    """Polylines (x, y in photo pixels) of a person's outline of the shoe in `photo`; [] when
    the photo has no object on its white background."""
    mask = shoe_mask(photo)
    if mask.sum() < MIN_OBJECT:
        return []
    strokes = [silhouette(mask, rng)]
    if rng.random() < sole:
        line = sole_line(mask, rng)
        if line is not None:
            strokes.append(line)
    return strokes


def draw_strokes(
    strokes: list[np.ndarray], size: int, width: int, placement: Placement = Placement()
) -> Image.Image:
    """Black polylines on a white size x size canvas (L), placed and scaled."""
    canvas = Image.new("L", (size, size), 255)
    pen = ImageDraw.Draw(canvas)
    for points in strokes:
        placed = points * placement.scale + np.asarray(placement.offset)
        pen.line([tuple(p) for p in placed], fill=0, width=width, joint="curve")
    return canvas


def outline_drawing(photo: np.ndarray, rng: np.random.Generator, width: int = 1) -> np.ndarray:
    """Training: an outline in the photo's own frame (aligned with it), H x W bool ink."""
    strokes = outline_strokes(photo, rng)
    if not strokes:
        return np.zeros(photo.shape[:2], bool)
    return np.asarray(draw_strokes(strokes, photo.shape[0], width)) < 128


def leave_open(points: np.ndarray, gap: float) -> np.ndarray:
    """A closed polyline with `gap` of its length taken off its end: the contour's last stroke
    stops short of where it began, as a quick hand's does."""
    points = points.copy()
    while len(points) > 2:
        last = np.linalg.norm(points[-1] - points[-2])
        if last > gap:
            points[-1] = points[-1] + (points[-2] - points[-1]) * gap / last
            return points
        gap -= last
        points = points[:-1]
    return points


def outline_canvas(
    photo: np.ndarray, rng: np.random.Generator, canvas: int = CANVAS, open_ends: bool = False
) -> Image.Image:
    """Held-out: an outline drawn with a sketchpad pen at a random place and size on a white
    canvas, as a person would hand it to the studio (RGB). `open_ends`: the contour stops
    OPEN_GAP px short of its start (drawn after the closed outline's numbers: the same drawings
    otherwise)."""
    strokes = outline_strokes(photo, rng)
    scale = rng.uniform(0.35, 0.95) * canvas / photo.shape[1]
    room = canvas - np.asarray(photo.shape[1::-1]) * scale
    offset = tuple(rng.uniform(0, max(1.0, r)) for r in room)
    width = int(rng.choice(PEN_WIDTHS))
    if open_ends and strokes:
        strokes[0] = leave_open(strokes[0], rng.uniform(*OPEN_GAP) / scale)
    return draw_strokes(strokes, canvas, width, Placement(scale, offset)).convert("RGB")
