"""Plain convolutional autoencoder with an L2 reconstruction loss.

The VAE's networks with a deterministic bottleneck (no log-variance, no sampling): the
baseline that shows why a VAE is needed, since decoding random z from an autoencoder gives
no clothes, only blur. Logged: `L2`, the mean squared error in [-1, 1] pixels. Sample grids
show input | reconstruction.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from engine.tasks.vae import LatentConfig, VAETask, build_model


@dataclass
class AutoencoderConfig(LatentConfig):
    pass


class AutoencoderTask(VAETask):
    name = "autoencoder"
    Config = AutoencoderConfig
    variational = False
    loss_titles = {"L2": "reconstruction (MSE)"}

    @classmethod
    def build_served(cls, config: AutoencoderConfig) -> dict[str, nn.Module]:
        return {"G": build_generator(config)}

    def __init__(self, config: AutoencoderConfig, device, precision) -> None:
        super().__init__(config, device, precision)
        self.loss_names = ["L2"]
        self.visual_names = ["input", "reconstruction"]

    def objective(self, x: torch.Tensor, logits: torch.Tensor, mean, logvar) -> dict[str, torch.Tensor]:
        return {"L2": F.mse_loss(torch.sigmoid(logits.float()) * 2 - 1, x.float())}


def build_generator(config: AutoencoderConfig) -> nn.Module:
    """Encoder and decoder: inference encodes images and decodes (interpolated) codes."""
    return build_model(config, variational=False)


TASK = AutoencoderTask
