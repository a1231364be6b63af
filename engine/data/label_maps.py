"""Label maps (semantic layouts) as a data type: what pix2pixHD and SPADE translate into photos.

A label map is an H x W array of class indices. On disk it is either an index PNG (mode "P"
with a palette, or 8-bit grey: ADE20K/Cityscapes style) or a colour rendering, decoded by the
nearest palette colour (the pix2pix copy of CMP facades: JPEG-blurred jet colours). The
`Palette` (class names and colours) travels in every checkpoint so a demo can draw its brushes.

Layouts: DIR/{train,val,test}/labels/*.png + images/*.jpg with matching stems (DIR/classes.txt:
one class name per line, optional), or pix2pix's aligned A|B files with the colour map on one
half (`label_half`, B for facades). Items: "A" the one-hot map (classes x H x W, what the
networks read), "label" the index map, "B" the photo in [-1, 1].
"""

from __future__ import annotations

import colorsys
import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from engine.data.datasets import PairedImages, find_split, random_crop_flip, split_aligned
from engine.data.images import (
    ImageLoadError,
    list_images,
    load_image,
    to_uint8_tensor,
    uint8_to_unit,
)
from engine.errors import UserError

MAX_CLASSES = 256
INDEX_MODES = ("P", "L", "I", "I;16")  # image modes whose values are class indices


@dataclass(frozen=True)
class Palette:
    """Class names and their display colours; index i is class i."""

    names: tuple[str, ...]
    colours: tuple[tuple[int, int, int], ...]

    def __post_init__(self) -> None:
        if not 1 <= len(self.names) == len(self.colours) <= MAX_CLASSES:
            raise UserError(f"a palette needs 1 to {MAX_CLASSES} classes with a colour each")

    def __len__(self) -> int:
        return len(self.names)

    def to_meta(self) -> dict:
        return {"class_names": list(self.names), "class_colours": [list(c) for c in self.colours]}

    @classmethod
    def from_meta(cls, meta: dict) -> Palette:
        return cls(tuple(meta["class_names"]), tuple(tuple(int(v) for v in c) for c in meta["class_colours"]))

    def decode(self, rgb: np.ndarray) -> np.ndarray:
        """H x W x 3 uint8 colours -> H x W uint8 class indices, by the nearest palette colour.
        A pixel of a class colour exactly is looked up by that colour (a canvas that paints in
        class colours decodes in about 1 ms, where the nearest-colour search takes 25); only
        the others are searched."""
        pixels = rgb.reshape(-1, 3).astype(np.int32)
        keys = (pixels[:, 0] << 16) | (pixels[:, 1] << 8) | pixels[:, 2]
        table = np.asarray(self.colours, np.int32)
        packed = (table[:, 0] << 16) | (table[:, 1] << 8) | table[:, 2]
        order = np.argsort(packed, kind="stable")  # a colour listed twice is its first class
        found = order[np.searchsorted(packed[order], keys).clip(0, len(packed) - 1)]
        nearest = found.astype(np.uint8)
        rest = np.flatnonzero(packed[found] != keys)
        for start in range(0, len(rest), 65536):  # bounded memory for large maps
            chunk = rest[start : start + 65536]
            nearest[chunk] = ((pixels[chunk, None] - table[None]) ** 2).sum(-1).argmin(1)
        return nearest.reshape(rgb.shape[:2])

    def render(self, index: np.ndarray) -> Image.Image:
        """H x W class indices -> the colour image people see (and pix2pix reads)."""
        return Image.fromarray(np.asarray(self.colours, np.uint8)[index], "RGB")


# CMP facades, labels 1-12 of its README in that order. The colours are the modes of the pix2pix
# copy's label halves (train, uniform regions); they follow the jet colour map in label order.
FACADES = Palette(
    names=(
        "background",
        "facade",
        "window",
        "door",
        "cornice",
        "sill",
        "balcony",
        "blind",
        "deco",
        "molding",
        "pillar",
        "shop",
    ),  # fmt: skip
    colours=(
        (0, 0, 220),
        (0, 52, 252),
        (0, 132, 252),
        (0, 204, 252),
        (36, 252, 228),
        (116, 252, 140),
        (196, 252, 60),
        (252, 244, 4),
        (252, 156, 4),
        (252, 84, 4),
        (252, 4, 4),
        (172, 4, 4),
    ),  # fmt: skip
)


def distinct_colours(count: int) -> tuple[tuple[int, int, int], ...]:
    """Evenly spaced hues, for label folders whose PNGs carry no palette."""
    return tuple(
        tuple(int(v * 255) for v in colorsys.hsv_to_rgb(i / count, 0.75, 0.95 - 0.3 * (i % 2)))
        for i in range(count)
    )


def open_label_image(path: str | Path) -> Image.Image:
    """A label map file, decoded and size-capped like any image, keeping an index PNG's mode
    (P, L or I) so its indices are read, not its colours."""
    img = load_image(path, mode=None)
    return img if img.mode in INDEX_MODES else img.convert("RGB")


def read_label_map(image: Image.Image, palette: Palette, name: str = "the label map") -> np.ndarray:
    """An index PNG (palette or grey values are the classes) or a colour rendering (decoded by
    the nearest palette colour) -> H x W uint8 class indices."""
    if image.mode in INDEX_MODES:
        index = np.asarray(image)
        if index.max(initial=0) >= len(palette):
            raise ImageLoadError(
                f"{name}: class index {int(index.max())} but the palette has {len(palette)} classes"
            )
        return index.astype(np.uint8)
    return palette.decode(np.asarray(image.convert("RGB")))


FAR = 64  # RGB distance from every class colour beyond which a pixel is no class's, JPEG or not
PHOTO_SHARE = 0.5  # a "map" with more such pixels is a photo (JPEG'd renderings: at most ~15%)


def off_palette_share(image: Image.Image, palette: Palette) -> float:
    """The share of pixels farther than FAR from every palette colour: near 0 for a colour
    rendering (even JPEG-blurred or resized), near 1 for a photo. Index PNGs are maps: 0."""
    if image.mode in INDEX_MODES:
        return 0.0
    small = image.convert("RGB")
    small.thumbnail((128, 128))  # enough pixels for a share, cheap for any upload
    pixels = np.asarray(small, np.float32).reshape(-1, 1, 3)
    distance = np.sqrt(((pixels - np.asarray(palette.colours, np.float32)[None]) ** 2).sum(-1)).min(1)
    return float((distance > FAR).mean())


def one_hot(index: torch.Tensor, classes: int) -> torch.Tensor:
    """(..., H, W) integer classes -> (..., classes, H, W) float one-hot."""
    return F.one_hot(index.long(), classes).movedim(-1, -3).float()


def folder_palette(root: Path, labels: list[Path]) -> Palette:
    """Names from DIR/classes.txt, colours from the first index PNG's palette (else generated)."""
    names_file = root / "classes.txt"
    names = (
        [n.strip() for n in names_file.read_text().splitlines() if n.strip()] if names_file.is_file() else []
    )
    first = open_label_image(labels[0])
    if not names:  # as many classes as the maps use
        top = max(int(np.asarray(open_label_image(p)).max()) for p in labels)
        names = [f"class {i}" for i in range(top + 1)]
    raw = first.getpalette() if first.mode == "P" else None
    if raw and len(raw) >= 3 * len(names):
        colours = tuple(tuple(raw[3 * i : 3 * i + 3]) for i in range(len(names)))
    else:
        colours = distinct_colours(len(names))
    return Palette(tuple(names), colours)


class LabelMapDataset(PairedImages):
    """(label map, photo) pairs; labels resize by nearest neighbour, photos bicubic, and both get
    the same random crop and flip (seeded per sample, so resume is exact)."""

    def __init__(self, items: list, palette: Palette, label_half: str = "B", **kw) -> None:
        self.palette, self.label_half = palette, label_half
        super().__init__(items, **kw)

    def read_pair(self, item) -> tuple[np.ndarray, Image.Image]:
        if isinstance(item, tuple):  # labels/ + images/
            label = read_label_map(open_label_image(item[0]), self.palette, item[0].name)
            return label, load_image(item[1])
        # split_aligned's (input, target): BtoA puts the B half first
        label, photo = split_aligned(
            load_image(item), "BtoA" if self.label_half == "B" else "AtoB", item.name
        )
        return self.palette.decode(np.asarray(label)), photo

    def _decode(self, item) -> tuple[torch.Tensor, torch.Tensor]:
        label, photo = self.read_pair(item)
        size = (self.size, self.size)
        label = Image.fromarray(label).resize(size, Image.NEAREST)
        return torch.from_numpy(np.asarray(label).copy())[None], to_uint8_tensor(
            photo.resize(size, Image.BICUBIC)
        )

    def name(self, index: int) -> str:
        item = self.items[index]
        return (item[0] if isinstance(item, tuple) else item).stem

    def __getitem__(self, key: int | tuple[int, int]) -> dict:
        index, seed = key if isinstance(key, tuple) else (key, None)
        label, photo = self.cache[index] if self.cache is not None else self._decode(self.items[index])
        if self.train and seed is not None:
            label, photo = random_crop_flip(label, photo, self.crop_size, torch.Generator().manual_seed(seed))
        label = label[0].long()
        return {
            "A": one_hot(label, len(self.palette)),
            "label": label,
            "B": uint8_to_unit(photo),
            "index": index,
        }


def open_label_dataset(
    root: str | Path,
    phase: str = "train",
    load_size: int = 286,
    crop_size: int = 256,
    train: bool | None = None,
    label_half: str = "B",
    palette: Palette | None = None,
    skip_bad: bool = False,
) -> LabelMapDataset:
    """Either layout, detected from the folders; the palette comes from the data unless given
    (a checkpoint's own palette, so evaluation decodes colours as training did)."""
    folder = find_split(root, phase)
    kw = dict(
        load_size=load_size, crop_size=crop_size, train=(phase == "train") if train is None else train,
        skip_bad=skip_bad,
    )  # fmt: skip
    if (folder / "labels").is_dir() and (folder / "images").is_dir():
        photos = {p.stem: p for p in list_images(folder / "images")}
        labels = [
            p
            for p in sorted((folder / "labels").iterdir())
            if p.stem in photos and p.suffix.lower() == ".png"
        ]
        if not labels:
            raise UserError(
                f"no PNG in {folder / 'labels'} shares a name with a photo in {folder / 'images'}"
            )
        palette = palette or folder_palette(Path(root), labels)
        return LabelMapDataset([(p, photos[p.stem]) for p in labels], palette, **kw)
    files = list_images(folder)
    if not files:
        raise UserError(
            f"no label maps in {folder}: use DIR/train/labels/*.png + DIR/train/images/ (same names), "
            "or A|B files with the colour map on one half (pix2pix facades)"
        )
    if label_half not in ("A", "B"):
        raise UserError(f"label_half must be A or B, got {label_half!r}")
    return LabelMapDataset(files, palette or FACADES, label_half, **kw)


def with_dataset_palette(config, data: str):
    """A label-map task's config (a dataclass with `class_names`, `label_half` and the palette's
    fields) with its training data's palette filled in; as it is when it has one or no data."""
    if config.class_names or not data:
        return config
    return dataclasses.replace(config, **dataset_palette(data, config.label_half).to_meta())


def dataset_palette(root: str | Path, label_half: str = "B") -> Palette:
    """The palette a dataset's training split uses, without decoding its photos."""
    folder = find_split(root, "train")
    if (folder / "labels").is_dir():
        labels = sorted(p for p in (folder / "labels").iterdir() if p.suffix.lower() == ".png")
        if not labels:
            raise UserError(f"no PNG label maps in {folder / 'labels'}")
        return folder_palette(Path(root), labels)
    return FACADES
