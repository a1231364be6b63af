"""DCGAN (Radford et al. 2016) and the improved GAN objectives, chosen by one option.

`gan_mode`: vanilla (the BCE of the paper) | lsgan | wgan-gp (Wasserstein critic with the
gradient penalty on random interpolates between real and fake, Gulrajani et al. 2017; D has no
batch norm, which would make the per-sample gradient meaningless) | hinge (with spectral norm
in D, Miyato et al. 2018). `conditional` feeds class labels to G (an embedding next to z) and
D (a projection). Each step trains D once and, every `n_critic` D steps, G once. Logged: G,
D, D_real, D_fake (and GP). Sample grids decode a fixed, seeded set of z: 8 x 8, or one row
per class when conditional, the same z across a column.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from engine.data.image_folders import open_image_dataset
from engine.errors import UserError
from engine.flags import BETA, LEARNING_RATE, SEED, WEIGHT, WIDTH, knob
from engine.losses import GAN_MODES, gan_loss, gradient_penalty
from engine.models.dcgan import IMAGE_SIZES, DCGANDiscriminator, DCGANGenerator
from engine.tasks.base import Task, adam

GRID = 8  # samples per row of the sample grid


@dataclass
class DCGANConfig:
    gan_mode: str = knob("vanilla", "vanilla (BCE) | lsgan | wgan-gp | hinge (spectral norm in D)", GAN_MODES)
    conditional: bool = knob(False, "class-conditional G and D (needs labels)")
    latent_dim: int = knob(100, "size of z", span=(1, 4096))
    image_size: int = knob(32, "square side in pixels", IMAGE_SIZES)
    channels: int = knob(0, "1 or 3; 0 takes the data's (stored resolved)", (0, 1, 3))
    num_classes: int = knob(0, "classes when conditional; 0 takes the data's", span=(0, 100_000))
    ngf: int = knob(64, "generator width (last layer)", span=WIDTH)
    ndf: int = knob(64, "discriminator width (first layer)", span=WIDTH)
    spectral_norm: bool = knob(False, "spectral norm in D (always on for hinge)")
    lambda_gp: float = knob(10.0, "weight of the WGAN-GP gradient penalty", span=WEIGHT)
    n_critic: int = knob(1, "D steps per G step (the WGAN-GP paper: 5)", span=(1, 100))
    lr: float = knob(2e-4, span=LEARNING_RATE)
    beta1: float = knob(0.5, span=BETA)
    beta2: float = knob(0.999, span=BETA)
    sample_seed: int = knob(0, "seed of the fixed z the sample grids decode", span=SEED)


class DCGANTask(Task):
    name = "dcgan"
    Config = DCGANConfig
    kind = "latent"
    inference_networks = ("G",)
    loss_titles = {
        "G": "generator loss",
        "D": "critic/discriminator loss",
        "D_real": "D on real images",
        "D_fake": "D on generated images",
        "GP": "gradient penalty",
    }

    @classmethod
    def build_served(cls, config: DCGANConfig) -> dict[str, nn.Module]:
        return {"G": build_generator(config)}

    def __init__(self, config: DCGANConfig, device, precision) -> None:
        super().__init__(config, device, precision)
        if config.gan_mode not in GAN_MODES:
            raise UserError(f"gan_mode must be one of {GAN_MODES}, got {config.gan_mode!r}")
        if config.n_critic < 1:
            raise UserError(f"n_critic must be at least 1, got {config.n_critic}")
        self.loss_names = ["G", "D", "D_real", "D_fake"] + (["GP"] if config.gan_mode == "wgan-gp" else [])
        self.visual_names = [f"z{j + 1}" for j in range(GRID)]
        if config.channels and (config.num_classes or not config.conditional):
            self._build()

    def _build(self) -> None:
        c = self.config
        self.nets["G"] = build_generator(c).to(self.device)
        self.nets["D"] = build_discriminator(c).to(self.device)
        for name, net in self.nets.items():
            self.optimizers[name] = adam(net.parameters(), c.lr, (c.beta1, c.beta2))
        self.G, self.D = self.nets["G"], self.nets["D"]

    def make_dataset(self, data: str, phase: str, train: bool, skip_bad: bool = False):
        """Opens the images; the first call settles channels (and classes) and builds the nets."""
        c = self.config
        dataset = open_image_dataset(data, phase, c.image_size, c.channels, skip_bad)
        if c.conditional and not dataset.num_classes:
            raise UserError(f"conditional needs labels: {data} has no classes (class subfolders)")
        if c.conditional and c.num_classes and dataset.num_classes > c.num_classes:
            raise UserError(f"{data} has {dataset.num_classes} classes, num_classes is {c.num_classes}")
        if "G" not in self.nets:
            c.channels = dataset.channels
            c.num_classes = (c.num_classes or dataset.num_classes) if c.conditional else 0
            self._build()
        return dataset

    def distribute(self, wrap) -> None:
        self.G, self.D = wrap(self.nets["G"]), wrap(self.nets["D"])

    def _d_steps(self) -> int:
        """D updates so far, read from its optimizer so a resumed run keeps the G/D rhythm."""
        state = next(iter(self.optimizers["D"].state.values()), {})
        return int(state.get("step", 0))

    def train_step(self, batch: dict) -> dict[str, torch.Tensor]:
        c = self.config
        real = batch["image"].to(self.device)
        labels = batch["label"].to(self.device) if c.conditional else None
        z = torch.randn(len(real), c.latent_dim, device=self.device)
        with self.precision.autocast():
            fake = self.G(z, labels)
            pred_real = self.D(real, labels)
            pred_fake = self.D(fake.detach(), labels)
        losses = {
            "D_real": gan_loss(pred_real, True, c.gan_mode),
            "D_fake": gan_loss(pred_fake, False, c.gan_mode),
        }
        losses["D"] = losses["D_real"] + losses["D_fake"]
        loss_D = losses["D"]
        if c.gan_mode == "wgan-gp":
            losses["GP"] = gradient_penalty(lambda x: self.D(x, labels), real, fake)
            loss_D = loss_D + c.lambda_gp * losses["GP"]
        self.precision.step(loss_D, self.optimizers["D"])
        if (self._d_steps() - 1) % c.n_critic == 0:  # G on the first step too: schedulers want it
            d_plain = self.nets["D"]  # unwrapped: no gradient sync for D in G's step
            d_plain.requires_grad_(False)
            with self.precision.autocast():
                pred = d_plain(fake, labels)
            d_plain.requires_grad_(True)
            losses["G"] = gan_loss(pred, True, c.gan_mode, for_discriminator=False)
            self.precision.step(losses["G"], self.optimizers["G"])
        return {k: v.detach() for k, v in losses.items()}

    @torch.no_grad()
    def visuals(self, batch: dict) -> dict[str, torch.Tensor]:
        """Columns z1..z8 of fixed codes; rows: 8 more codes, or the classes when conditional."""
        c = self.config
        rows = c.num_classes if c.conditional else GRID
        gen = torch.Generator().manual_seed(c.sample_seed)
        z = torch.randn(GRID if c.conditional else rows * GRID, c.latent_dim, generator=gen)
        labels = None
        if c.conditional:
            z = z.repeat(rows, 1)
            labels = torch.arange(rows).repeat_interleave(GRID).to(self.device)
        with self.precision.autocast():
            images = self.nets["G"](z.to(self.device), labels).float()
        images = images.view(rows, GRID, *images.shape[1:])
        return {name: images[:, j] for j, name in enumerate(self.visual_names)}


def build_generator(config: DCGANConfig) -> nn.Module:
    if not config.channels:
        raise ValueError("channels is 0: it is settled from the data when training starts")
    classes = config.num_classes if config.conditional else 0
    return DCGANGenerator(config.latent_dim, config.channels, config.image_size, config.ngf, classes)


def build_discriminator(config: DCGANConfig) -> nn.Module:
    plain = config.gan_mode in ("vanilla", "lsgan")  # batch norm breaks the GP; SN replaces it
    classes = config.num_classes if config.conditional else 0
    spectral = config.gan_mode == "hinge" or config.spectral_norm
    return DCGANDiscriminator(
        config.channels, config.image_size, config.ndf, classes, "batch" if plain else "none", spectral
    )


TASK = DCGANTask
