"""Variational autoencoder (Kingma & Welling 2014): BCE reconstruction + beta * KL.

The encoder gives a mean and a log-variance; z = mean + exp(logvar / 2) * eps keeps the
sample differentiable. Pixels are Bernoulli means, so the reconstruction term is the BCE of
the decoder's logits against the image mapped to [0, 1], summed over pixels and averaged over
the batch (the ELBO's scale, where the KL weight beta = 1 means the true bound). Logged:
`recon`, `KL` and their weighted sum `loss`. Sample grids show input | reconstruction | a
decoded fixed z, so progress reads across steps.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from engine.data.image_folders import open_image_dataset
from engine.flags import BETA, LEARNING_RATE, SEED, WEIGHT, WIDTH, knob
from engine.models.dcgan import IMAGE_SIZES
from engine.models.vae import VAE, kl_divergence
from engine.tasks.base import Task, adam


@dataclass
class LatentConfig:
    """What every image autoencoder here shares (the plain autoencoder uses it as is)."""

    latent_dim: int = knob(64, "size of z (2 gives a latent map to plot)", span=(1, 4096))
    image_size: int = knob(32, "square side in pixels", IMAGE_SIZES)
    channels: int = knob(0, "1 or 3; 0 takes the data's (stored resolved)", (0, 1, 3))
    nf: int = knob(32, "width of the first encoder layer", span=WIDTH)
    lr: float = knob(1e-3, span=LEARNING_RATE)
    beta1: float = knob(0.9, span=BETA)
    beta2: float = knob(0.999, span=BETA)
    sample_seed: int = knob(0, "seed of the fixed z the sample grids decode", span=SEED)


@dataclass
class VAEConfig(LatentConfig):
    beta: float = knob(1.0, "weight of the KL term (beta-VAE when not 1)", span=WEIGHT)


class VAETask(Task):
    name = "vae"
    Config = VAEConfig
    kind = "latent"
    inference_networks = ("G",)  # one module holding encoder and decoder
    loss_titles = {"recon": "reconstruction (BCE)", "KL": "KL divergence", "loss": "ELBO loss"}
    variational = True

    @classmethod
    def build_served(cls, config: VAEConfig) -> dict[str, nn.Module]:
        return {"G": build_generator(config)}

    def __init__(self, config: LatentConfig, device, precision) -> None:
        super().__init__(config, device, precision)
        self.loss_names = ["recon", "KL", "loss"]
        self.visual_names = ["input", "reconstruction", "sample"]
        if config.channels:
            self._build()

    def _build(self) -> None:
        c = self.config
        self.nets["G"] = build_model(c, self.variational).to(self.device)
        self.optimizers["G"] = adam(self.nets["G"].parameters(), c.lr, (c.beta1, c.beta2))
        self.model = self.nets["G"]

    def make_dataset(self, data: str, phase: str, train: bool, skip_bad: bool = False):
        """Opens the images; the first call settles `channels` from the data and builds the nets."""
        dataset = open_image_dataset(data, phase, self.config.image_size, self.config.channels, skip_bad)
        if "G" not in self.nets:
            self.config.channels = dataset.channels
            self._build()
        return dataset

    def distribute(self, wrap) -> None:
        self.model = wrap(self.nets["G"])

    def objective(self, x: torch.Tensor, logits: torch.Tensor, mean, logvar) -> dict[str, torch.Tensor]:
        """Named losses; the last of loss_names is the one optimised."""
        recon = F.binary_cross_entropy_with_logits(logits.float(), (x.float() + 1) / 2, reduction="sum")
        recon = recon / len(x)
        kl = kl_divergence(mean, logvar)
        return {"recon": recon, "KL": kl, "loss": recon + self.config.beta * kl}

    def train_step(self, batch: dict) -> dict[str, torch.Tensor]:
        x = batch["image"].to(self.device)
        with self.precision.autocast():
            logits, mean, logvar = self.model(x)
        losses = self.objective(x, logits, mean, logvar)
        self.precision.step(losses[self.loss_names[-1]], self.optimizers["G"])
        return {k: v.detach() for k, v in losses.items()}

    @torch.no_grad()
    def visuals(self, batch: dict) -> dict[str, torch.Tensor]:
        net = self.nets["G"]
        x = batch["image"].to(self.device)
        with self.precision.autocast():
            logits, _, _ = net(x)  # eval mode: z is the mean
        out = {"input": x, "reconstruction": torch.sigmoid(logits.float()) * 2 - 1}
        if "sample" in self.visual_names:
            gen = torch.Generator().manual_seed(self.config.sample_seed)
            z = torch.randn(len(x), self.config.latent_dim, generator=gen).to(self.device)
            out["sample"] = net.decode(z)
        return out


def build_model(config: LatentConfig, variational: bool) -> VAE:
    if not config.channels:
        raise ValueError("channels is 0: it is settled from the data when training starts")
    return VAE(config.channels, config.image_size, config.latent_dim, config.nf, variational)


def build_generator(config: VAEConfig) -> nn.Module:
    """The whole VAE (encode, decode): inference interpolates between encoded images."""
    return build_model(config, variational=True)


TASK = VAETask
