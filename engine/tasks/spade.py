"""SPADE / GauGAN (Park et al. 2019): label map -> photo with a generator whose every
normalisation is modulated by the map (engine.models.spade), hinge loss, spectral-norm
multi-scale PatchGANs (4 layers), feature matching and VGG19 perceptual losses, TTUR (D learns
4x faster, Adam betas 0 / 0.9). With `--z-dim` (256 in the paper) a style encoder maps the real
photo to a code (KL towards N(0, I), weight 0.05): at inference a reference photo sets the
style and random codes give different renderings of one map."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from engine.flags import BETA, LAYERS, LEARNING_RATE, WEIGHT, WIDTH, knob
from engine.models.spade import SPADEGenerator, StyleEncoder
from engine.models.vae import kl_divergence, reparameterize
from engine.tasks.label_to_image import LabelToImage, LabelToImageConfig


@dataclass
class SPADEConfig(LabelToImageConfig):
    n_layers: int = knob(4, "PatchGAN depth", span=LAYERS)
    gan_mode: str = knob("hinge", choices=("hinge", "lsgan", "vanilla"))
    lr: float = knob(1e-4, span=LEARNING_RATE)
    beta1: float = knob(0.0, span=BETA)
    beta2: float = knob(0.9, span=BETA)
    d_lr_ratio: float = knob(4.0, "D's lr / G's lr (TTUR)", span=(1e-3, 1e3))
    z_dim: int = knob(0, "style code size; 0: no style encoder", span=(0, 1024))
    spade_hidden: int = knob(128, "width of the nets that predict gamma/beta", span=WIDTH)
    lambda_kld: float = knob(0.05, "weight of the style code's KL", span=WEIGHT)


class SPADE(LabelToImage):
    name = "spade"
    Config = SPADEConfig
    inference_networks = ("G", "E")
    spectral_discriminator = True

    @classmethod
    def build_served(cls, config: SPADEConfig) -> dict[str, nn.Module]:
        classes = len(config.class_names)
        nets = {"G": SPADEGenerator(classes, config.ngf, config.crop_size, config.z_dim, config.spade_hidden)}
        if config.z_dim:
            nets["E"] = StyleEncoder(config.z_dim, config.ngf)
        return nets

    def extra_loss_names(self) -> list[str]:
        return ["KLD"] if self.config.z_dim else []

    def extra_loss_weight(self, name: str) -> float:
        return self.config.lambda_kld if name == "KLD" else 1.0

    def feature_matching_weight(self) -> float:
        return float(self.config.n_layers + 1)  # SPADE sums its layers' L1s

    def synthesize_for_training(self, labels, real) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        if not self.config.z_dim:
            return self.nets["G"](labels), {}
        mu, logvar = self.nets["E"](real)
        z = reparameterize(mu, logvar)
        return self.nets["G"](labels, z), {"KLD": kl_divergence(mu, logvar)}

    @torch.no_grad()
    def generate(self, labels: torch.Tensor, seed: int = 0) -> torch.Tensor:
        """Random style codes from a fixed seed, so held-out scores compare across steps."""
        labels = labels.to(self.device)
        z = None
        if self.config.z_dim:
            gen = torch.Generator().manual_seed(seed)
            z = torch.randn(len(labels), self.config.z_dim, generator=gen).to(self.device)
        with self.precision.autocast():
            return self.nets["G"](labels, z).float()


TASK = SPADE
