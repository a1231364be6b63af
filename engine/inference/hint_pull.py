"""Pull a generated image toward the colours a user painted as hints.

The generator reads hints but follows strong ones only part of the way (a red dab tends to
come out brown). After it has drawn the shoe, the difference between each dab's colour and
the output under it is spread over the nearby object with normalised Gaussian weights and
added: shading and texture stay the generator's, the colour becomes the user's. Paper-white
background is left alone, and so is anything far from every dab; given the input drawing, so is
whatever lies outside its closed outline (the shadow under a sole, paper beyond the toe). On 200
edges2shoes val pairs with 12 dabs it cut L1 from 0.147 to 0.129 for the previous default.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from scipy.ndimage import binary_fill_holes

SIGMA = 16.0  # px at 256: about a shoe part
REACH = 1000.0  # how quickly the pull fades where hints are sparse (on normalised weights)
PAPER = 0.85  # outputs brighter than this in every channel are background ([-1, 1] scale)
POOL = 4  # the field is smooth: compute it at a quarter of the resolution


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of NCHW with edge replication."""
    radius = max(1, int(3 * sigma))
    taps = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    kernel = torch.exp(-(taps**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    channels = x.shape[1]
    x = F.pad(x, (radius, radius, radius, radius), mode="replicate")
    x = F.conv2d(x, kernel.view(1, 1, 1, -1).expand(channels, 1, 1, -1), groups=channels)
    return F.conv2d(x, kernel.view(1, 1, -1, 1).expand(channels, 1, -1, 1), groups=channels)


def inside_outline(drawing: torch.Tensor, close: int = 3) -> torch.Tensor:
    """N x 1 x H x W: 1 on the ink of a drawing (dark lines on white, [-1, 1]) and inside its
    closed outlines, gaps up to `close` px bridged; all ones where nothing encloses an area
    (an open sketch must not confine the colour to its lines)."""
    ink = (drawing.mean(1, keepdim=True) < 0).float()
    thick = F.max_pool2d(ink, 2 * close + 1, stride=1, padding=close)
    regions = []
    for lines in thick[:, 0].cpu().numpy().astype(bool):
        filled = binary_fill_holes(lines)
        regions.append(filled if filled.sum() > 2 * lines.sum() else np.ones_like(filled))
    return torch.from_numpy(np.stack(regions)[:, None].astype(np.float32)).to(drawing.device)


def pull_toward_hints(
    output: torch.Tensor, hints: torch.Tensor, sigma: float = SIGMA, drawing: torch.Tensor | None = None
) -> torch.Tensor:
    """output: N x 3 x H x W in [-1, 1]; hints: N x 4 x H x W (hint RGB, then the 0/1 mask);
    `drawing`: the generator's edge input, to keep the colour inside its outline.
    Returns the output with its colours moved toward the hinted ones near each dab."""
    hints = hints.to(output.device, output.dtype)
    mask = hints[:, 3:]
    if not mask.any():
        return output
    pool = POOL if min(output.shape[-2:]) >= 8 * POOL else 1
    size = output.shape[-2:]
    residual = F.avg_pool2d((hints[:, :3] - output) * mask, pool)
    weight = F.avg_pool2d(mask, pool)
    residual, weight = gaussian_blur(residual, sigma / pool), gaussian_blur(weight, sigma / pool)
    field = residual / weight.clamp_min(1e-8) * (1 - torch.exp(-weight * REACH))
    field = F.interpolate(field, size=size, mode="bilinear", align_corners=False)
    on_object = (output < PAPER).any(1, keepdim=True).to(output.dtype)
    if drawing is not None:
        on_object = on_object * inside_outline(drawing.to(output.device))
    on_object = F.avg_pool2d(on_object, 3, stride=1, padding=1, count_include_pad=False)
    return (output + field * on_object).clamp(-1, 1)
