"""The deep image prior's encoder-decoder with skips (Ulyanov et al. 2018, their `skip` net).

It is never trained on data: a fresh random one is fitted to one corrupted picture from a fixed
noise code. Strided convolutions go down, bilinear upsampling comes back, and a thin 1x1 skip
(4 channels in the paper) joins each level; LeakyReLU, batch norm and reflection padding as in
the paper. A level is a module holding the next one, so the recursion reads like the picture.
"""

from __future__ import annotations

import torch
from torch import nn


def conv_block(in_ch: int, out_ch: int, kernel: int, stride: int = 1) -> nn.Sequential:
    """Reflection-padded convolution, batch norm, LeakyReLU(0.2): the paper's unit. A 1x1
    convolution gets no padding layer (Identity keeps the indices of saved weights): CPU
    autocast runs reflection_pad2d in fp32, so even a zero padding cost a bf16 -> fp32 copy,
    a copy and a copy back, both ways (7-8% of a 256 px step). The 3x3 convolutions keep the
    fp32 padding: padding in bf16 saved 4% more but rounds the gradients at the borders
    differently, and astronaut's +4 dB at 280 steps did not survive that (README)."""
    return nn.Sequential(
        nn.ReflectionPad2d(kernel // 2) if kernel > 1 else nn.Identity(),
        nn.Conv2d(in_ch, out_ch, kernel, stride=stride, bias=False),
        nn.BatchNorm2d(out_ch),
        nn.LeakyReLU(0.2, inplace=True),
    )


class PriorLevel(nn.Module):
    """Down (stride 2) -> the deeper levels -> up, merged with a 1x1 skip of this level's input."""

    def __init__(self, in_ch: int, channels: int, skip_ch: int, inner: PriorLevel | None) -> None:
        super().__init__()
        self.skip = conv_block(in_ch, skip_ch, 1) if skip_ch else None
        self.down = nn.Sequential(conv_block(in_ch, channels, 3, stride=2), conv_block(channels, channels, 3))
        self.inner = inner if inner is not None else nn.Identity()
        self.upsample = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        merged = skip_ch + channels
        self.merge_norm = nn.BatchNorm2d(merged)
        self.out = nn.Sequential(conv_block(merged, channels, 3), conv_block(channels, channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        deep = self.upsample(self.inner(self.down(x)))
        if self.skip is not None:
            deep = torch.cat([self.skip(x), deep], dim=1)
        return self.out(self.merge_norm(deep))


class PriorNet(nn.Module):
    """Noise code (input_ch channels) -> RGB in [0, 1]. Sides must be multiples of 2**levels."""

    def __init__(self, input_ch: int = 32, channels: int = 128, skip_ch: int = 4, levels: int = 5) -> None:
        super().__init__()
        self.levels = levels
        level = None
        for depth in reversed(range(levels)):  # build from the innermost level outwards
            level = PriorLevel(input_ch if depth == 0 else channels, channels, skip_ch, level)
        self.body = level
        self.to_rgb = nn.Conv2d(channels, 3, 1)

    def forward(self, code: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.to_rgb(self.body(code)))
