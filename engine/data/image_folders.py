"""Single-image datasets for latent models: Fashion-MNIST, or any folder of images.

`--data fashion-mnist` reads the IDX files of the Debian package `dataset-fashion-mnist`
(/usr/share/datasets/fashion-mnist), else a copy in $STUDIO_HOME/datasets/fashion-mnist,
else downloads the four official files there (failing at once, with what to do, offline).
Any other `--data` is a folder of images, searched recursively; with two or more class
subfolders (and no loose images at the top) the subfolder names become labels.

Everything is decoded once, fitted to a square `image_size` (28 px digits are padded to 32
as DCGAN did for MNIST) and kept as one uint8 tensor, so an epoch is tensor indexing.
"""

from __future__ import annotations

import gzip
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import Dataset

from engine.data.datasets import find_split
from engine.data.images import (
    IMAGE_EXTENSIONS,
    ImageLoadError,
    load_image,
    to_uint8_tensor,
    uint8_to_unit,
    warn_shared_stems,
)
from engine.data.sources import SYSTEM_FASHION_MNIST, DatasetUnavailableError, fetch_any
from engine.errors import UserError

FASHION_MNIST = "fashion-mnist"
FASHION_MNIST_URLS = (  # the project's GitHub copy over https, then its S3 site (http only)
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
)
FASHION_MNIST_MD5 = {  # published in the Fashion-MNIST README
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}
FASHION_MNIST_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip
LUMA = torch.tensor([0.299, 0.587, 0.114])  # ITU-R 601, as PIL's convert("L")


class ImageDataset(Dataset):
    """uint8 NCHW images + labels (-1: none); items are index or (index, aug_seed) -> dict."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, class_names: list[str]) -> None:
        if len(images) == 0:
            raise UserError("the dataset holds no readable images")
        self.images, self.labels, self.class_names = images, labels, class_names

    @property
    def channels(self) -> int:
        return self.images.shape[1]

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, key: int | tuple[int, int]) -> dict:
        index = key[0] if isinstance(key, tuple) else key  # no augmentation: the seed is unused
        return {"image": uint8_to_unit(self.images[index]), "label": int(self.labels[index]), "index": index}


def open_image_dataset(
    data: str | Path, phase: str, image_size: int, channels: int = 0, skip_bad: bool = False
) -> ImageDataset:
    """Fashion-MNIST (data 'fashion-mnist') or an image folder, `image_size` square, `channels`
    1 or 3 (0: as the data is: 1 for Fashion-MNIST and all-gray folders). A folder without a
    val/test split raises FileNotFoundError for those phases (the trainer then uses train)."""
    if channels not in (0, 1, 3):
        raise UserError(f"channels must be 0 (from the data), 1 or 3, got {channels}")
    if str(data) == FASHION_MNIST:
        images, labels = fashion_mnist(phase)
        images = set_channels(fit_tensor(torch.from_numpy(images)[:, None], image_size), channels or 1)
        return ImageDataset(images, torch.from_numpy(labels).long(), list(FASHION_MNIST_CLASSES))
    root = Path(data)
    folder = find_split(root, phase)
    if phase != "train" and folder == root:
        raise UserError(f"{root} has no {phase} split")
    return load_folder(folder, image_size, channels, skip_bad)


def load_folder(folder: Path, image_size: int, channels: int = 0, skip_bad: bool = False) -> ImageDataset:
    """Every image under `folder`; two or more class subfolders (no loose images) give labels."""
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())
    if not files:
        raise UserError(f"no images in {folder}")
    warn_shared_stems(files)
    tops = sorted({p.relative_to(folder).parts[0] for p in files if p.parent != folder})
    labelled = len(tops) >= 2 and all(p.parent != folder for p in files)
    class_names = tops if labelled else []
    images, labels = [], []
    for path in files:
        try:
            img = load_image(path)
        except ImageLoadError as err:
            if not skip_bad:
                raise
            warnings.warn(f"skipping unreadable image: {err}", stacklevel=2)
            continue
        images.append(fit_image(img, image_size))
        labels.append(class_names.index(path.relative_to(folder).parts[0]) if labelled else -1)
    if not images:
        raise UserError(f"no readable images in {folder}")
    stacked = torch.stack(images)
    gray = bool((stacked[:, 0] == stacked[:, 1]).all() and (stacked[:, 1] == stacked[:, 2]).all())
    return ImageDataset(
        set_channels(stacked, channels or (1 if gray else 3)), torch.tensor(labels), class_names
    )


def fit_image(img: Image.Image, size: int) -> torch.Tensor:
    """PIL -> uint8 CHW `size` square: longer side to `size`, then edge pixels pad the rest
    (no crop: faces and clothes keep their top and bottom)."""
    scale = size / max(img.size)
    w, h = max(1, round(img.width * scale)), max(1, round(img.height * scale))
    t = to_uint8_tensor(img.convert("RGB").resize((w, h), Image.BICUBIC))
    if (w, h) == (size, size):
        return t
    left, top = (size - w) // 2, (size - h) // 2
    padded = F.pad(t[None].float(), (left, size - w - left, top, size - h - top), mode="replicate")
    return padded[0].round().to(torch.uint8)


def fit_tensor(images: torch.Tensor, size: int, pad_value: int = 0) -> torch.Tensor:
    """uint8 NCHW of 28 px digits -> `size`: pad to 32 (digit-sized margins), resize if 64."""
    side = images.shape[-1]
    margin = max(0, (32 - side) // 2) if size >= 32 else 0
    images = F.pad(images, (margin,) * 4, value=pad_value)
    if images.shape[-1] == size:
        return images.contiguous()
    chunks = [
        F.interpolate(c.float(), size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        for c in images.split(4096)
    ]
    return torch.cat(chunks).round().clamp(0, 255).to(torch.uint8)


def set_channels(images: torch.Tensor, channels: int) -> torch.Tensor:
    """uint8 NCHW with 1 or 3 channels -> `channels` (gray repeated, or colour to luma)."""
    if images.shape[1] == channels:
        return images
    if channels == 3:
        return images.expand(-1, 3, -1, -1).contiguous()
    luma = (images.float() * LUMA.view(1, 3, 1, 1)).sum(1, keepdim=True)
    return luma.round().clamp(0, 255).to(torch.uint8)


def read_idx(path: str | Path) -> np.ndarray:
    """An IDX file (the MNIST format: magic 0 0 type ndim, big-endian int32 dims, raw data)."""
    with gzip.open(path, "rb") if str(path).endswith(".gz") else open(path, "rb") as f:
        data = bytearray(f.read())  # writable, so torch.from_numpy shares it without a warning
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise UserError(f"{path} is not an unsigned-byte IDX file")
    ndim = data[3]
    dims = np.frombuffer(data, ">i4", ndim, offset=4).astype(int)
    body = np.frombuffer(data, np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise UserError(f"{path}: {body.size} bytes of data for shape {tuple(dims)}")
    return body.reshape(tuple(dims))


def fashion_mnist(phase: str) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 N x 28 x 28 images, uint8 labels): 'train' is the 60k set, val/test the 10k."""
    split = "train" if phase == "train" else "test"
    folder = find_fashion_mnist() or download_fashion_mnist(fashion_mnist_home())
    image_file, label_file = FASHION_MNIST_FILES[split]
    images, labels = read_idx(folder / image_file), read_idx(folder / label_file)
    if len(images) != len(labels):
        raise UserError(f"{folder}: {len(images)} images but {len(labels)} labels")
    return images, labels


def fashion_mnist_home() -> Path:
    from engine.store.runs import default_home

    return default_home() / "datasets" / FASHION_MNIST


def find_fashion_mnist() -> Path | None:
    """The Debian package's folder, else $STUDIO_HOME/datasets/fashion-mnist, when complete."""
    for folder in (SYSTEM_FASHION_MNIST, fashion_mnist_home()):
        if all((folder / name).is_file() for pair in FASHION_MNIST_FILES.values() for name in pair):
            return folder
    return None


def download_fashion_mnist(dest: Path, progress: bool = True) -> Path:
    """Fetch the four official .gz files into `dest`, each written whole and with its published
    MD5 or not at all."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in [n for pair in FASHION_MNIST_FILES.values() for n in pair]:
        if (dest / name).is_file():
            continue
        try:
            fetch_any(
                [url + name for url in FASHION_MNIST_URLS],
                dest / name,
                progress,
                ("md5", FASHION_MNIST_MD5[name]),
            )
        except DatasetUnavailableError as err:
            raise DatasetUnavailableError(
                f"Fashion-MNIST is not installed and downloading {name} failed ({err}). Install the "
                f"Debian package dataset-fashion-mnist (files in {SYSTEM_FASHION_MNIST}), or copy "
                f"{', '.join(n for pair in FASHION_MNIST_FILES.values() for n in pair)} into {dest}."
            ) from err
    return dest
