"""DCGAN (Radford et al. 2016) for 32 and 64 px, grayscale or RGB, optionally class-conditional.

G: z (+ a class embedding) -> 4x4 -> transposed convs doubling the size -> tanh image.
D: strided convs halving the size down to 4x4 -> one logit. Conditioning in D is a projection
(Miyato & Koyama 2018): logit + <embed(y), pooled features>, which works with every loss and
with spectral norm, unlike concatenating one-hot maps to the input.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from engine.errors import UserError
from engine.models.layers import init_weights, norm_layer

IMAGE_SIZES = (32, 64)


def stages_for_size(image_size: int) -> int:
    """Doublings between the 4x4 base and the image: 3 for 32 px, 4 for 64 px."""
    if image_size not in IMAGE_SIZES:
        raise UserError(f"image_size must be one of {IMAGE_SIZES}, got {image_size}")
    return int(math.log2(image_size // 4))


class DCGANGenerator(nn.Module):
    """z of `latent_dim` -> image in [-1, 1]; with num_classes > 0, labels pick the class."""

    def __init__(
        self,
        latent_dim: int = 100,
        channels: int = 1,
        image_size: int = 32,
        ngf: int = 64,
        num_classes: int = 0,
    ) -> None:
        super().__init__()
        self.latent_dim, self.num_classes = latent_dim, num_classes
        stages = stages_for_size(image_size)
        self.embed = nn.Embedding(num_classes, latent_dim) if num_classes else None
        width = ngf * 2 ** (stages - 1)
        in_dim = latent_dim * (2 if num_classes else 1)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(in_dim, width, 4, 1, 0, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(True),
        ]
        for _ in range(stages - 1):
            layers += [
                nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(width // 2),
                nn.ReLU(True),
            ]
            width //= 2
        layers += [nn.ConvTranspose2d(width, channels, 4, 2, 1), nn.Tanh()]
        self.model = nn.Sequential(*layers)
        init_weights(self)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if self.embed is not None:
            if labels is None:
                raise ValueError("this generator is class-conditional: pass labels")
            z = torch.cat([z, self.embed(labels)], 1)
        return self.model(z[:, :, None, None])


class DCGANDiscriminator(nn.Module):
    """Image -> one logit per image. `norm` 'none' for WGAN-GP and spectral-norm critics."""

    def __init__(
        self,
        channels: int = 1,
        image_size: int = 32,
        ndf: int = 64,
        num_classes: int = 0,
        norm: str = "batch",
        spectral: bool = False,
    ) -> None:
        super().__init__()
        stages = stages_for_size(image_size)
        layers: list[nn.Module] = [nn.Conv2d(channels, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        width = ndf
        for _ in range(stages - 1):
            layers += [
                nn.Conv2d(width, width * 2, 4, 2, 1, bias=norm != "batch"),
                norm_layer(norm, width * 2),
                nn.LeakyReLU(0.2, True),
            ]
            width *= 2
        self.features = nn.Sequential(*layers)
        self.head = nn.Conv2d(width, 1, 4, 1, 0)
        self.embed = nn.Embedding(num_classes, width) if num_classes else None
        init_weights(self)
        if self.embed is not None:
            nn.init.normal_(self.embed.weight, 0.0, 0.02)
        if spectral:  # after the init: a parametrized weight is computed, not assignable
            for m in [m for m in self.modules() if isinstance(m, (nn.Conv2d, nn.Embedding))]:
                spectral_norm(m)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = self.features(x)
        logit = self.head(h).flatten()
        if self.embed is not None:
            if labels is None:
                raise ValueError("this discriminator is class-conditional: pass labels")
            logit = logit + (self.embed(labels) * h.sum((2, 3))).sum(1)
        return logit
