"""White paper outside a drawing's closed outline.

edges2shoes' photos are product shots on white, and a drawn outline says where the shoe ends.
The generator still paints a brown cloud beside a shape it finds unusual (in front of a high
heel's long toe, above a sandal's open vamp) and a tint where a look's colour leaks past the
contour. Outside the closed outline, a few pixels out and with a soft edge, the answer is paper.
A drawing that encloses nothing (an open sketch, a detailed edge map whose lines do not close)
is left as the generator drew it.
"""

from __future__ import annotations

import torch

from engine.pipelines.hint_pull import gaussian_blur, grow, ink_of, inside_outline

MARGIN = 4  # px at 256: the shoe may reach this far past the drawn line (its shading, a welt)
SOFT = 2.0  # px: the edge between shoe and paper fades over this much


def paper_outside(output: torch.Tensor, drawing: torch.Tensor) -> torch.Tensor:
    """output: N x 3 x H x W in [-1, 1]; drawing: the prepared drawing (N x 3 x H x W, dark
    lines), before outline completion. Each image white beyond MARGIN outside its drawing's
    closed outline; an image whose drawing closes nothing, untouched."""
    inside = inside_outline(ink_of(drawing))
    closes = [not region.all() for region in inside]
    if not any(closes):
        return output
    mask = torch.from_numpy(inside[:, None]).to(output.device, output.dtype)
    keep = gaussian_blur(grow(mask, MARGIN), SOFT)
    keep = torch.where(keep > 0.9999, 1.0, keep.clamp_min(0))  # the shoe's pixels exactly as drawn
    papered = output * keep + (1 - keep)
    chosen = torch.tensor(closes, device=output.device).view(-1, 1, 1, 1)
    return torch.where(chosen, papered, output)
