"""White paper outside a drawing's closed outline.

edges2shoes' photos are product shots on white, and a drawn outline says where the shoe ends.
The generator still paints a brown cloud beside a shape it finds unusual (in front of a high
heel's long toe, above a sandal's open vamp) and a tint where a look's colour leaks past the
contour. Outside the closed outline, a few pixels out and with a soft edge, the answer is paper.
A drawing that encloses nothing (an open sketch, a detailed edge map whose lines do not close)
is left as the generator drew it.
"""

from __future__ import annotations

import numpy as np
import torch

from engine.data.images import box_around
from engine.pipelines.hint_pull import blur_radius, closed_lines, gaussian_blur, grow, ink_of

CLOSE = 3  # px: gaps in the lines this wide are bridged (as the colour pull's outline)
MARGIN = 4  # px at 256: the shoe may reach this far past the drawn line (its shading, a welt)
SOFT = 2.0  # px: the edge between shoe and paper fades over this much
MIN_AREA = 0.02  # of the image: less enclosed paper than this and the drawing closes nothing


def enclosed(drawing: torch.Tensor) -> list[np.ndarray | None]:
    """Per image, the area its drawing's thickened lines enclose, lines included (H x W bool), or
    None where they enclose less than MIN_AREA beside the lines (an open sketch)."""
    return [
        filled if (filled & ~lines).sum() > MIN_AREA * lines.size else None
        for lines, filled in closed_lines(ink_of(drawing), CLOSE)
    ]


def paper_outside(output: torch.Tensor, drawing: torch.Tensor) -> torch.Tensor:
    """output: N x 3 x H x W in [-1, 1]; drawing: the model's edge input (N x 3 x H x W, dark
    lines). Each image white beyond MARGIN outside its drawing's closed outline; an image whose
    drawing closes nothing, untouched. The soft mask is made in the box around the outlines only
    (beyond it is paper): a live stroke's shoe fills about half the image."""
    areas = enclosed(drawing)
    if all(area is None for area in areas):
        return output
    inside = np.stack([area if area is not None else np.ones(drawing.shape[-2:], bool) for area in areas])
    box = box_around(inside.any(0), MARGIN + blur_radius(SOFT) + 1)
    mask = torch.from_numpy(inside[(slice(None), None, *box)]).to(output.device, output.dtype)
    keep = gaussian_blur(grow(mask, MARGIN), SOFT)
    keep = torch.where(keep > 0.9999, 1.0, keep.clamp_min(0))  # the shoe's pixels exactly as drawn
    papered = torch.ones_like(output)
    papered[(..., *box)] = output[(..., *box)] * keep + (1 - keep)
    return papered
