"""Two image domains without pairs, for CycleGAN, decoded once into a uint8 cache.

Where the domains come from:
- the official unaligned layout: DIR/trainA, DIR/trainB (and testA/testB, valA/valB);
- two arbitrary folders (`data_b`), or the same half of two aligned A|B datasets (`half_a`,
  `half_b`: shoes from edges2shoes against handbags from edges2handbags);
- one aligned A|B dataset taken apart (`unpaired`): while training, domain A is the input half
  of the even-numbered pairs and domain B the target half of the odd-numbered ones, so no pair
  is ever seen together and edges -> shoes is learned truly without pairs; held out, the pairs
  stay whole so outputs can be scored against their true targets.

Training items take A in order and B at random (seeded per sample, as the official dataset with
shuffled B, and exactly repeatable on resume); held-out items keep A and B of the same index.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image
from torch.utils.data import Dataset

from engine.data.datasets import find_split, random_crop_flip, split_aligned
from engine.data.images import ImageLoadError, list_images, load_image, to_uint8_tensor, uint8_to_unit
from engine.errors import UserError

HALVES = ("whole", "A", "B")
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Domain:
    """Where one domain's images are: a folder, and for aligned A|B files, which half."""

    folder: Path
    half: str = "whole"


def read_domain_image(path: Path, half: str = "whole") -> Image.Image:
    """One picture of a domain: the whole file, or the named half of an A|B file."""
    img = load_image(path)
    if half == "whole":
        return img
    return split_aligned(img, "AtoB" if half == "A" else "BtoA", str(path))[0]


def is_unaligned(data: str | Path) -> bool:
    """The official unaligned layout: DIR/trainA and DIR/trainB (or test/val ones), no pairs."""
    root = Path(data)
    return any((root / f"{name}A").is_dir() and (root / f"{name}B").is_dir() for name in SPLITS)


def domain_folders(
    data: str,
    phase: str,
    data_b: str = "",
    half_a: str = "whole",
    half_b: str = "whole",
    unpaired: bool = False,
) -> tuple[Domain, Domain]:
    """The two domains' folders for a split, from whichever layout `data` is in."""
    for half in (half_a, half_b):
        if half not in HALVES:
            raise UserError(f"a domain's half must be one of {HALVES}, got {half!r}")
    root = Path(data)
    if not root.is_dir():
        raise UserError(f"dataset folder not found: {root}")
    if unpaired:
        folder = find_split(root, phase)
        return Domain(folder, "A"), Domain(folder, "B")
    if data_b:
        if not Path(data_b).is_dir():
            raise UserError(f"dataset folder not found: {data_b}")
        return Domain(find_split(root, phase), half_a), Domain(find_split(data_b, phase), half_b)
    names = {"train": ("train",), "val": ("val", "test"), "test": ("test", "val")}.get(phase, (phase,))
    for name in names:
        if (root / f"{name}A").is_dir() and (root / f"{name}B").is_dir():
            return Domain(root / f"{name}A", half_a), Domain(root / f"{name}B", half_b)
    raise UserError(
        f"{root} has no {names[0]}A/ and {names[0]}B/ folders (the unaligned layout); for two folders "
        "give --data-b, for one aligned A|B dataset --unpaired"
    )


class UnpairedImages(Dataset):
    """Items (index, seed) -> {"A", "B", "index"}: A in order, B random while training."""

    def __init__(
        self,
        domain_a: Domain,
        domain_b: Domain,
        load_size: int,
        crop_size: int,
        train: bool,
        skip_bad: bool = False,
        disjoint: bool = False,
    ) -> None:
        if crop_size > load_size:
            raise UserError(f"crop_size {crop_size} is larger than load_size {load_size}")
        self.train, self.crop_size = train, crop_size
        self.size = load_size if train else crop_size
        files_a, files_b = list_images(domain_a.folder), list_images(domain_b.folder)
        if disjoint:  # one aligned dataset: A halves of even pairs, B halves of odd ones
            files_a, files_b = files_a[0::2], files_b[1::2]
        self.a = self._decode_all(files_a, domain_a.half, skip_bad)
        self.b = self._decode_all(files_b, domain_b.half, skip_bad)
        for name, images, domain in (("A", self.a, domain_a), ("B", self.b, domain_b)):
            if not images:
                raise UserError(f"domain {name} ({domain.folder}) holds no readable images")

    def _decode_all(self, files: list[Path], half: str, skip_bad: bool) -> list[torch.Tensor]:
        images = []
        for path in files:
            try:
                img = read_domain_image(path, half)
                images.append(to_uint8_tensor(img.resize((self.size, self.size), Image.BICUBIC)))
            except ImageLoadError as err:
                if not skip_bad:
                    raise ImageLoadError(f"{err}; --skip-bad-images skips such files") from err
                warnings.warn(f"skipping {err}", stacklevel=2)
        return images

    def __len__(self) -> int:
        return len(self.a) if self.train else min(len(self.a), len(self.b))

    def __getitem__(self, key: int | tuple[int, int]) -> dict:
        index, seed = key if isinstance(key, tuple) else (key, None)
        if not self.train or seed is None:
            a, b = self.a[index % len(self.a)], self.b[index % len(self.b)]
            return {"A": uint8_to_unit(a), "B": uint8_to_unit(b), "index": index}
        gen = torch.Generator().manual_seed(seed)
        b_index = int(torch.randint(0, len(self.b), (), generator=gen))
        a, _ = random_crop_flip(self.a[index % len(self.a)], self.a[index % len(self.a)], self.crop_size, gen)
        b, _ = random_crop_flip(self.b[b_index], self.b[b_index], self.crop_size, gen)
        return {"A": uint8_to_unit(a), "B": uint8_to_unit(b), "index": index}


def open_unpaired_dataset(
    data: str,
    phase: str,
    load_size: int = 286,
    crop_size: int = 256,
    train: bool = True,
    skip_bad: bool = False,
    data_b: str = "",
    half_a: str = "whole",
    half_b: str = "whole",
    unpaired: bool = False,
) -> UnpairedImages:
    domain_a, domain_b = domain_folders(data, phase, data_b, half_a, half_b, unpaired)
    return UnpairedImages(domain_a, domain_b, load_size, crop_size, train, skip_bad, unpaired and train)
