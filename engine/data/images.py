"""Reading images safely: clear errors naming the file, size caps, tensor conversion."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps

from engine.errors import UserError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".ppm")
MAX_PIXELS = 40_000_000  # about 6300x6300: larger files are refused, not decoded


class ImageLoadError(UserError):
    """An image file that cannot be decoded; the message names the file."""


def list_images(folder: str | Path) -> list[Path]:
    """Image files directly in `folder`, sorted by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"no such folder: {folder}")
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())


def output_paths(files: list[Path], dst: Path) -> list[Path]:
    """OUT/stem.png for each input; inputs sharing a stem (a.jpg, a.png) keep their extension
    in the name (a_jpg.png, a_png.png) so no output overwrites another."""
    stems = [f.stem for f in files]
    return [
        dst / (f"{f.stem}.png" if stems.count(f.stem) == 1 else f"{f.stem}_{f.suffix[1:]}.png") for f in files
    ]


def load_image(path: str | Path, mode: str | None = "RGB", max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Decode fully (so truncation shows here, not later) and convert to `mode`; None keeps the
    file's own mode and values (an index PNG's class numbers)."""
    try:
        with Image.open(path) as img:
            if img.width * img.height > max_pixels:
                raise ImageLoadError(
                    f"{path}: {img.width}x{img.height} is larger than the {max_pixels} pixel limit"
                )
            img = ImageOps.exif_transpose(img)
            if mode is None:
                img.load()
                return img
            img = to_8bit(img)
            return flatten_alpha(img).convert(mode) if mode != "RGBA" else img.convert(mode)
    except ImageLoadError:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
        raise ImageLoadError(f"cannot read image {path}: {err}") from err


def to_8bit(img: Image.Image) -> Image.Image:
    """16-bit and float greyscale scaled to 8 bits (Pillow's own convert clips them to white)."""
    if img.mode not in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        return img
    arr = np.asarray(img, dtype=np.float64)
    top = (
        1.0
        if img.mode == "F" and arr.max(initial=0) <= 1.0
        else (255.0 if arr.max(initial=0) <= 255 else 65535.0)
    )
    return Image.fromarray(np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8), mode="L")


def flatten_alpha(img: Image.Image, background: int = 255) -> Image.Image:
    """Composite transparency onto white, so empty canvas areas become paper, not black. An
    opaque RGBA image (the live canvas's, painted on white) is only converted."""
    if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
        if img.mode in ("RGBA", "LA") and img.getchannel("A").getextrema() == (255, 255):
            return img.convert("RGB")
        rgba = img.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (background,) * 3 + (255,))
        return Image.alpha_composite(canvas, rgba).convert("RGB")
    return img


def load_images_skipping(paths: list[Path], skip_bad: bool) -> list[tuple[Path, Image.Image]]:
    """Load many files; with skip_bad, warn and drop unreadable ones instead of failing."""
    loaded = []
    for path in paths:
        try:
            loaded.append((path, load_image(path)))
        except ImageLoadError as err:
            if not skip_bad:
                raise
            warnings.warn(f"skipping unreadable image: {err}", stacklevel=2)
    return loaded


def to_uint8_tensor(img: Image.Image) -> torch.Tensor:
    """PIL RGB -> uint8 CHW tensor (the compact form the data cache keeps)."""
    return torch.from_numpy(np.asarray(img, dtype=np.uint8).copy()).permute(2, 0, 1).contiguous()


def uint8_to_unit(t: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float [-1, 1], the range tanh generators produce."""
    return t.float().div_(127.5).sub_(1.0)


def box_around(mask: np.ndarray, margin: int = 0) -> tuple[slice, slice]:
    """The rows and columns of a non-empty 2-D `mask`'s True pixels, `margin` more on each side,
    within the array: where the work on a drawing that fills part of its image goes."""
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    height, width = mask.shape
    return (
        slice(max(0, rows[0] - margin), min(height, rows[-1] + margin + 1)),
        slice(max(0, cols[0] - margin), min(width, cols[-1] + margin + 1)),
    )


def tensor_to_image(t: torch.Tensor) -> Image.Image:
    """float CHW in [-1, 1] -> PIL RGB. One new float tensor scaled in place, and the bytes laid
    out as PIL reads them before it sees them (it copied a permuted array element by element):
    half the time on a live stroke's 256 px shoe."""
    scaled = t.detach().float().clamp(-1, 1).add_(1).mul_(127.5).round_()
    return Image.fromarray(scaled.to(torch.uint8).permute(1, 2, 0).contiguous().cpu().numpy())


def image_to_tensor(img: Image.Image) -> torch.Tensor:
    """PIL -> float CHW in [-1, 1]."""
    return uint8_to_unit(to_uint8_tensor(img.convert("RGB")))


def image_grid(rows: list[list[torch.Tensor]], pad: int = 2) -> Image.Image:
    """Rows of equally sized CHW [-1, 1] tensors -> one white-separated picture."""
    h, w = rows[0][0].shape[-2:]
    cols = max(len(r) for r in rows)
    canvas = torch.ones(3, len(rows) * (h + pad) - pad, cols * (w + pad) - pad)
    for i, row in enumerate(rows):
        for j, t in enumerate(row):
            t = t.detach().float().cpu()
            t = t.expand(3, -1, -1) if t.shape[0] == 1 else t
            canvas[:, i * (h + pad) : i * (h + pad) + h, j * (w + pad) : j * (w + pad) + w] = t
    return tensor_to_image(canvas)


def warn_shared_stems(files: list[Path]) -> None:
    """Two images with one name in one folder (p0.jpg, p0.png) are often one picture saved twice:
    say so once per name."""
    seen: dict[tuple[Path, str], Path] = {}
    for path in files:
        first = seen.setdefault((path.parent, path.stem), path)
        if first is not path:
            warnings.warn(f"{first} and {path.name} share a name (one picture saved twice?)", stacklevel=3)
