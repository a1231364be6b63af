"""SPADE (Park et al. 2019): normalisation whose scale and shift are predicted, pixel by pixel,
from the label map, so the layout survives normalisation instead of being washed out by it.

`SPADE` normalises without parameters, then modulates with gamma(map) and beta(map) from a small
conv net on the map resized to the activations; `SPADEResBlock` is the paper's residual block
(SPADE, LeakyReLU, 3x3 conv, twice, with a learned 1x1 shortcut when widths differ);
`SPADEGenerator` starts from the map (or a style code) at 1/32 size and upsamples through those
blocks; `StyleEncoder` turns a photo into the mean and log-variance of that code (the VAE
variant). Module names follow the official code (head_0, G_middle_0, up_0, conv_img, fc_mu...).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import spectral_norm

UPSAMPLINGS = 5  # the "normal" generator: 256 px from 8 px


class SPADE(nn.Module):
    """x -> norm(x) * (1 + gamma(map)) + beta(map)."""

    def __init__(self, channels: int, label_channels: int, hidden: int = 128) -> None:
        super().__init__()
        self.param_free_norm = nn.InstanceNorm2d(channels, affine=False)
        self.mlp_shared = nn.Sequential(nn.Conv2d(label_channels, hidden, 3, padding=1), nn.ReLU())
        self.mlp_gamma = nn.Conv2d(hidden, channels, 3, padding=1)
        self.mlp_beta = nn.Conv2d(hidden, channels, 3, padding=1)

    def modulation(self, segmap: torch.Tensor, size: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        """(gamma, beta) maps at `size`: what the Learn page shows."""
        shared = self.mlp_shared(F.interpolate(segmap, size=size, mode="nearest"))
        return self.mlp_gamma(shared), self.mlp_beta(shared)

    def forward(self, x: torch.Tensor, segmap: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.modulation(segmap, x.shape[-2:])
        return self.param_free_norm(x) * (1 + gamma) + beta


class SPADEResBlock(nn.Module):
    def __init__(
        self, fin: int, fout: int, label_channels: int, spectral: bool = True, hidden: int = 128
    ) -> None:
        super().__init__()
        middle = min(fin, fout)
        wrap = spectral_norm if spectral else (lambda m: m)
        self.conv_0 = wrap(nn.Conv2d(fin, middle, 3, padding=1))
        self.conv_1 = wrap(nn.Conv2d(middle, fout, 3, padding=1))
        self.norm_0 = SPADE(fin, label_channels, hidden)
        self.norm_1 = SPADE(middle, label_channels, hidden)
        self.learned_shortcut = fin != fout
        if self.learned_shortcut:
            self.conv_s = wrap(nn.Conv2d(fin, fout, 1, bias=False))
            self.norm_s = SPADE(fin, label_channels, hidden)

    def forward(self, x: torch.Tensor, segmap: torch.Tensor) -> torch.Tensor:
        shortcut = self.conv_s(self.norm_s(x, segmap)) if self.learned_shortcut else x
        dx = self.conv_0(F.leaky_relu(self.norm_0(x, segmap), 0.2))
        dx = self.conv_1(F.leaky_relu(self.norm_1(dx, segmap), 0.2))
        return shortcut + dx


class SPADEGenerator(nn.Module):
    """Label map (one-hot, N x classes x H x W) -> image; with `z_dim`, a style code sets the
    start instead of the downsampled map (the VAE variant: a reference photo picks the style).
    `hidden`: the width of every SPADE's conv net (128 in the paper; at full resolution these
    nets cost more than the blocks they modulate when the generator is narrow)."""

    def __init__(
        self, label_channels: int, ngf: int = 64, size: int = 256, z_dim: int = 0, hidden: int = 128
    ) -> None:
        super().__init__()
        if size % 2**UPSAMPLINGS:
            raise ValueError(f"SPADE needs a size divisible by {2**UPSAMPLINGS}, got {size}")
        self.start, self.ngf, self.z_dim = size // 2**UPSAMPLINGS, ngf, z_dim
        if z_dim:
            self.fc = nn.Linear(z_dim, 16 * ngf * self.start**2)
        else:
            self.fc = nn.Conv2d(label_channels, 16 * ngf, 3, padding=1)
        widths = [16, 16, 16, 16, 8, 4, 2, 1]
        names = ["head_0", "G_middle_0", "G_middle_1", "up_0", "up_1", "up_2", "up_3"]
        for name, fin, fout in zip(names, widths, widths[1:]):
            self.add_module(name, SPADEResBlock(fin * ngf, fout * ngf, label_channels, hidden=hidden))
        self.conv_img = nn.Conv2d(ngf, 3, 3, padding=1)

    def forward(self, segmap: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        if self.z_dim:
            if z is None:
                z = torch.randn(len(segmap), self.z_dim, device=segmap.device)
            x = self.fc(z).view(-1, 16 * self.ngf, self.start, self.start)
        else:
            x = self.fc(F.interpolate(segmap, size=(self.start, self.start), mode="nearest"))
        x = self.head_0(x, segmap)
        x = self.G_middle_0(F.interpolate(x, scale_factor=2), segmap)
        x = self.G_middle_1(x, segmap)
        for block in (self.up_0, self.up_1, self.up_2, self.up_3):
            x = block(F.interpolate(x, scale_factor=2), segmap)
        return torch.tanh(self.conv_img(F.leaky_relu(x, 0.2)))


class StyleEncoder(nn.Module):
    """Photo -> (mu, logvar) of the style code: stride-2 3x3 convs with instance norm down to
    4x4 (the photo is resized to 256 first), then two linear heads, as SPADE's ConvEncoder."""

    def __init__(self, z_dim: int = 256, ndf: int = 64) -> None:
        super().__init__()
        widths = [3, ndf, ndf * 2, ndf * 4, ndf * 8, ndf * 8, ndf * 8]
        layers: list[nn.Module] = []
        for fin, fout in zip(widths, widths[1:]):
            layers += [spectral_norm(nn.Conv2d(fin, fout, 3, 2, 1)), nn.InstanceNorm2d(fout, affine=False)]
            layers.append(nn.LeakyReLU(0.2))
        self.features = nn.Sequential(*layers, nn.Flatten())
        self.fc_mu = nn.Linear(ndf * 8 * 16, z_dim)
        self.fc_var = nn.Linear(ndf * 8 * 16, z_dim)

    def forward(self, photo: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if photo.shape[-2:] != (256, 256):
            photo = F.interpolate(photo, size=(256, 256), mode="bilinear", align_corners=False)
        h = self.features(photo)
        return self.fc_mu(h), self.fc_var(h)
