"""pix2pix (Isola et al. 2017): a U-Net maps A to B, trained with L1 alone or L1 + cGAN.

The discriminator is a PatchGAN that sees (A, B) pairs. Each iteration trains D on the mean
of its real and fake BCE, then G on BCE(D(A, G(A)), real) + lambda * L1, as the problem set.
`G_L1` is logged unweighted (mean absolute error), so runs with different lambdas compare.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from engine.data.datasets import open_paired_dataset
from engine.losses import PLAIN_GAN_MODES, gan_loss, l1_loss
from engine.models.patchgan import PatchGAN
from engine.models.unet import UNetGenerator, depth_for_size
from engine.tasks.base import Task

MODES = ("l1", "l1+cgan")


@dataclass
class Pix2PixConfig:
    mode: str = field(default="l1+cgan", metadata={"help": "l1 | l1+cgan", "choices": MODES})
    lambda_l1: float = field(default=100.0, metadata={"help": "weight of L1 against the cGAN loss"})
    gan_mode: str = field(default="vanilla", metadata={"choices": PLAIN_GAN_MODES})
    direction: str = field(default="AtoB", metadata={"choices": ("AtoB", "BtoA")})
    load_size: int = field(default=286, metadata={"help": "resize to this before the random crop"})
    crop_size: int = field(default=256, metadata={"help": "training and output size"})
    ngf: int = field(default=64, metadata={"help": "generator width (32 for lite models)"})
    ndf: int = 64
    n_layers: int = field(default=3, metadata={"help": "PatchGAN depth (3 gives 70x70 patches)"})
    norm: str = field(default="batch", metadata={"choices": ("batch", "instance", "none")})
    dropout: bool = True
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999


class Pix2Pix(Task):
    name = "pix2pix"
    Config = Pix2PixConfig

    def __init__(self, config: Pix2PixConfig, device, precision) -> None:
        super().__init__(config, device, precision)
        if config.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {config.mode!r}")
        self.use_gan = config.mode == "l1+cgan"
        self.loss_names = ["G_GAN", "G_L1", "D_real", "D_fake", "D"] if self.use_gan else ["G_L1"]
        self.visual_names = ["real_A", "fake_B", "real_B"]
        self.nets["G"] = build_generator(config).to(device)
        betas = (config.beta1, config.beta2)
        self.optimizers["G"] = torch.optim.Adam(self.nets["G"].parameters(), config.lr, betas=betas)
        if self.use_gan:
            self.nets["D"] = PatchGAN(6, config.ndf, config.n_layers, config.norm).to(device)
            self.optimizers["D"] = torch.optim.Adam(self.nets["D"].parameters(), config.lr, betas=betas)
        self.G, self.D = self.nets["G"], self.nets.get("D")

    def make_dataset(self, data: str, phase: str, train: bool, skip_bad: bool = False):
        c = self.config
        return open_paired_dataset(data, phase, c.direction, c.load_size, c.crop_size, train, skip_bad)

    def distribute(self, wrap) -> None:
        self.G = wrap(self.nets["G"])
        if self.use_gan:
            self.D = wrap(self.nets["D"])

    def train_step(self, batch: dict) -> dict[str, float]:
        real_A, real_B = batch["A"].to(self.device), batch["B"].to(self.device)
        with self.precision.autocast():
            fake_B = self.G(real_A)
        losses: dict[str, torch.Tensor] = {}
        if self.use_gan:
            with self.precision.autocast():
                pred_fake = self.D(torch.cat([real_A, fake_B.detach()], 1))
                pred_real = self.D(torch.cat([real_A, real_B], 1))
            losses["D_fake"] = gan_loss(pred_fake, False, self.config.gan_mode)
            losses["D_real"] = gan_loss(pred_real, True, self.config.gan_mode)
            losses["D"] = (losses["D_fake"] + losses["D_real"]) * 0.5
            self.precision.step(losses["D"], self.optimizers["D"])
        losses["G_L1"] = l1_loss(fake_B, real_B)
        loss_G = self.config.lambda_l1 * losses["G_L1"]
        if self.use_gan:
            d_plain = self.nets["D"]  # unwrapped: no gradient sync for D in G's step
            d_plain.requires_grad_(False)
            with self.precision.autocast():
                pred_fake = d_plain(torch.cat([real_A, fake_B], 1))
            d_plain.requires_grad_(True)
            losses["G_GAN"] = gan_loss(pred_fake, True, self.config.gan_mode, for_discriminator=False)
            loss_G = loss_G + losses["G_GAN"]
        self.precision.step(loss_G, self.optimizers["G"])
        return {k: float(v.detach()) for k, v in losses.items()}

    @torch.no_grad()
    def visuals(self, batch: dict) -> dict[str, torch.Tensor]:
        real_A = batch["A"].to(self.device)
        with self.precision.autocast():
            fake_B = self.nets["G"](real_A)
        return {"real_A": real_A, "fake_B": fake_B.float(), "real_B": batch["B"].to(self.device)}


def build_generator(config: Pix2PixConfig) -> nn.Module:
    return UNetGenerator(3, 3, config.ngf, depth_for_size(config.crop_size), config.norm, config.dropout)


TASK = Pix2Pix
