"""Make an HED edge map look like something a person drew, and sample colour hints from a photo.

edges2shoes' inputs are clean one-pixel HED lines with every seam and lace. What people draw on
a canvas has thicker or thinner strokes, wobbles, gaps, often only the outline. A model trained
on HED alone answers such drawings with pale ghosts, so the pix2pix task can turn each training
input into a plausible drawing on the fly. Everything is drawn from a numpy Generator seeded per
sample, so an epoch is reproducible and a resumed run sees the same drawings.

Colour hints are sparse dabs of the target's own colours (often none), which teaches the
generator to follow hints where they exist and still work without any.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from scipy import ndimage
from skimage.feature import canny

from engine.data.images import box_around, uint8_to_unit
from engine.data.outlines import outline_drawing, shoe_mask
from engine.data.sketch import thin_lines
from engine.errors import UserError

HINT_CHANNELS = 4  # hint RGB in [-1, 1] where a hint is, 0 elsewhere; then the 0/1 mask


@dataclass(frozen=True)
class DrawingStyle:
    """How often each change happens (probabilities per training sample)."""

    photo_edges: float = 0.15  # XDoG or Canny of the photo instead of HED
    outline_only: float = 0.2  # only the silhouette's outline
    simple_outline: float = 0.0  # the silhouette in a few strokes, as people draw it (outlines.py)
    drop_fragments: float = 0.5  # drop a share of the short strokes and interior detail
    wobble: float = 0.4  # a smooth random displacement of the lines
    erase: float = 0.3  # erase random blocks of ink
    widths: tuple[int, ...] = (0, 1, 1, 3, 3, 5, 7)  # 0: thinned to one pixel; else max-filter size


def xdog_lines(photo: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sketch-like XDoG lines of the photo (the dark side of each edge)."""
    gray = photo.astype(np.float32).mean(axis=2) / 255.0
    sigma = rng.uniform(0.7, 1.5)
    dog = ndimage.gaussian_filter(gray, sigma) - ndimage.gaussian_filter(gray, 1.6 * sigma)
    return dog < rng.uniform(-0.03, -0.01)


def canny_lines(photo: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    gray = photo.astype(np.float32).mean(axis=2) / 255.0
    return canny(gray, sigma=rng.uniform(1.5, 3.0), low_threshold=0.05, high_threshold=0.15)


def filled_outline(lines: np.ndarray) -> np.ndarray:
    """The area a line drawing encloses (its lines closed by a small dilation), as a mask: what
    `ndimage.binary_fill_holes(ndimage.binary_dilation(lines, iterations=2))` gives, at a
    quarter of its time on 256 px edge maps (a chosen look and outline completion run it every
    stroke)."""
    return fill_enclosed(dilate_cross(lines, 2))


def dilate_cross(mask: np.ndarray, times: int) -> np.ndarray:
    """`ndimage.binary_dilation(mask, iterations=times)` (the 4-neighbour cross, repeated) as
    shifted ORs, several times faster on a 256 px mask."""
    grown = mask.astype(bool)
    for _ in range(times):
        step = grown.copy()
        step[1:] |= grown[:-1]
        step[:-1] |= grown[1:]
        step[:, 1:] |= grown[:, :-1]
        step[:, :-1] |= grown[:, 1:]
        grown = step
    return grown


def fill_enclosed(closed: np.ndarray) -> np.ndarray:
    """`ndimage.binary_fill_holes(closed)`: everything that the paper around the border does not
    reach, found by one 4-connected labelling instead of scipy's iterated hole filling, and only
    in the box around the lines (the paper outside it all reaches the border; on a live stroke's
    shoe the box is about half the image, and the labelling runs twice a stroke)."""
    closed = closed.astype(bool)
    filled = np.zeros_like(closed)
    if not closed.any():
        return filled
    box = box_around(closed)
    labels, _ = ndimage.label(np.pad(~closed[box], 1, constant_values=True))
    filled[box] = (labels != labels[0, 0])[1:-1, 1:-1]
    return filled


def outline(mask: np.ndarray) -> np.ndarray:
    return mask & ~ndimage.binary_erosion(mask)


def drop_fragments(lines: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Remove whole strokes (8-connected pieces), short ones more often than long ones."""
    labels, count = ndimage.label(lines, structure=np.ones((3, 3)))
    if count == 0:
        return lines
    sizes = ndimage.sum_labels(lines, labels, range(1, count + 1))
    share = rng.uniform(0.2, 0.7)
    drop_p = np.where(sizes < 40, share, share * 0.3)
    drop_p[int(np.argmax(sizes))] = 0.0  # the longest stroke (usually the outline) stays
    keep = np.concatenate([[False], rng.random(count) >= drop_p])
    return keep[labels]


def wobble(lines: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Shift lines by a smooth random field of a few pixels, like an unsteady hand."""
    h, w = lines.shape
    amplitude = rng.uniform(1.0, 3.0)
    coarse = rng.normal(0.0, amplitude, size=(2, 6, 6))
    field = np.stack([ndimage.zoom(c, (h / 6, w / 6), order=3)[:h, :w] for c in coarse])
    rows, cols = np.mgrid[0:h, 0:w].astype(np.float32)
    coords = np.stack([rows + field[0], cols + field[1]])
    return ndimage.map_coordinates(lines.astype(np.float32), coords, order=1, mode="constant") > 0.3


def erase_blocks(lines: np.ndarray, rng: np.random.Generator, block: int = 16) -> np.ndarray:
    h, w = lines.shape
    grid = rng.random(((h + block - 1) // block, (w + block - 1) // block)) < rng.uniform(0.05, 0.25)
    erased = np.kron(grid, np.ones((block, block), dtype=bool))[:h, :w]
    return lines & ~erased


def set_width(lines: np.ndarray, width: int) -> np.ndarray:
    if width == 0:
        return thin_lines(lines)
    if width == 1:
        return lines
    return ndimage.maximum_filter(lines, size=width)


def make_drawing(
    edges: np.ndarray, photo: np.ndarray, rng: np.random.Generator, style: DrawingStyle = DrawingStyle()
) -> np.ndarray:
    """edges: H x W bool (True = ink); photo: H x W x 3 uint8 -> H x W bool drawing."""
    lines = edges
    if rng.random() < style.photo_edges:
        lines = xdog_lines(photo, rng) if rng.random() < 0.5 else canny_lines(photo, rng)
    if style.simple_outline and rng.random() < style.simple_outline:
        lines = outline_drawing(photo, rng)
        return set_width(lines, int(rng.choice(style.widths)))
    if rng.random() < style.outline_only:
        mask = shoe_mask(photo)
        if mask.any():
            lines = outline(mask)
    elif rng.random() < style.drop_fragments:
        lines = drop_fragments(lines, rng)
    if rng.random() < style.wobble:
        lines = wobble(lines, rng)
    if rng.random() < style.erase:
        lines = erase_blocks(lines, rng)
    return set_width(lines, int(rng.choice(style.widths)))


def sample_hints(
    photo: np.ndarray,
    rng: np.random.Generator,
    count: int | None = None,
    max_count: int = 24,
    rate: float = 0.65,
) -> np.ndarray:
    """Colour dabs taken from the photo -> H x W x 4 float32 (hint RGB in [-1, 1], mask).

    count None: 1..max_count dabs for a share `rate` of the photos, none for the rest. Each dab is a disc of 2-5 px radius
    on the object, filled with the object's mean colour under it (a user paints flat colour)."""
    h, w, _ = photo.shape
    hints = np.zeros((h, w, HINT_CHANNELS), np.float32)
    if count is None:
        count = 0 if rng.random() < 1 - rate else int(rng.integers(1, max_count + 1))
    if count == 0:
        return hints
    mask = shoe_mask(photo)
    if not mask.any():
        mask = np.ones((h, w), bool)
    rows, cols = np.nonzero(mask)
    picks = rng.integers(0, len(rows), size=count)
    yy, xx = np.mgrid[0:h, 0:w]
    for r, c, radius in zip(rows[picks], cols[picks], rng.integers(2, 6, size=count)):
        disc = (yy - r) ** 2 + (xx - c) ** 2 <= radius**2
        colour = photo[disc & mask].mean(axis=0) / 127.5 - 1.0  # the object's colour, not the paper's
        hints[disc, :3] = colour
        hints[disc, 3] = 1.0
    return hints


def hints_from_rgba(rgba: np.ndarray) -> np.ndarray:
    """An RGBA hint image (alpha > 0 marks a hint, RGB its colour) -> H x W x 4 float32."""
    if rgba.ndim != 3 or rgba.shape[2] != 4:
        raise UserError("a hint image needs an alpha channel (RGBA): transparent = no hint")
    mask = rgba[..., 3] > 0
    hints = np.zeros(rgba.shape[:2] + (HINT_CHANNELS,), np.float32)
    hints[mask, :3] = rgba[mask, :3].astype(np.float32) / 127.5 - 1.0
    hints[mask, 3] = 1.0
    return hints


def hints_to_rgba(hints: np.ndarray) -> Image.Image:
    """H x W x 4 hints (as `sample_hints` makes) -> the RGBA image `translate --hints` reads."""
    rgba = np.zeros(hints.shape[:2] + (4,), np.uint8)
    mask = hints[..., 3] > 0
    rgba[mask, :3] = np.clip((hints[mask, :3] + 1.0) * 127.5 + 0.5, 0, 255).astype(np.uint8)
    rgba[mask, 3] = 255
    return Image.fromarray(rgba, mode="RGBA")


@dataclass(frozen=True)
class PairAugment:
    """Per-pair extras for edge -> photo training: A redrawn as a drawing, hints from B.

    Called with the uint8 CHW halves of a pair and the sample's Generator. `drawing`: "off",
    "replace" (A becomes a drawing: training) or "extra" (the drawing comes as "A_drawn" beside
    the clean A: held-out samples and evaluation). With `hints`, a float "hint" tensor
    (4 x H x W); `hint_count` fixes the number of dabs (evaluation), None draws the training mix,
    in which a share `hint_rate` of the pairs gets dabs."""

    drawing: str = "off"
    hints: bool = False
    hint_count: int | None = None
    hint_rate: float = 0.65
    style: DrawingStyle = DrawingStyle()

    def __call__(self, a: torch.Tensor, b: torch.Tensor, rng: np.random.Generator) -> dict:
        photo = b.permute(1, 2, 0).numpy()
        out = {"A": a}
        if self.drawing not in ("off", "replace", "extra"):
            raise ValueError(f"drawing must be off, replace or extra, got {self.drawing!r}")
        if self.drawing != "off":
            drawn = make_drawing(a.amin(0).numpy() < 128, photo, rng, self.style)
            ink = torch.from_numpy(np.where(drawn, 0, 255).astype(np.uint8)).expand(3, -1, -1)
            if self.drawing == "replace":
                out["A"] = ink
            else:
                out["A_drawn"] = uint8_to_unit(ink)
        if self.hints:
            out["hint"] = torch.from_numpy(
                sample_hints(photo, rng, self.hint_count, rate=self.hint_rate)
            ).permute(2, 0, 1)
        return out


def drawing_variants(pair: Image.Image, count: int = 8, seed: int = 0, size: int = 256) -> list[Image.Image]:
    """What the augmentation makes of one training input: `count` drawings of an A|B pair
    (edges left, photo right), or of a lone line drawing (its filled outline stands in for the
    photo). For the Learn page and the README; seeds 0.. as a training run would draw them."""
    from engine.data.datasets import split_aligned

    if pair.width >= 2 * pair.height:
        edges_img, photo_img = split_aligned(pair.convert("RGB"))
    else:
        edges_img = pair.convert("RGB")
        solid = filled_outline(np.asarray(edges_img.convert("L")) < 128)
        photo_img = Image.fromarray(np.where(solid[..., None], 120, 255).astype(np.uint8).repeat(3, axis=2))
    edges = np.asarray(edges_img.resize((size, size), Image.NEAREST).convert("L")) < 128
    photo = np.asarray(photo_img.resize((size, size), Image.BICUBIC).convert("RGB"))
    drawn = [make_drawing(edges, photo, np.random.default_rng([seed, i])) for i in range(count)]
    return [Image.fromarray(np.where(d, 0, 255).astype(np.uint8)).convert("RGB") for d in drawn]


def write_drawing_set(dataset, out: Path) -> int:
    """Save a held-out paired dataset (built with PairAugment("replace")) as A|B PNGs in the
    aligned layout, so the drawing-style val set can be looked at and used anywhere."""
    from engine.data.datasets import join_aligned
    from engine.data.images import tensor_to_image

    out.mkdir(parents=True, exist_ok=True)
    for i in range(len(dataset)):
        item = dataset[i]
        join_aligned(tensor_to_image(item["A"]), tensor_to_image(item["B"])).save(
            out / f"{dataset.name(i)}.png"
        )
    return len(dataset)
