"""Small building blocks shared by the network families."""

from __future__ import annotations

from collections.abc import Iterable

import torch
import torch.nn.functional as F
from torch import nn

from engine.errors import UserError

NORMS = ("batch", "instance", "instance-affine", "none")


def norm_layer(kind: str, channels: int) -> nn.Module:
    """Normalisation by name. Instance norm has no running stats, as in the official code.

    'instance-affine' is what the official pix2pix really computes: batch norm at batch size 1,
    in train mode at test time too, is instance norm with a learned scale and shift. It keeps
    that behaviour at any batch size and in eval mode, where batch norm's running averages
    (drifting while inputs are augmented) give hazy, checkered backgrounds. Its keys are batch
    norm's, so a batch-norm model converts by dropping the running statistics."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    if kind == "instance-affine":
        return nn.InstanceNorm2d(channels, affine=True, track_running_stats=False)
    if kind == "none":
        return nn.Identity()
    raise UserError(f"unknown norm {kind!r}; choose one of {NORMS}")


class ImageStatsBatchNorm2d(nn.BatchNorm2d):
    """Batch norm that, in eval mode, normalises each image by its own statistics (instance norm
    with the learned scale and shift) instead of the running averages: what a network trained at
    batch size 1 saw in every step, and what pix2pix's test.py computes (train-mode norm, batch 1).
    Same state dict as nn.BatchNorm2d; training is unchanged."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            return super().forward(x)
        return F.instance_norm(x, weight=self.weight, bias=self.bias, eps=self.eps)


def image_statistics_at_test(nets: Iterable[nn.Module]) -> None:
    """Make every plain batch-norm layer of `nets` an ImageStatsBatchNorm2d (in place)."""
    for net in nets:
        for module in net.modules():
            if type(module) is nn.BatchNorm2d:
                module.__class__ = ImageStatsBatchNorm2d


def conv_bias(norm: str) -> bool:
    """A conv needs its own bias only when no norm layer with a learned shift follows it."""
    return norm in ("instance", "none")


def init_weights(net: nn.Module, gain: float = 0.02) -> nn.Module:
    """N(0, 0.02) init of the pix2pix/DCGAN papers (norm weights around 1)."""
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(getattr(m, "weight_orig", m.weight), 0.0, gain)  # spectral norm's own
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.InstanceNorm2d)) and m.weight is not None:
            nn.init.normal_(m.weight, 1.0, gain)
            nn.init.zeros_(m.bias)
    return net


class _DenseGradient(torch.autograd.Function):
    """Identity whose backward hands on the gradient in the input's memory layout."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        channels_last = x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last)
        ctx.layout = torch.channels_last if channels_last else torch.contiguous_format
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        return grad.contiguous(memory_format=ctx.layout)


def concat_channels(tensors: list[torch.Tensor]) -> torch.Tensor:
    """torch.cat on channels, for skip connections. Cat's backward hands each input a slice of
    the gradient, which in channels_last is dense in neither layout, and BatchNorm's backward on
    such a slice is several times slower than on a dense one. Copying the slice into the
    input's layout first is cheaper, and a whole pix2pix step faster (README.md: Training speed)."""
    if not torch.is_grad_enabled():
        return torch.cat(tensors, 1)
    return torch.cat([_DenseGradient.apply(t) if t.requires_grad else t for t in tensors], 1)
