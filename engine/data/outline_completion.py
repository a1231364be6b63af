"""Completing a bare outline with a training shoe's interior edges, found by its silhouette.

`default` answers a plain outline with a flat dark silhouette: nothing inside tells it where
laces, seams or a sole go. When a prepared drawing is an outline (it closes, and little ink lies
well inside it), the drawn silhouette is looked up in the outline index (`outline_index.py`),
and the chosen neighbour's edges, scaled to the drawing's box and kept well inside both
silhouettes (the user's contour stays the outline), are added to the drawing. The k-th
neighbour gives the k-th look: several plausible shoes for one outline.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from scipy import ndimage

from engine.data.drawing import filled_outline
from engine.data.outline_index import OutlineIndex, ShoeBox, normalised_silhouette, resize_bits
from engine.data.stroke_gaps import REACH, close_gaps

MIN_FILL = 0.3  # filled silhouette / its box: less and the drawing does not close
MARGIN = 3  # px at 256 (scaled with the drawing): ink this far inside the silhouette is interior
MAX_INTERIOR = 1.7  # interior ink, in widths of the drawing: a sole line or two, not detail
MAX_PIECES = 4  # connected pieces of interior ink an outline may have (a sole line, a heel)
KEEP_INSIDE = 5  # px at 256: borrowed edges stay this far inside the drawn and the neighbour's contour
NEIGHBOURS = 8  # look seeds cycle through this many neighbours


@dataclass(frozen=True)
class Completion:
    """A drawing after completion: its ink, and the index entry borrowed from (None: unchanged)."""

    ink: np.ndarray
    entry: int | None = None


@dataclass(frozen=True)
class Completed:
    """An edge map image after completion, and the entry borrowed from (None: unchanged)."""

    edges: Image.Image
    entry: int | None = None


def shrink(mask: np.ndarray, px: int) -> np.ndarray:
    """`mask` eroded by a (2 px + 1) square, as two 1-D minimum filters (a tenth of the time of
    scipy's iterated erosion); outside the array counts as empty."""
    rows = ndimage.minimum_filter1d(mask, 2 * px + 1, axis=0, mode="constant", cval=0)
    return ndimage.minimum_filter1d(rows, 2 * px + 1, axis=1, mode="constant", cval=0)


def at_scale(px: int, image: np.ndarray) -> int:
    """A distance tuned on 256 px drawings, for a drawing of this size (1 px at least)."""
    return max(1, round(px * max(image.shape) / 256))


def outline_silhouette(ink: np.ndarray) -> np.ndarray | None:
    """The filled silhouette of a drawing (H x W bool ink) that is a bare outline: it closes,
    and the ink well inside it is short and in few pieces. None for any other drawing."""
    if ink.sum() < 16:
        return None
    box, margin = ShoeBox.of(ink), at_scale(MARGIN, ink)
    pad = margin + 3
    top, left = max(0, box.top - pad), max(0, box.left - pad)
    crop = ink[top : box.top + box.height + pad, left : box.left + box.width + pad]
    filled = filled_outline(crop)
    if filled.sum() < MIN_FILL * box.height * box.width:
        return None
    inner = shrink(filled, margin)
    inside = crop & inner
    if inside.sum() > MAX_INTERIOR * box.width:
        return None
    if inside.any() and ndimage.label(inside, structure=np.ones((3, 3)))[1] > MAX_PIECES:
        return None
    silhouette = np.zeros_like(ink)
    silhouette[top : top + filled.shape[0], left : left + filled.shape[1]] = filled
    return silhouette


def borrowed_edges(index: OutlineIndex, entry: int, silhouette: np.ndarray) -> np.ndarray:
    """The entry's edges scaled to the silhouette's box, kept only well inside both the drawn
    silhouette and the entry's own (its contour would double the user's)."""
    box = ShoeBox.of(silhouette)
    shape = (box.height, box.width)
    edges = resize_bits(index.edge_map(entry), shape)
    theirs = resize_bits(index.silhouette(entry), shape, Image.BILINEAR)
    keep = at_scale(KEEP_INSIDE, silhouette)
    inside = shrink(box.crop(silhouette), keep) & shrink(theirs, keep)
    added = np.zeros_like(silhouette)
    box.crop(added)[...] = edges & inside
    return added


def complete_outline(
    ink: np.ndarray, index: OutlineIndex | None, rank: int = 0, thin: bool = False
) -> Completion:
    """A bare outline (H x W bool ink) with the interior edges of its `rank`-th nearest index
    shoe (modulo NEIGHBOURS) added, and the gaps its strokes' ends left closed; any other
    drawing, or no index, as it is. `thin`: the ink is one pixel wide (a prepared drawing)."""
    if index is None or len(index) == 0:
        return Completion(ink)
    silhouette = outline_silhouette(ink)
    if silhouette is None:  # perhaps an outline whose ends stop short: its gaps closed
        closed = close_gaps(ink, at_scale(REACH, ink), thin) if ink.sum() >= 16 else None
        silhouette = outline_silhouette(closed) if closed is not None else None
        if silhouette is None:
            return Completion(ink)
        ink = closed
    normalised, aspect = normalised_silhouette(silhouette)
    rank %= min(NEIGHBOURS, len(index))
    entry = int(index.nearest(normalised, aspect, rank + 1)[rank])
    return Completion(ink | borrowed_edges(index, entry, silhouette), entry)


def complete_image(
    edges: Image.Image, index: OutlineIndex | None, rank: int = 0, thin: bool = False
) -> Completed:
    """An edge map (dark lines on white) completed if it is a bare outline; the borrowed lines
    drawn black on a copy, the input itself returned untouched when nothing is borrowed.
    `thin`: its lines are one pixel wide (a prepared drawing)."""
    ink = np.asarray(edges.convert("L")) < 128
    done = complete_outline(ink, index, rank, thin)
    if done.entry is None:
        return Completed(edges, None)
    pixels = np.array(edges.convert("RGB"))
    pixels[done.ink & ~ink] = 0
    return Completed(Image.fromarray(pixels), done.entry)


def complete_tensor(
    x: torch.Tensor, index: OutlineIndex | None, ranks: list[int]
) -> tuple[torch.Tensor, list[int | None]]:
    """A batch of edge maps (N x C x H x W in [-1, 1], lines dark) with each bare outline
    completed by its rank's neighbour; the batch itself when no item is an outline."""
    if index is None:
        return x, [None] * len(x)
    entries, out = [], x
    for i, rank in enumerate(ranks):
        ink = (x[i, :3].mean(0) < 0).cpu().numpy()
        done = complete_outline(ink, index, rank)
        entries.append(done.entry)
        if done.entry is not None:
            out = out.clone() if out is x else out
            out[i, :3, torch.from_numpy(done.ink & ~ink).to(x.device)] = -1.0
    return out, entries
