"""The Gatys losses and the colour conversions style transfer uses around them.

The losses are relative (squared error divided by the target's squared norm), so one set of
weights works for any image size, any style layer and both VGG weight families.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from engine.style.schedule import resize

# RGB -> YCbCr (JPEG/BT.601 rows); Y's row sums to 1 and the chroma rows to 0, so the same
# matrix maps images in [-1, 1] consistently
YCBCR = torch.tensor([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]])


class _Gram(torch.autograd.Function):
    """X^T X / n for X (B, pixels, C), with a one-product backward: autograd's own takes two
    products (one per factor) where X (dG + dG^T) / n is the same; the Gram products were a
    sixth of a 256 px step's CPU (torch.profiler), and their backward two thirds of that. The
    products run in X's precision (bf16 under autocast: a third of fp32's time on the
    development CPU, fp32 accumulation inside), the Gram comes out in fp32."""

    @staticmethod
    def forward(ctx, pixels: torch.Tensor, n: int) -> torch.Tensor:
        ctx.save_for_backward(pixels)
        ctx.n = n
        return torch.bmm(pixels.transpose(1, 2), pixels).float().div_(n)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        (pixels,) = ctx.saved_tensors
        return torch.bmm(pixels, (grad + grad.transpose(1, 2)).to(pixels.dtype)).div_(ctx.n), None


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B, C, C) feature correlations in fp32, divided by C*H*W so size doesn't
    matter. bf16 features (VGG's under autocast) are multiplied in bf16, others in fp32 (fp16's
    range would overflow). Channels-last features (VGG's here) are read as (B, H*W, C) without
    reordering their memory."""
    b, c, h, w = features.shape
    pixels = features.permute(0, 2, 3, 1).reshape(b, h * w, c)  # a view when channels_last
    return _Gram.apply(pixels if pixels.dtype == torch.bfloat16 else pixels.float(), c * h * w)


def relative_sq_error(x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """sum((x - target)^2) / sum(target^2): scale-free, so layers and weight sets compare."""
    target = target.float()
    return (x.float() - target).pow(2).sum() / target.pow(2).sum().clamp_min(1e-12)


def content_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """How far the picture's activations at the content layer are from the photo's."""
    return relative_sq_error(features, target)


def style_loss(
    features: Sequence[torch.Tensor], target_grams: Sequence[torch.Tensor], layer_weights: Sequence[float]
) -> torch.Tensor:
    """Weighted sum over layers of the Gram matrices' relative squared error."""
    return sum(
        w * relative_sq_error(gram_matrix(f), g) for f, g, w in zip(features, target_grams, layer_weights)
    )


def tv_loss(image: torch.Tensor) -> torch.Tensor:
    """Mean squared difference of neighbouring pixels: smooth (L-BFGS-friendly) denoising."""
    dx = image[..., :, 1:] - image[..., :, :-1]
    dy = image[..., 1:, :] - image[..., :-1, :]
    return dx.pow(2).mean() + dy.pow(2).mean()


def rgb_to_ycbcr(x: torch.Tensor) -> torch.Tensor:
    """(..., 3, H, W) RGB -> Y, Cb, Cr with the same value range conventions."""
    return torch.einsum("ij,...jhw->...ihw", YCBCR.to(x), x)


def ycbcr_to_rgb(x: torch.Tensor) -> torch.Tensor:
    """The exact inverse of rgb_to_ycbcr."""
    return torch.einsum("ij,...jhw->...ihw", torch.linalg.inv(YCBCR).to(x), x)


def keep_chroma(styled: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """The styled picture's luminance with the content's Cb/Cr (content resized to fit)."""
    if content.shape[-2:] != styled.shape[-2:]:
        content = resize(content, styled.shape[-2:])
    y = rgb_to_ycbcr(styled)[..., :1, :, :]
    return ycbcr_to_rgb(torch.cat([y, rgb_to_ycbcr(content)[..., 1:, :, :]], dim=-3))


def luminance(x: torch.Tensor, like: torch.Tensor | None = None) -> torch.Tensor:
    """Grey three-channel image of x's Y; with `like`, Y is matched to like's mean and std
    (Gatys et al. 2016, colour preservation by luminance-only transfer)."""
    y = rgb_to_ycbcr(x)[..., :1, :, :]
    if like is not None:
        ref = rgb_to_ycbcr(like)[..., :1, :, :]
        y = (y - y.mean()) / y.std().clamp_min(1e-6) * ref.std() + ref.mean()
    return y.expand_as(x).contiguous()
