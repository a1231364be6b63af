"""Pull a generated image toward the colours a user painted as hints.

The generator reads hints but follows strong ones only part of the way: a red dab tends to
come out brown, and a dark blue one matches on the dab itself while the shoe around it stays
paler. After it has drawn the shoe, the difference between each dab's colour and the output
just around it is spread with normalised Gaussian weights and added, and the mark under each
dab is filled from around it: shading and texture stay the generator's, the colour becomes the
user's. Paper-white background is left alone, and so is anything far from every dab.

Given the input drawing, the colour also respects what was drawn: it stays inside the closed
outline (not on the shadow under a sole), and within each area the drawing's lines close off
(an upper, a sole, a heel) it follows the dabs painted in that area before those across a line,
as edge-aware colourisation does. The plain spread, the areas and reading the colour around
the dabs each lowered the default's L1 on held-out pairs with dabs (the settings were picked
on train pairs; README.md gives the figures).
"""

from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn.functional as F
from scipy.ndimage import label

from engine.data.drawing import dilate_cross, fill_enclosed

SIGMA = 16.0  # px at 256: about a shoe part
AREA_SIGMA = 48.0  # px: within one drawn area the colour carries further
LINE_GAP = 3  # px: lines are thickened by this before cutting the drawing into areas
REACH = 1000.0  # how quickly the pull fades where hints are sparse (on normalised weights)
PAPER = 0.85  # outputs brighter than this in every channel are background ([-1, 1] scale)
POOL = 4  # the field is smooth: compute it at a quarter of the resolution
RIM = 5  # px: the generator's own colour is read on a rim this wide around each dab
RIM_SIGMA = 5.0  # px: and averaged over this much of the rim


def blur_radius(sigma: float) -> int:
    """How far (px) `gaussian_blur` reaches."""
    return max(1, int(3 * sigma))


@functools.lru_cache(maxsize=16)
def blur_matrix(size: int, sigma: float, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """size x size: a Gaussian blur along one axis, edge replication folded into its first and
    last columns."""
    radius = blur_radius(sigma)
    taps = torch.arange(-radius, radius + 1, dtype=torch.float64)
    kernel = torch.exp(-(taps**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    rows = torch.arange(size).repeat_interleave(len(taps))
    cols = (rows + taps.long().repeat(size)).clamp(0, size - 1)
    matrix = torch.zeros(size, size, dtype=torch.float64)
    matrix.index_put_((rows, cols), kernel.repeat(size), accumulate=True)
    return matrix.to(dtype=dtype, device=device)


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of NCHW with edge replication, as two matrix products: a grouped
    conv with 31-tap kernels takes several times longer on a CPU (every stroke with a look runs
    six such blurs at 256 px)."""
    along_h = blur_matrix(x.shape[-2], sigma, x.dtype, x.device)
    along_w = blur_matrix(x.shape[-1], sigma, x.dtype, x.device)
    return along_h @ (x @ along_w.T)


def ink_of(drawing: torch.Tensor) -> np.ndarray:
    """N x H x W bool: the dark lines of drawings (dark on white, [-1, 1])."""
    return (drawing.mean(1) < 0).cpu().numpy()


def grow(mask: torch.Tensor, radius: int) -> torch.Tensor:
    """Square dilation (a max filter) of NCHW, as shifted maxima along each axis: a max-pool
    also keeps the argmax of every window and costs several times more."""
    for dim in (-1, -2):
        grown, size = mask.clone(), mask.shape[dim]
        for shift in range(1, min(radius, size - 1) + 1):
            ahead, behind = grown.narrow(dim, shift, size - shift), grown.narrow(dim, 0, size - shift)
            torch.maximum(ahead, mask.narrow(dim, 0, size - shift), out=ahead)
            torch.maximum(behind, mask.narrow(dim, shift, size - shift), out=behind)
        mask = grown
    return mask


def closed_lines(ink: np.ndarray, close: int = 3) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per image of N x H x W ink (`ink_of`): (its lines thickened so gaps up to `close` px
    close, the area they enclose with the lines), both H x W bool."""
    thick = grow(torch.from_numpy(ink).float()[:, None], close)[:, 0].numpy() > 0
    return [(lines, fill_enclosed(lines)) for lines in thick]


def inside_outline(ink: np.ndarray, close: int = 3) -> np.ndarray:
    """N x H x W bool: True on a drawing's ink (`ink_of`) and inside its closed outlines, gaps up
    to `close` px bridged; all True where nothing encloses an area (an open sketch must not
    confine the colour to its lines)."""
    regions = [
        filled if filled.sum() > 2 * lines.sum() else np.ones_like(filled)
        for lines, filled in closed_lines(ink, close)
    ]
    return np.stack(regions)


def spread(residual: torch.Tensor, mask: torch.Tensor, sigma: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalised Gaussian spread of the hinted residuals -> (field, confidence in [0, 1]), both
    at full size; confidence falls where the dabs' weight is thin."""
    pool = POOL if min(residual.shape[-2:]) >= 8 * POOL else 1
    weighted = gaussian_blur(F.avg_pool2d(residual * mask, pool), sigma / pool)
    weight = gaussian_blur(F.avg_pool2d(mask, pool), sigma / pool)
    field = weighted / weight.clamp_min(1e-8)
    confidence = 1 - torch.exp(-weight * REACH)
    size = residual.shape[-2:]
    return tuple(
        F.interpolate(t, size=size, mode="bilinear", align_corners=False) for t in (field, confidence)
    )


def follow_drawn_areas(
    field: torch.Tensor,
    residual: torch.Tensor,
    mask: torch.Tensor,
    ink: np.ndarray,
    inside: np.ndarray,
) -> torch.Tensor:
    """Replace the plain field, in each area of the drawing that holds a dab, by the spread of
    that area's own dabs (blended by their confidence, so a lone far dab does not take over).
    All areas of an image spread in one batch."""
    field = field.clone()
    for i, (lines, enclosed) in enumerate(zip(ink, inside)):
        lines = dilate_cross(lines, LINE_GAP)
        areas = torch.from_numpy(label(~lines & enclosed)[0]).to(field.device)
        hinted = [a for a in torch.unique(areas[mask[i, 0] > 0]).tolist() if a != 0]
        if not hinted:
            continue
        numbers = torch.tensor(hinted, device=field.device).view(-1, 1, 1, 1)
        within = (areas[None, None] == numbers).to(field.dtype)  # one mask per hinted area
        dabs = mask[i : i + 1] * within
        own, confidence = spread(residual[i : i + 1].expand(len(hinted), -1, -1, -1), dabs, AREA_SIGMA)
        blended = confidence * own + (1 - confidence) * field[i : i + 1]
        covered = within.sum(0, keepdim=True)  # areas are disjoint: 1 inside one, 0 outside all
        field[i : i + 1] = (within * blended).sum(0, keepdim=True) + (1 - covered) * field[i : i + 1]
    return field


def around_dabs(output: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(the output's colour on a rim around each dab, the output with the marks under the dabs
    filled with it). The generator matches a dab on the dab itself and stays paler around it:
    the rim says how far the area is from the hint. (Its darker halo, some 10 px wide under
    strong colours, stays: filling that much flattened texture and cost L1 on train pairs.)"""
    rim = grow(mask, RIM) - mask
    weight = gaussian_blur(rim, RIM_SIGMA)
    around = torch.where(
        weight > 1e-3, gaussian_blur(output * rim, RIM_SIGMA) / weight.clamp_min(1e-6), output
    )
    marks = grow(mask, 1)
    return around, output * (1 - marks) + around * marks


def pull_toward_hints(
    output: torch.Tensor, hints: torch.Tensor, sigma: float = SIGMA, drawing: torch.Tensor | None = None
) -> torch.Tensor:
    """output: N x 3 x H x W in [-1, 1]; hints: N x 4 x H x W (hint RGB, then the 0/1 mask);
    `drawing`: the generator's edge input, to keep the colour inside its outline and its areas.
    Returns the output with its colours moved toward the hinted ones near each dab."""
    hints = hints.to(output.device, output.dtype)
    mask = hints[:, 3:]
    if not mask.any():
        return output
    around, unmarked = around_dabs(output, mask)
    residual = hints[:, :3] - around
    field, confidence = spread(residual, mask, sigma)
    field = field * confidence
    on_object = (output < PAPER).any(1, keepdim=True).to(output.dtype)
    if drawing is not None:
        ink = ink_of(drawing)
        inside = inside_outline(ink)
        field = follow_drawn_areas(field, residual, mask, ink, inside)
        on_object = on_object * torch.from_numpy(inside[:, None]).to(on_object)
    on_object = F.avg_pool2d(on_object, 3, stride=1, padding=1, count_include_pad=False)
    return (unmarked + field * on_object).clamp(-1, 1)
