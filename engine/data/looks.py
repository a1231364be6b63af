"""Looks retrieved from training shoes: where each of a photo's colours sits on the shoe.

A look is what an outline leaves open: colour and where it goes (a white sole under a red
upper). For a model that takes colour hints, a look can be handed over as hints: a table keeps,
for each training shoe, a dozen colour dabs at positions relative to the shoe's bounding box;
applying a look paints those dabs at the same relative places inside a drawing's outline. The
table holds colours and positions only, no pictures (`data make-looks` writes it).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from safetensors.numpy import load_file, save_file

from engine.data.drawing import filled_outline
from engine.data.outlines import shoe_mask
from engine.errors import UserError

DABS = 12  # per look, as the held-out hint evaluation paints
REFERENCE_DABS = 24  # a reference photo is there in full: more of its colours carry over (README)
RADIUS = 3  # px at 256


def photo_look(photo: np.ndarray, rng: np.random.Generator, dabs: int = DABS) -> np.ndarray | None:
    """dabs x 5 uint8 (u, v relative to the shoe's box, then RGB): colours under small discs
    at random places on the shoe; None when the photo shows no object on white."""
    mask = shoe_mask(photo)
    if mask.sum() < 64:
        return None
    rows, cols = np.nonzero(mask)
    top, left, height, width = rows.min(), cols.min(), np.ptp(rows) + 1, np.ptp(cols) + 1
    picks = rng.integers(0, len(rows), size=dabs)
    look = np.zeros((dabs, 5), np.uint8)
    for i, (r, c) in enumerate(zip(rows[picks], cols[picks])):
        disc = mask[max(0, r - RADIUS) : r + RADIUS + 1, max(0, c - RADIUS) : c + RADIUS + 1]
        patch = photo[max(0, r - RADIUS) : r + RADIUS + 1, max(0, c - RADIUS) : c + RADIUS + 1]
        look[i, :2] = (round(255 * (c - left) / width), round(255 * (r - top) / height))
        look[i, 2:] = patch[disc].mean(axis=0).round()
    return look


def paint_look(look: np.ndarray, edges: Image.Image) -> Image.Image:
    """An RGBA hint layer for `edges` (the model's input): the look's dabs placed inside the
    drawing's outline at their relative places (those that fall outside a closed outline stay
    off)."""
    ink = np.asarray(edges.convert("L")) < 128
    rows, cols = np.nonzero(ink)
    if len(rows) == 0:
        return Image.new("RGBA", edges.size, (0, 0, 0, 0))
    inside = filled_outline(ink)
    if inside.sum() < 2 * ink.sum():  # an open drawing encloses nothing: its box will do
        inside = np.zeros_like(ink)
        inside[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1] = True
    top, left, height, width = rows.min(), cols.min(), np.ptp(rows) + 1, np.ptp(cols) + 1
    layer = np.zeros((*ink.shape, 4), np.uint8)
    offsets = np.arange(-RADIUS, RADIUS + 1)
    disc = offsets[:, None] ** 2 + offsets[None, :] ** 2 <= RADIUS**2
    for u, v, *rgb in look.astype(int):
        x, y = left + u * width // 255, top + v * height // 255
        if not inside[min(y, ink.shape[0] - 1), min(x, ink.shape[1] - 1)]:
            continue
        y0, x0 = max(0, y - RADIUS), max(0, x - RADIUS)
        window = (slice(y0, y + RADIUS + 1), slice(x0, x + RADIUS + 1))
        cut = disc[y0 - (y - RADIUS) :, x0 - (x - RADIUS) :][
            : layer[window].shape[0], : layer[window].shape[1]
        ]
        layer[window][cut & inside[window]] = (*rgb, 255)
    return Image.fromarray(layer, mode="RGBA")


def write_look_table(photos: list[np.ndarray], out: Path, seed: int = 0) -> int:
    """One look per photo that shows a shoe -> a safetensors table; returns the number kept."""
    rng = np.random.default_rng(seed)
    looks = [look for photo in photos if (look := photo_look(photo, rng)) is not None]
    if not looks:
        raise UserError("none of the photos shows an object on a white background")
    out.parent.mkdir(parents=True, exist_ok=True)
    save_file({"looks": np.stack(looks)}, str(out))
    return len(looks)


def read_look_table(path: Path) -> np.ndarray:
    """N x DABS x 5 uint8 looks."""
    try:
        return load_file(str(path))["looks"]
    except OSError:
        raise
    except Exception as err:  # safetensors' own errors for a damaged or foreign file
        raise UserError(f"{path} is not a look table: {err}") from err
