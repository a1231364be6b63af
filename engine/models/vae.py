"""Convolutional (variational) autoencoder for 32 and 64 px images (Kingma & Welling 2014).

The encoder halves the image down to 4x4 and maps it to a mean and a log-variance (the log
keeps the variance positive without a constraint and is stable to optimise). The decoder
mirrors it and returns logits: sigmoid(logits) is the Bernoulli mean the BCE loss wants, and
`decode` maps that to [-1, 1] like every other generator here. With `variational=False` the
bottleneck is deterministic: the plain autoencoder of the same shape.
"""

from __future__ import annotations

import torch
from torch import nn

from engine.models.dcgan import stages_for_size
from engine.models.layers import init_weights


class ConvEncoder(nn.Module):
    """Image in [-1, 1] -> (mean, log-variance); log-variance is None when deterministic."""

    def __init__(self, channels: int, image_size: int, latent_dim: int, nf: int, variational: bool) -> None:
        super().__init__()
        stages = stages_for_size(image_size)
        layers: list[nn.Module] = [nn.Conv2d(channels, nf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        width = nf
        for _ in range(stages - 1):
            layers += [nn.Conv2d(width, width * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(width * 2)]
            layers.append(nn.LeakyReLU(0.2, True))
            width *= 2
        self.features = nn.Sequential(*layers, nn.Flatten())
        self.mean = nn.Linear(width * 16, latent_dim)
        self.logvar = nn.Linear(width * 16, latent_dim) if variational else None

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        h = self.features(x)
        return self.mean(h), self.logvar(h) if self.logvar is not None else None


class ConvDecoder(nn.Module):
    """z -> logits of the image (apply sigmoid for pixel intensities in [0, 1])."""

    def __init__(self, latent_dim: int, channels: int, image_size: int, nf: int) -> None:
        super().__init__()
        stages = stages_for_size(image_size)
        self.width = nf * 2 ** (stages - 1)
        self.project = nn.Linear(latent_dim, self.width * 16)
        layers: list[nn.Module] = [nn.BatchNorm2d(self.width), nn.ReLU(True)]
        width = self.width
        for _ in range(stages - 1):
            layers += [nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(width // 2)]
            layers.append(nn.ReLU(True))
            width //= 2
        layers.append(nn.ConvTranspose2d(width, channels, 4, 2, 1))
        self.model = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.model(self.project(z).view(z.shape[0], self.width, 4, 4))  # a traceable batch


class VAE(nn.Module):
    """encoder + decoder; `forward` samples z by reparameterisation while training."""

    def __init__(
        self,
        channels: int = 1,
        image_size: int = 32,
        latent_dim: int = 64,
        nf: int = 32,
        variational: bool = True,
    ) -> None:
        super().__init__()
        self.latent_dim, self.variational = latent_dim, variational
        self.encoder = ConvEncoder(channels, image_size, latent_dim, nf, variational)
        self.decoder = ConvDecoder(latent_dim, channels, image_size, nf)
        init_weights(self)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Latent codes -> images in [-1, 1]."""
        return torch.sigmoid(self.decoder(z).float()) * 2 - 1

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """-> (reconstruction logits, mean, log-variance). z is sampled only in training mode."""
        mean, logvar = self.encoder(x)
        z = reparameterize(mean, logvar) if self.training and logvar is not None else mean
        return self.decoder(z), mean, logvar


def reparameterize(
    mean: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None = None
) -> torch.Tensor:
    """z = mean + exp(logvar / 2) * eps, eps ~ N(0, I): a sample gradients flow through."""
    eps = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
    return mean + torch.exp(0.5 * logvar) * eps


def kl_divergence(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, exp(logvar)) || N(0, I)) in closed form, summed over dims, averaged over the batch."""
    mean, logvar = mean.float(), logvar.float()
    return (-0.5 * (1 + logvar - mean.pow(2) - logvar.exp()).sum(1)).mean()
