"""What the deep image prior restores: a noisy, holed or small picture, and how it was made.

The network always draws the whole clean picture; a `Corruption` says how to compare that
drawing with what was observed (all pixels, only the known ones, or after shrinking), so one
fitting loop serves denoising, inpainting and super-resolution. Tensors are (1, 3, H, W) in
[0, 1]. `simulate` makes the corrupted input from a clean photo, for lessons and benchmarks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from engine.data.images import image_to_tensor, tensor_to_image
from engine.errors import UserError

KINDS = ("denoise", "inpaint", "upscale")


def to_unit_tensor(img: Image.Image) -> torch.Tensor:
    """RGB picture -> (1, 3, H, W) float in [0, 1] (the sigmoid's range the fit works in)."""
    return image_to_tensor(img).unsqueeze(0) / 2 + 0.5


def to_picture(x: torch.Tensor) -> Image.Image:
    """(1, 3, H, W) or (3, H, W) in [0, 1] -> RGB picture (rounded, clipped)."""
    return tensor_to_image(x.reshape(-1, *x.shape[-2:]) * 2 - 1)


def shrink(x: torch.Tensor, scale: int) -> torch.Tensor:
    """Antialiased bicubic downscale by an integer factor; differentiable, so the fit can match
    its drawing, shrunk, to the small input."""
    h, w = x.shape[-2:]
    return F.interpolate(
        x, size=(h // scale, w // scale), mode="bicubic", antialias=True, align_corners=False
    )


def read_mask(mask: Image.Image, size: tuple[int, int]) -> torch.Tensor:
    """Holes to fill -> (1, 1, H, W) with 1 where the pixel is KNOWN. Painted (opaque, on an
    image with transparency) or bright pixels (on an opaque one) mark holes."""
    if mask.size != size:
        raise UserError(
            f"the mask is {mask.size[0]}x{mask.size[1]} px but the picture is {size[0]}x{size[1]}"
        )
    has_alpha = mask.mode in ("RGBA", "LA") or (mask.mode == "P" and "transparency" in mask.info)
    if has_alpha:
        alpha = np.asarray(mask.convert("RGBA"))[..., 3]
        hole = alpha > 0 if alpha.min() < 255 else np.asarray(mask.convert("L")) > 127
    else:
        hole = np.asarray(mask.convert("L")) > 127
    if hole.all():
        raise UserError("the mask covers the whole picture: nothing is left to learn from")
    return torch.from_numpy(~hole).float()[None, None]


@dataclass
class Corruption:
    """The observed picture and how the clean one maps onto it."""

    kind: str
    observed: torch.Tensor  # (1, 3, h, w): what the network must explain
    known: torch.Tensor | None = None  # inpaint: (1, 1, H, W), 1 where observed
    scale: int = 1  # upscale: the output is `scale` times the observed size

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise UserError(f"the corruption must be one of {KINDS}, got {self.kind!r}")
        if self.kind == "inpaint" and self.known is None:
            raise UserError("inpainting needs a mask of the holes (--mask)")
        if self.kind == "upscale" and self.scale < 2:
            raise UserError(f"upscaling needs a scale of at least 2, got {self.scale}")
        if self.kind != "upscale":
            self.scale = 1

    @property
    def output_size(self) -> tuple[int, int]:
        """(height, width) of the restored picture."""
        h, w = self.observed.shape[-2:]
        return h * self.scale, w * self.scale

    def loss(self, drawing: torch.Tensor) -> torch.Tensor:
        """Mean squared error between the drawing, seen through the corruption, and the input."""
        if self.kind == "upscale":
            return F.mse_loss(shrink(drawing, self.scale), self.observed)
        if self.kind == "inpaint":
            known = self.known.to(drawing.device)
            return ((drawing - self.observed) * known).pow(2).sum() / (known.sum() * 3)
        return F.mse_loss(drawing, self.observed)

    def finish(self, drawing: torch.Tensor) -> torch.Tensor:
        """The restored picture: for inpainting, the known pixels as observed and the drawing
        only in the holes (the drawing is a little softer everywhere); else the drawing."""
        if self.kind == "inpaint":
            return drawing * (1 - self.known) + self.observed * self.known
        return drawing

    def naive(self) -> torch.Tensor:
        """The picture without any prior, at the output size: the noisy input itself, holes grey,
        or a bicubic enlargement. What the prior has to beat, and what a UI shows as input."""
        if self.kind == "inpaint":
            return self.observed * self.known + 0.5 * (1 - self.known)
        if self.kind == "upscale":
            big = F.interpolate(self.observed, scale_factor=self.scale, mode="bicubic", align_corners=False)
            return big.clamp(0, 1)
        return self.observed


def corruption_of(
    kind: str, observed: Image.Image, mask: Image.Image | None = None, scale: int = 4
) -> Corruption:
    """A Corruption from the user's files: the corrupted picture, and the mask for inpainting."""
    picture = to_unit_tensor(observed)
    known = read_mask(mask, observed.size) if kind == "inpaint" and mask is not None else None
    return Corruption(kind, picture, known, scale)


def simulate(
    kind: str,
    clean: Image.Image,
    sigma: float = 25.0,
    mask: Image.Image | None = None,
    scale: int = 4,
    seed: int = 0,
) -> Corruption:
    """Corrupt a clean photo: Gaussian noise of `sigma` (on the 0-255 scale, clipped), the mask's
    holes blanked, or a `scale`-times smaller copy. The clean photo is the PSNR reference."""
    x = to_unit_tensor(clean)
    if kind == "denoise":
        if sigma <= 0:
            raise UserError(f"the noise level must be positive, got {sigma}")
        noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(seed))
        return Corruption(kind, (x + noise * sigma / 255.0).clamp(0, 1))
    if kind == "inpaint":
        if mask is None:
            raise UserError("inpainting needs a mask of the holes")
        known = read_mask(mask, clean.size)
        return Corruption(kind, x * known, known)
    if kind == "upscale":
        h, w = x.shape[-2:]
        if min(h, w) // scale < 8:
            raise UserError(f"a {w}x{h} px photo is too small to shrink {scale} times")
        return Corruption(kind, shrink(x[..., : h - h % scale, : w - w % scale], scale), scale=scale)
    raise UserError(f"the corruption must be one of {KINDS}, got {kind!r}")
