"""The pix2pix U-Net generator (Isola et al. 2017), as the course problem set specifies.

Encoder C64-C128-C256-C512-C512-C512-C512-C512 (4x4, stride 2, pad 1; LeakyReLU 0.2; no norm
on the first layer), decoder C512-C512-C512-C512-C256-C128-C64 (ReLU) with skip
concatenation, then a transposed conv to the output channels and tanh. Dropout 0.5 sits in the
first three decoder blocks, as the paper and the problem set say (the official code puts it one
block later; dropout has no weights, so official checkpoints load either way).

Like the official `unet_256`, the innermost encoder layer has no norm (its map is 1x1, where
batch norm would zero it at batch size 1) and convolutions carry a bias only without batch
norm, so official checkpoints convert key for key (see `official.py`). The inner levels' convs
(maps of 8 px and less at the size it is built for) run as plain matrix products on a CPU,
where that is faster (`small_maps.py`).
"""

from __future__ import annotations

import torch
from torch import nn

from engine.errors import UserError
from engine.models.layers import concat_channels, conv_bias, init_weights, norm_layer
from engine.models.small_maps import SMALL_MAP, SmallMapConv2d, SmallMapConvTranspose2d


def unet_channels(depth: int, ngf: int) -> list[int]:
    """Output channels of each encoder layer: ngf, 2ngf, 4ngf, then 8ngf."""
    return [ngf * min(2**i, 8) for i in range(depth)]


class UNetGenerator(nn.Module):
    """U-Net with `depth` stride-2 levels; input sides must be multiples of 2**depth. Without
    `skips` it is the plain encoder-decoder the paper compares against: everything must pass
    the 1x1 bottleneck."""

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 3,
        ngf: int = 64,
        depth: int = 8,
        norm: str = "batch",
        dropout: bool = True,
        skips: bool = True,
        nz: int = 0,
    ) -> None:
        super().__init__()
        if depth < 2:
            raise ValueError("U-Net depth must be at least 2")
        self.depth, self.skips = depth, skips
        widen = 2 if skips else 1  # a decoder block's input: [skip, up] or up alone
        bias = conv_bias(norm)
        ch = unet_channels(depth, ngf)
        self.encoders = nn.ModuleList()
        for i in range(depth):
            c_in = in_channels if i == 0 else ch[i - 1]
            Conv = SmallMapConv2d if 2 ** (depth - i) <= SMALL_MAP else nn.Conv2d  # its input side
            conv = Conv(c_in, ch[i], 4, 2, 1, bias=bias)
            if i == 0:
                self.encoders.append(nn.Sequential(conv))
            elif i == depth - 1:
                self.encoders.append(nn.Sequential(nn.LeakyReLU(0.2, True), conv))
            else:
                self.encoders.append(nn.Sequential(nn.LeakyReLU(0.2, True), conv, norm_layer(norm, ch[i])))
        self.decoders = nn.ModuleList()
        for j in range(depth - 1):  # decoder j mirrors encoder level depth-1-j
            level = depth - 1 - j
            Up = SmallMapConvTranspose2d if 2**j <= SMALL_MAP else nn.ConvTranspose2d  # input side 2**j
            c_in = ch[level] if j == 0 else ch[level] * widen
            layers: list[nn.Module] = [
                nn.ReLU(True),
                Up(c_in, ch[level - 1], 4, 2, 1, bias=bias),
                norm_layer(norm, ch[level - 1]),
            ]
            if dropout and j < 3:
                layers.append(nn.Dropout(0.5))
            self.decoders.append(nn.Sequential(*layers))
        self.final = nn.Sequential(
            nn.ReLU(True), nn.ConvTranspose2d(ch[0] * widen, out_channels, 4, 2, 1), nn.Tanh()
        )
        init_weights(self)
        # a latent code's say in each decoder level (BicycleGAN)
        self.looks = (
            nn.ModuleList([LookModulation(nz, ch[depth - 2 - j]) for j in range(depth - 1)]) if nz else None
        )

    def forward(self, x: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        skips = []
        for enc in self.encoders:
            x = enc(x)
            skips.append(x)
        skips.pop()  # the innermost output feeds the decoder directly
        for j, dec in enumerate(self.decoders):
            up = dec(x)
            if self.looks is not None and z is not None:
                up = self.looks[j](up, z)
            x = concat_channels([skips.pop(), up]) if self.skips else up  # [skip, up], as the official code
        return self.final(x)


class LookModulation(nn.Module):
    """Scale and shift a decoder level's normalised features by a latent code, as AdaIN and
    StyleGAN do: instance norm removes each channel's mean, so a code appended to the input as
    constant maps is mostly normalised away, while a shift after the norm sets the colour and
    material the level draws. No bias and small weights: the zero code leaves a generator
    trained without codes exactly as it was, and other codes move it a little from the first
    step (zero weights would give the encoder no gradient until they grew)."""

    def __init__(self, nz: int, channels: int) -> None:
        super().__init__()
        self.scale_shift = nn.Linear(nz, 2 * channels, bias=False)
        nn.init.normal_(self.scale_shift.weight, 0.0, 0.02)

    def forward(self, features: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        scale, shift = self.scale_shift(z.to(features.dtype))[:, :, None, None].chunk(2, 1)
        return features * (1 + scale) + shift


def depth_for_size(size: int) -> int:
    """Depth that takes a square input down to 1x1 (256 -> 8, as `unet_256`)."""
    depth = max(size.bit_length() - 1, 2)
    if 2**depth != size:
        raise UserError(f"U-Net input size must be a power of two, got {size}")
    return depth
