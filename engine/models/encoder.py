"""The latent encoder of BicycleGAN (Zhu et al. 2017): a photo -> the Gaussian (mean, log-variance)
of the code that makes the generator draw that photo's look (colour, material).

As the official `E_ResNet`: a strided conv, residual blocks that halve the map, average pooling,
then two linear heads. The look of a shoe is global, so the code carries no position: pooling
over the whole map is what lets one code dress any drawing.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from engine.models.layers import init_weights


class DownBlock(nn.Module):
    """Two 3x3 convs and a 2x average pool, with a pooled 1x1 shortcut (a residual block)."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.LeakyReLU(0.2),
            nn.Conv2d(c_in, c_in, 3, 1, 1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(c_in, c_out, 3, 1, 1),
            nn.AvgPool2d(2),
        )
        self.shortcut = nn.Sequential(nn.AvgPool2d(2), nn.Conv2d(c_in, c_out, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + self.shortcut(x)


class LatentEncoder(nn.Module):
    """RGB in [-1, 1] (any size, read at `work_size`) -> (mu, logvar), each N x nz."""

    def __init__(self, nz: int = 8, nef: int = 32, blocks: int = 4, work_size: int = 128) -> None:
        super().__init__()
        self.nz, self.work_size = nz, work_size
        widths = [nef * min(2**i, 4) for i in range(blocks + 1)]
        layers: list[nn.Module] = [nn.Conv2d(3, widths[0], 4, 2, 1)]
        layers += [DownBlock(widths[i], widths[i + 1]) for i in range(blocks)]
        layers += [nn.LeakyReLU(0.2), nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        self.features = nn.Sequential(*layers)
        self.mu = nn.Linear(widths[-1], nz)
        self.logvar = nn.Linear(widths[-1], nz)
        init_weights(self)

    def forward(self, photo: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if photo.shape[-1] != self.work_size:  # the look, not the detail: a smaller photo is enough
            photo = F.interpolate(photo, size=(self.work_size, self.work_size), mode="area")
        h = self.features(photo)
        return self.mu(h), self.logvar(h)


def sample_code(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """The reparameterised draw mu + sigma * eps, so gradients reach the encoder."""
    return mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)


def kl_to_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, sigma^2) || N(0, I)), summed over the code, averaged over the batch."""
    return (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1)).mean()
