"""Paired image datasets in the standard pix2pix layouts, decoded once into a uint8 cache.

Aligned: DIR/{train,val,test}/*.jpg with A|B side by side. Paired folders: DIR/A and DIR/B
(or photos/sketches, as CUFS) with matching file names. Preprocessing follows the paper:
resize to `load_size`, random `crop_size` crop and horizontal flip when training; a plain
resize to `crop_size` otherwise. Randomness comes from a per-sample seed the sampler hands
over, so a resumed run sees exactly the batches an uninterrupted one would. An optional
`augment` (see `engine.data.drawing.PairAugment`) redraws A or adds hint channels per sample from
a Generator seeded the same way (held-out items: seeded by their index, so every eval is equal).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from engine.data.images import (
    ImageLoadError,
    list_images,
    load_image,
    to_uint8_tensor,
    uint8_to_unit,
    warn_shared_stems,
)
from engine.errors import UserError

PAIR_FOLDER_NAMES = (("A", "B"), ("photos", "sketches"))
CACHE_LIMIT_BYTES = 3 * 2**30
MIN_HALF_SIDE = 32  # px; an A|B pair whose halves are smaller holds nothing to learn from
SPLITS = ("train", "val", "test")


class PairedImages(Dataset):
    """(A, B) pairs from a list of loaders; items are (index, aug_seed) -> dict of tensors."""

    def __init__(
        self,
        items: list,
        load_size: int,
        crop_size: int,
        train: bool,
        skip_bad: bool = False,
        cache: bool | None = None,
        augment: Callable[[torch.Tensor, torch.Tensor, np.random.Generator], dict] | None = None,
    ) -> None:
        if crop_size > load_size:
            raise UserError(f"crop_size {crop_size} is larger than load_size {load_size}")
        self.items, self.train = items, train
        self.size = load_size if train else crop_size
        self.crop_size = crop_size
        self.augment = augment
        if cache is None:
            cache = len(items) * 2 * 3 * self.size**2 <= CACHE_LIMIT_BYTES
        self.cache: list[tuple[torch.Tensor, torch.Tensor]] | None = None
        if cache:
            self.cache, kept = [], []
            for item in items:
                try:
                    self.cache.append(self._decode(item))
                    kept.append(item)
                except ImageLoadError as err:
                    if not skip_bad:
                        raise ImageLoadError(f"{err}; --skip-bad-images skips such files") from err
                    warnings.warn(f"skipping unreadable image: {err}", stacklevel=2)
            self.items = kept
        if not self.items:
            raise UserError("the dataset holds no readable image pairs")

    def _decode(self, item) -> tuple[torch.Tensor, torch.Tensor]:
        a, b = self.read_pair(item)
        size = (self.size, self.size)
        return (
            to_uint8_tensor(a.resize(size, Image.BICUBIC)),
            to_uint8_tensor(b.resize(size, Image.BICUBIC)),
        )

    def read_pair(self, item) -> tuple[Image.Image, Image.Image]:
        raise NotImplementedError

    def name(self, index: int) -> str:
        raise NotImplementedError

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, key: int | tuple[int, int]) -> dict:
        index, seed = key if isinstance(key, tuple) else (key, None)
        a, b = self.cache[index] if self.cache is not None else self._decode(self.items[index])
        if self.train and seed is not None:
            a, b = random_crop_flip(a, b, self.crop_size, torch.Generator().manual_seed(seed))
        extras = {}
        if self.augment is not None:
            rng = np.random.default_rng([index if seed is None else seed, 0 if seed is None else 1])
            extras = self.augment(a, b, rng)
            a = extras.pop("A", a)
        return {"A": uint8_to_unit(a), "B": uint8_to_unit(b), "index": index, **extras}


def random_crop_flip(a: torch.Tensor, b: torch.Tensor, size: int, gen: torch.Generator):
    """The same random crop and flip for both images of a pair."""
    h, w = a.shape[-2:]
    top = int(torch.randint(0, h - size + 1, (1,), generator=gen))
    left = int(torch.randint(0, w - size + 1, (1,), generator=gen))
    flip = bool(torch.rand((), generator=gen) < 0.5)
    a, b = (t[:, top : top + size, left : left + size] for t in (a, b))
    return (a.flip(-1), b.flip(-1)) if flip else (a, b)


class AlignedDataset(PairedImages):
    """A|B side by side in one file; `direction` BtoA swaps the halves."""

    def __init__(self, folder: str | Path, direction: str = "AtoB", **kw) -> None:
        if direction not in ("AtoB", "BtoA"):
            raise UserError(f"direction must be AtoB or BtoA, got {direction!r}")
        self.direction = direction
        files = list_images(folder)
        warn_shared_stems(files)
        if not files:
            raise UserError(
                f"no images in {folder}: a paired dataset is DIR/train/*.jpg with A|B side by side, "
                "or DIR/A/ and DIR/B/ with matching file names"
            )
        super().__init__(files, **kw)

    def read_pair(self, path: Path) -> tuple[Image.Image, Image.Image]:
        return split_aligned(load_image(path), self.direction, str(path))

    def name(self, index: int) -> str:
        return self.items[index].stem


def split_aligned(
    img: Image.Image, direction: str = "AtoB", name: str = "the image"
) -> tuple[Image.Image, Image.Image]:
    """Cut an A|B image into (input, target) for the given direction; an image that is not a
    side-by-side pair (width about twice the height) or is too small is an `ImageLoadError`."""
    check_aligned(img.size, name)
    half = img.width // 2
    left, right = img.crop((0, 0, half, img.height)), img.crop((half, 0, 2 * half, img.height))
    return (left, right) if direction == "AtoB" else (right, left)


def check_aligned(size: tuple[int, int], name: str) -> None:
    width, height = size
    if min(width // 2, height) < MIN_HALF_SIDE:
        raise ImageLoadError(
            f"{name}: {width}x{height} px is too small for an A|B pair (each half at least "
            f"{MIN_HALF_SIDE}x{MIN_HALF_SIDE} px)"
        )
    if not 1.5 <= width / height <= 2.5:
        raise ImageLoadError(
            f"{name}: {width}x{height} px is not an A|B pair side by side (its width should be "
            "twice its height)"
        )


def join_aligned(a: Image.Image, b: Image.Image) -> Image.Image:
    """(A, B) -> one A|B image, the inverse of `split_aligned`."""
    pair = Image.new("RGB", (a.width + b.width, max(a.height, b.height)), (255, 255, 255))
    pair.paste(a, (0, 0))
    pair.paste(b, (a.width, 0))
    return pair


class PairedFolderDataset(PairedImages):
    """A/ and B/ folders whose files share a stem (extensions may differ)."""

    def __init__(self, a_dir: str | Path, b_dir: str | Path, direction: str = "AtoB", **kw) -> None:
        a_files, b_files = list_images(a_dir), list_images(b_dir)
        warn_shared_stems(a_files + b_files)  # only one of each name can be paired
        b_by_stem = {p.stem: p for p in b_files}
        pairs = [(p, b_by_stem[p.stem]) for p in a_files if p.stem in b_by_stem]
        if not pairs:
            raise UserError(f"no file names shared by {a_dir} and {b_dir}")
        if direction == "BtoA":
            pairs = [(b, a) for a, b in pairs]
        super().__init__(pairs, **kw)

    def read_pair(self, item: tuple[Path, Path]) -> tuple[Image.Image, Image.Image]:
        return load_image(item[0]), load_image(item[1])

    def name(self, index: int) -> str:
        return self.items[index][0].stem


def find_split(root: str | Path, phase: str) -> Path:
    """DIR/phase when it exists (val falls back to test and back), else the one DIR/*_phase
    (CUFS names its splits CUHK_student_train and CUHK_student_test), else DIR itself."""
    root = Path(root)
    if not root.is_dir():
        raise UserError(f"dataset folder not found: {root}")
    fallbacks = {"val": ("val", "test"), "test": ("test", "val")}.get(phase, (phase,))
    for name in fallbacks:
        if (root / name).is_dir():
            return root / name
    for name in fallbacks:  # CUFS-style: CUHK_student_train/ and CUHK_student_test/
        suffixed = sorted(p for p in root.glob(f"*_{name}") if p.is_dir())
        if len(suffixed) == 1:
            return suffixed[0]
    others = [name for name in SPLITS if (root / name).is_dir()]
    if others:
        raise UserError(f"{root} has no {phase}/ folder (it has {', '.join(o + '/' for o in others)})")
    return root


def open_paired_dataset(
    root: str | Path,
    phase: str = "train",
    direction: str = "AtoB",
    load_size: int = 286,
    crop_size: int = 256,
    train: bool | None = None,
    skip_bad: bool = False,
    augment: Callable | None = None,
) -> PairedImages:
    """Open a paired dataset in either standard layout, detected from its folders."""
    folder = find_split(root, phase)
    kw = dict(
        load_size=load_size,
        crop_size=crop_size,
        train=(phase == "train") if train is None else train,
        skip_bad=skip_bad,
        augment=augment,
    )
    for a_name, b_name in PAIR_FOLDER_NAMES:
        if (folder / a_name).is_dir() and (folder / b_name).is_dir():
            return PairedFolderDataset(folder / a_name, folder / b_name, direction, **kw)
    return AlignedDataset(folder, direction, **kw)
