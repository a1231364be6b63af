"""The held-out outline set: each pair's photo outlined as a person would draw it on a canvas.

Edge maps, even redrawn (the drawing-style set), still carry the seams and laces HED found; a
new user draws a bare silhouette somewhere on the canvas. `data make-drawings --style outline`
writes this set and `eval --outlines` scores it on the fly: pair i's drawing comes from a
Generator seeded by (seed, i), so both see the same drawings, every time.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image
from torch.utils.data import Dataset

from engine.data.datasets import join_aligned
from engine.data.images import image_to_tensor, tensor_to_image
from engine.data.outlines import MIN_OBJECT, outline_canvas, shoe_mask

OUTLINE_SEED = 0  # the set's seed unless one is asked for: make-drawings and eval agree on it


class OutlinePairs(Dataset):
    """A paired split's outline set. The canvas is a square of the photo's side (256 px for
    edges2shoes, as the live canvas). Items are {"A": the canvas after `prepare` (the sketch
    pipeline's preparation, so the model sees what the studio would show it), "B": the photo}.
    `open_ends`: the same outlines with their contours left open by a few pixels (OPEN_GAP), as
    quick strokes on the live canvas often are.
    Photos without an object on white have no outline and are left out, here and when written."""

    def __init__(
        self,
        pairs: Dataset,
        prepare: Callable[[Image.Image], Image.Image] | None = None,
        seed: int = OUTLINE_SEED,
        open_ends: bool = False,
    ) -> None:
        self.pairs, self.prepare, self.seed, self.open_ends = pairs, prepare, seed, open_ends
        self.indices = [i for i in range(len(pairs)) if shoe_mask(self._photo(i)).sum() >= MIN_OBJECT]

    def left_open(self) -> OutlinePairs:
        """The same outlines with their contours left open (the photos' masks are not found again)."""
        twin = copy.copy(self)
        twin.open_ends = True
        return twin

    def _photo(self, index: int) -> np.ndarray:
        return np.asarray(tensor_to_image(self.pairs[index]["B"]))

    def __len__(self) -> int:
        return len(self.indices)

    def drawn(self, i: int) -> tuple[Image.Image, Image.Image]:
        """(the outline canvas, the photo) of the i-th pair kept."""
        index = self.indices[i]
        photo = self._photo(index)
        rng = np.random.default_rng([self.seed, index])
        canvas = outline_canvas(photo, rng, canvas=photo.shape[1], open_ends=self.open_ends)
        return canvas, Image.fromarray(photo)

    def __getitem__(self, i: int) -> dict:
        canvas, photo = self.drawn(i)
        shown = (self.prepare(canvas) if self.prepare else canvas).convert("RGB")
        return {"A": image_to_tensor(shown), "B": image_to_tensor(photo), "index": self.indices[i]}


def write_outline_set(
    pairs: Dataset, out: Path, seed: int = OUTLINE_SEED, open_ends: bool = False
) -> tuple[int, int]:
    """Save a split's outline set as A|B PNGs (canvas | photo) under the pairs' names, in the
    aligned layout; returns (written, left out for want of an object to outline)."""
    outlines = OutlinePairs(pairs, seed=seed, open_ends=open_ends)
    out.mkdir(parents=True, exist_ok=True)
    for i, index in enumerate(outlines.indices):
        join_aligned(*outlines.drawn(i)).save(out / f"{pairs.name(index)}.png")
    return len(outlines), len(pairs) - len(outlines)
