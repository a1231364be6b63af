"""Edge maps from photos, black lines on white, to build edges-to-photo datasets.

`hed` reproduces how edges2shoes/edges2handbags were made (pix2pix `scripts/edges`): HED edge
probabilities, non-maximum suppression along the edge normal, a 25/255 threshold, thinning to
one pixel and removal of specks under 5 pixels. `canny` and `xdog` need no network weights.
"""

from __future__ import annotations

import random
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps
from scipy import ndimage
from skimage.color import rgb2gray
from skimage.feature import canny
from skimage.morphology import thin
from tqdm import tqdm

from engine.data.datasets import join_aligned
from engine.data.images import IMAGE_EXTENSIONS, ImageLoadError, list_images, load_image
from engine.errors import UserError
from engine.pretrained import MissingWeightsError, hed_weights_path

EDGE_METHODS = ("canny", "xdog", "hed")
HED_THRESHOLD = 25.0 / 255.0  # PostprocessHED.m
HED_MIN_EDGE_PIXELS = 5  # bwareaopen(E, 5): components with fewer pixels are dropped
MIN_FITTED_SIDE = 8  # px: a thinner strip has no edges worth learning from
HED_PAD = 32  # mirror padding so HED ignores the frame (batch_hed.py pads 128; 32 looks the same)


def _gray(img: Image.Image) -> np.ndarray:
    """Luminance in [0, 1] as float64."""
    return rgb2gray(np.asarray(img.convert("RGB"), dtype=np.float64) / 255.0)


def _lines_to_image(lines: np.ndarray) -> Image.Image:
    """Boolean edge mask -> "L" image with black (0) lines on white (255)."""
    return Image.fromarray(np.where(lines, 0, 255).astype(np.uint8), mode="L")


def canny_edges(
    img: Image.Image, sigma: float = 2.0, low_threshold: float = 0.05, high_threshold: float = 0.15
) -> Image.Image:
    """Canny on luminance; thresholds are gradient magnitudes of a [0, 1] image. sigma 2 keeps
    outlines and drops fabric texture on a 256 px product photo."""
    edges = canny(
        _gray(img), sigma=sigma, low_threshold=low_threshold, high_threshold=high_threshold, mode="nearest"
    )
    return _lines_to_image(edges)


def xdog_edges(
    img: Image.Image,
    sigma: float = 1.0,
    k: float = 1.6,
    tau: float = 1.0,
    epsilon: float = -0.015,
    phi: float = 50.0,
) -> Image.Image:
    """eXtended Difference of Gaussians (Winnemoeller et al. 2012), in its tau form:
    D = G_sigma - tau * G_{k sigma}; white where D >= epsilon, else 1 + tanh(phi (D - epsilon)).

    With tau near 1 and epsilon a little below 0 flat areas of any tone stay white and only the
    dark side of each edge turns black, which gives sketch-like outlines rather than shading."""
    gray = _gray(img)
    dog = ndimage.gaussian_filter(gray, sigma, mode="nearest") - tau * ndimage.gaussian_filter(
        gray, k * sigma, mode="nearest"
    )
    tone = np.where(dog >= epsilon, 1.0, 1.0 + np.tanh(phi * (dog - epsilon)))
    return Image.fromarray(np.clip(tone * 255.0 + 0.5, 0, 255).astype(np.uint8), mode="L")


def _tri_smooth(a: np.ndarray, radius: int) -> np.ndarray:
    """Piotr Dollar's convTri: separable triangle filter with symmetric padding."""
    kernel = np.concatenate([np.arange(1, radius + 2), np.arange(radius, 0, -1)]).astype(np.float64)
    kernel /= kernel.sum()
    a = ndimage.convolve1d(a, kernel, axis=0, mode="reflect")
    return ndimage.convolve1d(a, kernel, axis=1, mode="reflect")


def edge_nms(prob: np.ndarray, radius: int = 1, border: int = 5, margin: float = 1.01) -> np.ndarray:
    """Non-maximum suppression of a soft edge map along its normal (edgesNmsMex(E, O, 1, 5, 1.01)).

    The normal comes from second derivatives of the smoothed map, as in PostprocessHED.m. Edges
    within `border` pixels of the image frame are faded out, where HED answers to the frame."""
    gy, gx = np.gradient(_tri_smooth(prob, 4))
    gxx = np.gradient(gx, axis=1)
    gyy, gxy = np.gradient(gy)
    normal = np.mod(np.arctan(gyy * np.sign(-gxy) / (gxx + 1e-5)), np.pi)
    rows, cols = np.indices(prob.shape, dtype=np.float64)
    keep = prob > 0
    for d in range(-radius, radius + 1):
        if d == 0:
            continue
        coords = [rows + d * np.sin(normal), cols + d * np.cos(normal)]
        neighbour = ndimage.map_coordinates(prob, coords, order=1, mode="nearest")
        keep &= prob * margin >= neighbour
    out = np.where(keep, prob, 0.0)
    h, w = prob.shape
    border = min(border, h // 2, w // 2)
    if border > 0:
        ramp = np.arange(border) / border
        out[:border] *= ramp[:, None]
        out[h - border :] *= ramp[::-1, None]
        out[:, :border] *= ramp[None, :]
        out[:, w - border :] *= ramp[None, ::-1]
    return out


def _remove_specks(mask: np.ndarray, min_pixels: int) -> np.ndarray:
    """Drop 8-connected components with fewer than `min_pixels` pixels (MATLAB bwareaopen)."""
    labels, count = ndimage.label(mask, structure=np.ones((3, 3), dtype=bool))
    if count == 0:
        return mask
    sizes = np.bincount(labels.ravel())
    big = sizes >= min_pixels
    big[0] = False
    return big[labels]


def hed_probability(
    img: Image.Image, weights_path: str | Path | None = None, pad: int = HED_PAD
) -> np.ndarray:
    """HED's fused edge probability, HxW float in [0, 1]. The photo is mirror-padded by `pad`
    pixels first (as pix2pix's batch_hed.py does) so HED does not draw the image frame."""
    from engine.models.hed import load_hed  # torch model, loaded only when HED is asked for

    model = load_hed(weights_path)
    rgb = np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0
    if pad > 0:
        rgb = np.pad(rgb, ((pad, pad), (pad, pad), (0, 0)), mode="reflect")
    x = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1).unsqueeze(0)
    with torch.inference_mode():
        prob = model(x)[0, 0].numpy().astype(np.float64)
    return prob[pad : prob.shape[0] - pad, pad : prob.shape[1] - pad]


def hed_edges(
    img: Image.Image,
    weights_path: str | Path | None = None,
    threshold: float = HED_THRESHOLD,
    min_pixels: int = HED_MIN_EDGE_PIXELS,
) -> Image.Image:
    """edges2shoes-style edges: HED, NMS, threshold, thin to one pixel, drop small specks."""
    lines = edge_nms(hed_probability(img, weights_path)) >= max(threshold, 1e-12)
    lines = _remove_specks(thin(lines), min_pixels)
    return _lines_to_image(lines)


def available_methods() -> tuple[str, ...]:
    """Edge methods usable here: `hed` only when its weights are installed."""
    try:
        hed_ok = hed_weights_path().is_file()
    except MissingWeightsError:
        hed_ok = False
    return tuple(m for m in EDGE_METHODS if m != "hed" or hed_ok)


def extract_edges(img: Image.Image, method: str, **options) -> Image.Image:
    """Edges by method name (one of EDGE_METHODS); options go to that method's function."""
    functions = {"canny": canny_edges, "xdog": xdog_edges, "hed": hed_edges}
    if method not in functions:
        raise UserError(f"unknown edge method {method!r}; choose one of {', '.join(EDGE_METHODS)}")
    return functions[method](img, **options)


def fit_square(img: Image.Image, size: int, name: str = "the photo") -> Image.Image:
    """Resize to fit `size` x `size` keeping the aspect ratio, centred on white. A photo whose
    short side would shrink under MIN_FITTED_SIDE px (a thin strip) is an `ImageLoadError`."""
    if min(img.size) * size / max(img.size) < MIN_FITTED_SIDE:
        raise ImageLoadError(
            f"{name}: {img.width}x{img.height} px is too thin to fit a {size}x{size} pair "
            f"(its short side would be under {MIN_FITTED_SIDE} px)"
        )
    return ImageOps.pad(img.convert("RGB"), (size, size), method=Image.BICUBIC, color=(255, 255, 255))


def make_edges_dataset(
    photos_dir: str | Path,
    out_dir: str | Path,
    method: str = "hed",
    size: int = 256,
    val_fraction: float = 0.1,
    seed: int = 0,
    progress: bool = True,
) -> dict:
    """Turn a folder of photos into an aligned pix2pix dataset: out_dir/{train,val}/<stem>.jpg,
    each 2*size x size with A = edges (left) and B = photo (right), direction AtoB.

    Files are shuffled with `seed`; the first readable ones go to val (at least one when
    val_fraction > 0 and there are two or more photos). Files it cannot read or process are skipped with a warning naming them."""
    if method not in EDGE_METHODS:
        raise UserError(f"unknown edge method {method!r}; choose one of {', '.join(EDGE_METHODS)}")
    if not 0.0 <= val_fraction < 1.0:
        raise UserError(f"val_fraction must be in [0, 1), got {val_fraction}")
    paths = list_images(photos_dir)
    if not paths:
        raise UserError(f"no images in {photos_dir} (looked for {', '.join(IMAGE_EXTENSIONS)})")
    random.Random(seed).shuffle(paths)
    n_val = round(len(paths) * val_fraction)
    if val_fraction > 0 and len(paths) >= 2:
        n_val = max(1, n_val)
    out_dir = Path(out_dir)
    for split in ("train", "val"):
        (out_dir / split).mkdir(parents=True, exist_ok=True)
    counts = {"train": 0, "val": 0, "skipped": 0}
    used: set[str] = set()
    for path in tqdm(paths, desc=f"{method} edges", unit="img", disable=not progress):
        try:
            photo = fit_square(load_image(path), size, str(path))
            edges = extract_edges(photo, method).convert("RGB")
        except (ImageLoadError, ValueError) as err:  # undecodable, too thin, or edges failed
            warnings.warn(f"skipping {path.name}: {err}", stacklevel=2)
            counts["skipped"] += 1
            continue
        pair = join_aligned(edges, photo)
        split = "val" if counts["val"] < n_val else "train"
        stem, copy = path.stem, 1
        while stem in used:  # photo.jpg and photo.png both exist
            copy += 1
            stem = f"{path.stem}_{copy}"
        used.add(stem)
        pair.save(out_dir / split / f"{stem}.jpg", quality=95)
        counts[split] += 1
    return {**counts, "out_dir": str(out_dir), "method": method, "size": size}
