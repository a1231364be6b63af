"""An index of training shoes by silhouette: what an outline leaves out, looked up by its shape.

A bare outline says where the shoe is, not where its laces, seams and sole run. The index keeps,
for each training shoe (and, at query time, its mirror image), its silhouette normalised to its
bounding box, the box's aspect, its edge map cropped to that box (1 bit per pixel), and the
colour dabs `photo_look` takes from its photo; `outline_completion` borrows the interior edges
of the shoes whose silhouettes match a drawn one best. Built from the train split only (`data
make-outline-index`), stored as safetensors: bits and bytes, no pictures of the val shoes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from safetensors.numpy import load_file, save_file

from engine.data.looks import photo_look
from engine.data.outlines import shoe_mask
from engine.errors import UserError

MASK_SIDE = 32  # the normalised silhouette: 1,024 bits, enough to tell a boot from a pump
EDGE_SIDE = 160  # the edge map of the box: 3.2 kB a shoe, about 1.5x up to the drawn box
MIN_MASK = 64  # px of shoe on a 256 px photo, as photo_look asks
ASPECT_WEIGHT = 0.5  # score = IoU - weight * |log(aspect ratio)|: a boot is no sandal


@dataclass(frozen=True)
class ShoeBox:
    """A silhouette's bounding box (top, left, height, width) in pixels."""

    top: int
    left: int
    height: int
    width: int

    @classmethod
    def of(cls, mask: np.ndarray) -> ShoeBox:
        rows, cols = np.nonzero(mask.any(1))[0], np.nonzero(mask.any(0))[0]
        return cls(int(rows[0]), int(cols[0]), int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1))

    @property
    def aspect(self) -> float:
        return self.height / self.width

    def crop(self, image: np.ndarray) -> np.ndarray:
        return image[self.top : self.top + self.height, self.left : self.left + self.width]


def resize_bits(
    bits: np.ndarray, shape: tuple[int, int], resample: int = Image.NEAREST, cover: int = 128
) -> np.ndarray:
    """A bool image at `shape` (rows, cols): NEAREST to grow 1 px lines, BOX to shrink a
    silhouette (or lines, with a low `cover`: a pixel a quarter covered stays ink, so thin lines
    stay whole), BILINEAR to grow a silhouette smoothly."""
    image = Image.fromarray(bits.astype(np.uint8) * 255)
    return np.asarray(image.resize(shape[::-1], resample)) >= cover


def normalised_silhouette(mask: np.ndarray) -> tuple[np.ndarray, float]:
    """(MASK_SIDE x MASK_SIDE bool, aspect) of a silhouette, whatever its size and place."""
    box = ShoeBox.of(mask)
    return resize_bits(box.crop(mask), (MASK_SIDE, MASK_SIDE), Image.BOX), box.aspect


def index_entry(edges: np.ndarray, photo: np.ndarray, rng: np.random.Generator) -> dict | None:
    """One training pair (edge map H x W bool ink, photo H x W x 3 uint8) -> its row of the
    index, or None when the photo shows no shoe on white."""
    mask = shoe_mask(photo)
    if mask.sum() < MIN_MASK:
        return None
    dabs = photo_look(photo, rng)
    if dabs is None:
        return None
    silhouette, aspect = normalised_silhouette(mask)  # as a drawn outline is looked up
    box = ShoeBox.of(mask)
    return {
        "masks": silhouette,
        "aspects": np.float32(aspect),
        "edges": np.packbits(resize_bits(box.crop(edges), (EDGE_SIDE, EDGE_SIDE), Image.BOX, 64)),
        "dabs": dabs,
    }


def write_outline_index(pairs, out: Path, seed: int = 0) -> int:
    """(edge map, photo) pairs -> a safetensors index; returns the number of shoes kept.
    Seeded (the dabs' places) and in the pairs' order: the same file every time."""
    rng = np.random.default_rng(seed)
    rows = [row for edges, photo in pairs if (row := index_entry(edges, photo, rng)) is not None]
    if not rows:
        raise UserError("none of the photos shows an object on a white background")
    out.parent.mkdir(parents=True, exist_ok=True)
    tensors = {name: np.stack([row[name] for row in rows]) for name in rows[0]}
    tensors["masks"] = np.packbits(tensors["masks"].reshape(len(rows), -1), axis=1)
    # one metadata key: safetensors writes several in hash order, and the file would vary
    save_file(tensors, str(out), metadata={"outline_index": f"seed {seed}"})
    return len(rows)


def unpack_square(row: np.ndarray) -> np.ndarray:
    """A packed row of a square bit image (np.packbits pads it to whole bytes) -> side x side bool."""
    side = int(round((len(row) * 8) ** 0.5))
    return np.unpackbits(row)[: side * side].reshape(side, side).astype(bool)


@dataclass(frozen=True)
class OutlineIndex:
    """The index in memory, mirrors included: entry i < n is shoe i, entry n + i its mirror."""

    masks: np.ndarray  # 2n x MASK_SIDE² / 8 uint8, packed: IoU by popcount (10x a BLAS product here)
    areas: np.ndarray  # 2n int: each mask's count of ones
    aspects: np.ndarray  # 2n float32
    edges: np.ndarray  # n x EDGE_SIDE² / 8 uint8, packed
    dabs: np.ndarray  # 2n x DABS x 5 uint8 (u, v, RGB), mirrored u for the mirrors

    def __len__(self) -> int:
        return len(self.aspects)

    @classmethod
    def from_tensors(cls, tensors: dict[str, np.ndarray]) -> OutlineIndex:
        count = len(tensors["aspects"])
        masks = np.stack([unpack_square(row) for row in tensors["masks"]])
        mirrored_dabs = tensors["dabs"].copy()
        mirrored_dabs[:, :, 0] = 255 - mirrored_dabs[:, :, 0]
        both = np.packbits(np.concatenate([masks, masks[:, :, ::-1]]).reshape(2 * count, -1), axis=1)
        return cls(
            both,
            np.bitwise_count(both).sum(1, dtype=np.int64),
            np.concatenate([tensors["aspects"]] * 2).astype(np.float32),
            tensors["edges"],
            np.concatenate([tensors["dabs"], mirrored_dabs]),
        )

    def edge_map(self, entry: int) -> np.ndarray:
        """EDGE_SIDE x EDGE_SIDE bool: the entry's edges over its box (mirrored for a mirror)."""
        count = len(self.edges)
        bits = unpack_square(self.edges[entry % count])
        return bits[:, ::-1] if entry >= count else bits

    def silhouette(self, entry: int) -> np.ndarray:
        """MASK_SIDE x MASK_SIDE bool: the entry's normalised silhouette."""
        return unpack_square(self.masks[entry])

    def nearest(self, silhouette: np.ndarray, aspect: float, count: int = 1) -> np.ndarray:
        """The `count` best entries for a normalised silhouette: IoU less the aspect penalty."""
        query = np.packbits(silhouette.reshape(-1))
        inter = np.bitwise_count(self.masks & query).sum(1, dtype=np.int64)
        union = self.areas + int(silhouette.sum()) - inter
        score = inter / np.maximum(union, 1) - ASPECT_WEIGHT * np.abs(np.log(self.aspects / aspect))
        best = np.argpartition(-score, min(count, len(score) - 1))[:count]
        return best[np.argsort(-score[best], kind="stable")]


def read_outline_index(path: Path) -> OutlineIndex:
    """The index written by `write_outline_index`; one line for a damaged or foreign file."""
    try:
        return OutlineIndex.from_tensors(load_file(str(path)))
    except OSError:
        raise
    except Exception as err:  # safetensors' own errors, or a file without the index's tensors
        raise UserError(f"{path} is not an outline index: {err}") from err
