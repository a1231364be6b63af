"""Convolutions that run as one matrix product on small feature maps (CPU).

A 256 px U-Net's innermost levels run 4x4 convolutions with 4-8M weights on maps of 1 to 8 px.
There oneDNN spends its time reordering the weights into its blocked layout (forward and both
backward passes), not computing: unfold/fold around one matmul that reads the weight in the
layout it is stored in is several times faster there (`python bench/small_maps.py` times every
layer both ways). From 16 px up oneDNN wins and keeps the work. GPUs take the library path
always. At inference, where no gradient is needed, oneDNN with its weights reordered once at
load beats both (`fast_inference.py`). The modules are drop-in subclasses: same parameters,
same state-dict keys, same results (up to float rounding).

Their weights stay in the plain layout when a network moves to channels_last: the matmul reads
either layout in place, but fused Adam copies every channels_last tensor to a plain one and
back on each step, a cost with nothing to gain for these large weights.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

SMALL_MAP = 8  # largest input side that takes the matmul path (measured: bench/small_maps.py)


def takes_matmul_path(module: nn.Module, x: torch.Tensor) -> bool:
    """Plain (ungrouped, undilated, zero-padded) convolutions of small CPU maps."""
    return (
        x.device.type == "cpu"
        and x.dim() == 4
        and max(x.shape[-2:]) <= SMALL_MAP
        and module.groups == 1
        and module.dilation == (1, 1)
        and module.padding_mode == "zeros"
        and isinstance(module.padding, tuple)
    )


def weight_matrix(weight: torch.Tensor) -> tuple[torch.Tensor, bool]:
    """[A, B, kh, kw] -> ([A, B*kh*kw], True) for a plain weight, ([A, kh*kw*B], False) for a
    channels_last one: either way a view of the weight as stored, never a copy."""
    a, b, kh, kw = weight.shape
    if weight.is_contiguous():
        return weight.view(a, b * kh * kw), True
    return weight.permute(0, 2, 3, 1).reshape(a, kh * kw * b), False


class PlainWeight(nn.Module):
    """Keeps a CPU `weight` contiguous through `.to(memory_format=...)` and other conversions
    (on a GPU the library path runs, which wants the layout it was given)."""

    def _apply(self, fn, recurse: bool = True):
        super()._apply(fn, recurse)
        if self.weight.device.type == "cpu" and not self.weight.is_contiguous():
            self.weight.data = self.weight.data.contiguous()
        return self


class SmallMapConv2d(PlainWeight, nn.Conv2d):
    """nn.Conv2d that, on small CPU maps, multiplies im2col patches by the weight."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not takes_matmul_path(self, x):
            return super().forward(x)
        n, c_in, h, w = x.shape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        out_h, out_w = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
        weight, channels_first = weight_matrix(self.weight)
        patches = F.unfold(x, (kh, kw), padding=(ph, pw), stride=(sh, sw))  # N, c_in*kh*kw, L
        if channels_first:
            patches = patches.transpose(1, 2).reshape(-1, c_in * kh * kw)
        else:
            patches = patches.view(n, c_in, kh * kw, -1).permute(0, 3, 2, 1).reshape(-1, kh * kw * c_in)
        out = patches @ weight.t()  # N*L, c_out
        out = out.view(n, out_h, out_w, -1).permute(0, 3, 1, 2)  # NCHW shape, channels_last strides
        return out if self.bias is None else out + self.bias.view(1, -1, 1, 1)


class SmallMapConvTranspose2d(PlainWeight, nn.ConvTranspose2d):
    """nn.ConvTranspose2d that, on small CPU maps, multiplies each input pixel by the weight and
    overlap-adds the kernel-sized results (col2im)."""

    def forward(self, x: torch.Tensor, output_size: list[int] | None = None) -> torch.Tensor:
        if output_size is not None or self.output_padding != (0, 0) or not takes_matmul_path(self, x):
            return super().forward(x, output_size)
        n, c_in, h, w = x.shape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        out_h, out_w = (h - 1) * sh - 2 * ph + kh, (w - 1) * sw - 2 * pw + kw
        pixels = x.permute(0, 2, 3, 1).reshape(n * h * w, c_in)
        weight, channels_first = weight_matrix(self.weight)
        blocks = (pixels @ weight).view(n, h * w, -1)  # per pixel: c_out*kh*kw or kh*kw*c_out
        if channels_first:
            blocks = blocks.transpose(1, 2)
        else:
            blocks = blocks.view(n, h * w, kh * kw, -1).permute(0, 3, 2, 1).reshape(n, -1, h * w)
        out = F.fold(blocks, (out_h, out_w), (kh, kw), padding=(ph, pw), stride=(sh, sw))
        out = out.contiguous(memory_format=torch.channels_last)
        return out if self.bias is None else out + self.bias.view(1, -1, 1, 1)
