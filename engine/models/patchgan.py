"""PatchGAN discriminator (pix2pix's `basic` D) and its receptive field (problem 6.2)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from engine.models.layers import conv_bias, init_weights, norm_layer


class PatchGAN(nn.Module):
    """C64-C128-C256-C512 for n_layers=3: stride 2 except the last two convs, 1-channel map.

    Layout and keys match the official `NLayerDiscriminator`. `spectral` wraps the middle convs
    in spectral normalisation, as SPADE's discriminator does (with instance norm after them).
    """

    def __init__(
        self,
        in_channels: int = 6,
        ndf: int = 64,
        n_layers: int = 3,
        norm: str = "batch",
        spectral: bool = False,
    ):
        super().__init__()
        bias = conv_bias(norm)
        wrap = nn.utils.spectral_norm if spectral else (lambda conv: conv)
        layers: list[nn.Module] = [nn.Conv2d(in_channels, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, n_layers + 1):
            prev, mult = mult, min(2**n, 8)
            stride = 2 if n < n_layers else 1
            layers += [
                wrap(nn.Conv2d(ndf * prev, ndf * mult, 4, stride, 1, bias=bias)),
                norm_layer(norm, ndf * mult),
                nn.LeakyReLU(0.2, True),
            ]
        layers.append(nn.Conv2d(ndf * mult, 1, 4, 1, 1))
        self.model = nn.Sequential(*layers)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The activations after each LeakyReLU, then the output map (for feature matching)."""
        found = []
        for layer in self.model:
            x = layer(x)
            if isinstance(layer, nn.LeakyReLU):
                found.append(x)
        return found + [x]


class MultiScalePatchGAN(nn.Module):
    """pix2pixHD's multi-scale D: the same PatchGAN at full, 1/2, 1/4... resolution, so the
    coarse ones judge the whole shoe's shape while the full-size one judges texture."""

    def __init__(
        self,
        scales: int,
        in_channels: int = 6,
        ndf: int = 64,
        n_layers: int = 3,
        norm: str = "batch",
        spectral: bool = False,
    ):
        super().__init__()
        self.scales = nn.ModuleList(
            PatchGAN(in_channels, ndf, n_layers, norm, spectral) for _ in range(scales)
        )
        self.downsample = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return [found[-1] for found in self.features(x)]

    def features(self, x: torch.Tensor) -> list[list[torch.Tensor]]:
        """Each scale's `PatchGAN.features`, finest first."""
        found = []
        for i, net in enumerate(self.scales):
            found.append(net.features(x))
            if i + 1 < len(self.scales):
                x = self.downsample(x)
        return found


def build_discriminator(
    scales: int, in_channels: int, ndf: int, n_layers: int, norm: str, spectral: bool = False
) -> nn.Module:
    """One PatchGAN (the official layout and keys) or several at falling scales."""
    if scales == 1:
        return PatchGAN(in_channels, ndf, n_layers, norm, spectral)
    return MultiScalePatchGAN(scales, in_channels, ndf, n_layers, norm, spectral)


def scale_outputs(net: nn.Module, x: torch.Tensor) -> list[list[torch.Tensor]]:
    """Features then output map of every scale, as a list per scale for either kind of D."""
    found = net.features(x)
    return found if isinstance(net, MultiScalePatchGAN) else [found]


@dataclass
class ConvLayerField:
    """Receptive field after one conv layer, for a given input size."""

    layer: int
    kernel: int
    stride: int
    padding: int
    receptive_field: int
    jump: int  # distance in input pixels between neighbouring outputs
    out_size: int
    out_channels: int


def receptive_fields(net: nn.Module, input_size: int = 256) -> list[ConvLayerField]:
    """Walk the convs in order: r += (k - 1) * jump; jump *= stride."""
    rows, rf, jump, size = [], 1, 1, input_size
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    for i, conv in enumerate(convs, start=1):
        k, s, p = conv.kernel_size[0], conv.stride[0], conv.padding[0]
        rf += (k - 1) * jump
        jump *= s
        size = (size + 2 * p - k) // s + 1
        rows.append(ConvLayerField(i, k, s, p, rf, jump, size, conv.out_channels))
    return rows


def patchgan_receptive_fields(n_layers: int = 3, input_size: int = 256) -> list[ConvLayerField]:
    """Receptive field after each layer of a PatchGAN of this depth (70x70 for n_layers=3)."""
    return receptive_fields(PatchGAN(ndf=1, n_layers=n_layers, norm="none"), input_size)
