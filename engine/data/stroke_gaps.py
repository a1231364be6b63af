"""Closing the gaps a quick hand leaves in an outline.

People draw a shoe's outline in one or two fast strokes, and the ends often stop a few pixels
short of where the stroke began or of the sole line they meant to meet. Such an outline encloses
nothing, so everything that reads the drawing's area (outline completion, painting a look, the
colour pull) took it for an open scribble. Here each end of a stroke (an end of the ink's
skeleton) is joined by a straight line to the nearest ink within reach that is not the same
stroke's own nearby ink: the other end of the contour, or the line it stopped short of.
"""

from __future__ import annotations

from collections import deque

import numpy as np
from PIL import Image, ImageDraw

from engine.data.sketch import thin_lines

REACH = 20  # px at 256 (8% of the canvas): a gap a hand leaves, after the drawing is scaled to the frame
OWN_STROKE = 3  # ink nearer than REACH * this along the stroke itself is the stroke, not a gap
MAX_ENDS = 16  # an open outline has 2-4 ends (and thinning spurs); an edge map has 20 to hundreds


def stroke_ends(skeleton: np.ndarray) -> np.ndarray:
    """K x 2 (row, col): skeleton pixels with exactly one 8-neighbour."""
    height, width = skeleton.shape
    padded = np.pad(skeleton, 1).astype(np.uint8)
    around = sum(padded[dr : dr + height, dc : dc + width] for dr in range(3) for dc in range(3))
    return np.argwhere(skeleton & (around == 2))


class Strokes:
    """A skeleton's pixels as a set of flat indices into a padded copy, to walk along its strokes
    pixel by pixel: set lookups of Python ints, where reading numpy pixels one at a time cost
    about 0.8 ms per end searched (a few ends per stroke on the live canvas)."""

    def __init__(self, skeleton: np.ndarray) -> None:
        self.skeleton = skeleton
        self.side = skeleton.shape[1] + 2
        self.pixels = set(np.flatnonzero(np.pad(skeleton, 1)).tolist())
        side = self.side
        self.around = (-side - 1, -side, -side + 1, -1, 1, side - 1, side, side + 1)

    def along(self, start: tuple[int, int], steps: int) -> np.ndarray:
        """K x 2 (row, col): the pixels within `steps` 8-connected steps of `start`."""
        first = (start[0] + 1) * self.side + start[1] + 1
        taken = {first: 0}  # pixel -> steps from start, breadth first
        queue = deque([first])
        while queue:
            pixel = queue.popleft()
            if taken[pixel] == steps:
                continue
            for step in self.around:
                near = pixel + step
                if near in self.pixels and near not in taken:
                    taken[near] = taken[pixel] + 1
                    queue.append(near)
        flat = np.fromiter(taken, np.int64, len(taken))
        return np.stack([flat // self.side - 1, flat % self.side - 1], 1)

    def gap_across(self, end: tuple[int, int], reach: int) -> tuple[int, int] | None:
        """The nearest skeleton pixel within `reach` of `end` that its own stroke does not
        reach in OWN_STROKE * reach steps, or None."""
        top, left = max(0, end[0] - reach), max(0, end[1] - reach)
        window = self.skeleton[top : end[0] + reach + 1, left : end[1] + reach + 1].copy()
        own = self.along(end, OWN_STROKE * reach) - (top, left)
        own = own[(own >= 0).all(1) & (own < window.shape).all(1)]
        window[own[:, 0], own[:, 1]] = False
        rows, cols = np.nonzero(window)
        if len(rows) == 0:
            return None
        distance = np.hypot(rows + top - end[0], cols + left - end[1])
        nearest = int(np.argmin(distance))
        return (int(rows[nearest] + top), int(cols[nearest] + left)) if distance[nearest] <= reach else None


def close_gaps(ink: np.ndarray, reach: int = REACH, thin: bool = False) -> np.ndarray | None:
    """`ink` (H x W bool) with every stroke end joined to the ink across its gap (lines as wide
    as the drawing's strokes), or None when no end has a gap within `reach` px, or the drawing
    has more than MAX_ENDS ends (an edge map's hundreds would each be searched). `thin`: the ink
    is already one pixel wide (a prepared drawing), its own skeleton."""
    skeleton = ink if thin else thin_lines(ink)
    ends = stroke_ends(skeleton)
    if len(ends) > MAX_ENDS:
        return None
    bridges, strokes = [], Strokes(skeleton)
    for end in map(tuple, ends):
        target = strokes.gap_across(end, reach)
        if target is not None:
            bridges.append((end, target))
    if not bridges:
        return None
    width = max(1, round(ink.sum() / max(1, skeleton.sum())))
    canvas = Image.fromarray(ink.astype(np.uint8) * 255)
    pen = ImageDraw.Draw(canvas)
    for (r0, c0), (r1, c1) in bridges:
        pen.line([(c0, r0), (c1, r1)], fill=255, width=width)
    return np.asarray(canvas) > 0
