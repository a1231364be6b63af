"""BicycleGAN (Zhu et al., NeurIPS 2017): pix2pix that answers one drawing with many shoes.

An outline does not say what a shoe is made of, so a generator trained toward one target paints
the average (brown). Here the U-Net also reads a latent code z (it scales and shifts the
normalised features of every decoder level, engine.models.unet.LookModulation; appended to the
input as constant maps, as the official code can, instance norm mostly removed it) and two
cycles tie z to the look of the photo:

- cVAE-GAN: the encoder E reads the target photo's look as a Gaussian, a code drawn from it
  makes G(A, z) rebuild the photo (L1, adversarial), and KL keeps E's codes near N(0, I);
- cLR-GAN: a random code z ~ N(0, I) must give a realistic shoe (adversarial) from which E reads
  z back (L1 on E's mean; E is held fixed for this term, as the official code does).

One unconditional PatchGAN judges both kinds of fakes (the official code can share its two Ds
as well). `lambda_ms` adds mode seeking (Mao et al. 2019, in DSGAN's capped form) on the pair
the step already has: shoes from two different codes should differ as much as the codes do.
The generator can start from a trained pix2pix model (`init_from`): the zero code leaves it
exactly as it was, hints and all, so the typical look is that model's. Drawings include
people's outlines (`outline_rate`, engine/data/outlines.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from engine.data.drawing import HINT_CHANNELS
from engine.errors import UserError
from engine.flags import BETA, LAYERS, LEARNING_RATE, SHARE, SIDE, WEIGHT, WIDTH, knob
from engine.losses import PLAIN_GAN_MODES, gan_loss, l1_loss
from engine.models.encoder import LatentEncoder, kl_to_standard_normal, sample_code
from engine.models.layers import NORMS
from engine.models.patchgan import build_discriminator
from engine.models.unet import UNetGenerator, depth_for_size
from engine.tasks.base import Task, adam
from engine.tasks.conditional import check_patches_fit
from engine.tasks.pix2pix import drawn_pairs, load_initial_weights, paint_hints

# look distance per code distance beyond which mode seeking stops pushing: two val photos of
# different shoes differ by about 0.44 (mean absolute, [-1, 1]) and two codes by about 1.1
MS_CAP = 0.25


@dataclass
class BicycleGANConfig:
    direction: str = knob("AtoB", "which half of an A|B pair is the input", ("AtoB", "BtoA"))
    load_size: int = knob(286, "resize to this before the random crop", span=SIDE)
    crop_size: int = knob(256, "training and output size", span=SIDE)
    nz: int = knob(8, "size of the latent code of a look", span=(1, 1024))
    ngf: int = knob(32, "generator width", span=WIDTH)
    ndf: int = knob(32, "discriminator width", span=WIDTH)
    nef: int = knob(32, "encoder width", span=WIDTH)
    n_layers: int = knob(3, "PatchGAN depth (3 gives 70x70 patches)", span=LAYERS)
    norm: str = knob("instance-affine", "generator normalisation", NORMS)
    dropout: bool = knob(False, "dropout in the generator (the code is the noise here)")
    gan_mode: str = knob("lsgan", "adversarial loss", PLAIN_GAN_MODES)
    lr: float = knob(2e-4, span=LEARNING_RATE)
    beta1: float = knob(0.5, span=BETA)
    beta2: float = knob(0.999, span=BETA)
    lambda_l1: float = knob(10.0, "weight of L1 between G(A, E(B)) and B", span=WEIGHT)
    lambda_kl: float = knob(0.01, "weight of KL(E(B) || N(0, I))", span=WEIGHT)
    lambda_z: float = knob(0.5, "weight of L1 between E(G(A, z)) and z", span=WEIGHT)
    lambda_gan: float = knob(1.0, "weight of each adversarial term", span=WEIGHT)
    lambda_ms: float = knob(0.0, "mode seeking: looks from different codes must differ", span=WEIGHT)
    drawing_aug: bool = knob(True, "redraw edge inputs like human drawings")
    outline_rate: float = knob(0.35, "share of drawings that are people's outlines", span=SHARE)
    hints: bool = knob(True, "the generator takes colour-hint channels")
    hint_rate: float = knob(0.65, "share of training pairs given hints", span=SHARE)
    new_lr_factor: float = knob(
        4.0,
        "learning-rate factor of the parts a pix2pix start lacks (look layers, encoder)",
        span=(1e-3, 1e3),
    )
    init_from: str = knob("", "start the generator from this pix2pix model (name, run or file)")

    def check(self) -> None:
        """Rules between fields (check_choices runs it after each field's own range)."""
        check_patches_fit(self.n_layers, self.crop_size)


class BicycleGAN(Task):
    name = "bicyclegan"
    Config = BicycleGANConfig
    kind = "image-to-image"
    inference_networks = ("G", "E")
    loss_titles = {
        "G_GAN": "generator adversarial loss, encoded code",
        "G_GAN2": "generator adversarial loss, random code",
        "G_L1": "L1 between G(A, E(B)) and B",
        "KL": "KL of the encoded code to N(0, I)",
        "z_L1": "L1 between E(G(A, z)) and z",
        "G_MS": "mode seeking: minus look distance per code distance",
        "D": "discriminator loss",
        "D_real": "discriminator loss on photos",
        "D_fake": "discriminator loss on generated shoes",
    }

    @classmethod
    def build_served(cls, config: BicycleGANConfig) -> dict[str, nn.Module]:
        in_channels = 3 + (HINT_CHANNELS if config.hints else 0)
        depth = depth_for_size(config.crop_size)
        generator = UNetGenerator(
            in_channels, 3, config.ngf, depth, config.norm, config.dropout, nz=config.nz
        )
        encoder = LatentEncoder(config.nz, config.nef, work_size=min(128, config.crop_size))
        return {"G": generator, "E": encoder}

    def __init__(self, config: BicycleGANConfig, device, precision) -> None:
        super().__init__(config, device, precision)
        if not 1 <= config.nz <= 256:
            raise UserError(f"--nz must be 1 to 256, got {config.nz}")
        self.loss_names = ["G_GAN", "G_GAN2", "G_L1", "KL", "z_L1", "D_real", "D_fake", "D"]
        if config.lambda_ms:
            self.loss_names.insert(5, "G_MS")
        self.visual_names = ["real_A", "fake_B", "fake_B_random", "fake_B_encoded", "real_B"]
        self.nets.update({k: v.to(device) for k, v in self.build_served(config).items()})
        self.nets["D"] = build_discriminator(1, 3, config.ndf, config.n_layers, "instance").to(device)
        betas = (config.beta1, config.beta2)
        new = [*self.nets["G"].looks.parameters(), *self.nets["E"].parameters()]  # absent from pix2pix
        known = [p for p in self.nets["G"].parameters() if all(p is not q for q in new)]
        groups = [{"params": known}, {"params": new, "lr": config.lr * config.new_lr_factor}]
        self.optimizers["G"] = adam(groups, config.lr, betas)
        self.optimizers["D"] = adam(self.nets["D"].parameters(), config.lr, betas)
        if config.init_from:
            load_initial_weights({"G": self.nets["G"]}, config.init_from)
        self.G, self.E, self.D = self.nets["G"], self.nets["E"], self.nets["D"]

    def make_dataset(self, data: str, phase: str, train: bool, skip_bad: bool = False):
        return drawn_pairs(self.config, data, phase, train, skip_bad)

    def distribute(self, wrap) -> None:
        self.G, self.E, self.D = wrap(self.nets["G"]), wrap(self.nets["E"]), wrap(self.nets["D"])

    def conditioned(self, batch: dict, key: str = "A", hints: bool = True) -> torch.Tensor:
        """The generator's input: A and the hint channels (zeros with hints=False)."""
        real_A = batch[key].to(self.device)
        if not self.config.hints:
            return real_A
        hint = batch["hint"].to(self.device)
        return torch.cat([real_A, hint if hints else torch.zeros_like(hint)], 1)

    def train_step(self, batch: dict) -> dict[str, torch.Tensor]:
        c = self.config
        real_B = batch["B"].to(self.device)
        z_random = torch.randn(len(real_B), c.nz, device=self.device)
        with self.precision.autocast():
            mu, logvar = self.E(real_B)
            z_encoded = sample_code(mu.float(), logvar.float())
            condition = self.conditioned(batch)
            fake_encoded = self.G(condition, z_encoded)
            fake_random = self.G(condition, z_random)
        losses = self.discriminator_step(real_B, fake_encoded, fake_random)
        self.D.requires_grad_(False)  # G's step scores its shoes through D without training it
        with self.precision.autocast():
            losses["G_GAN"] = gan_loss(self.D(fake_encoded), True, c.gan_mode, for_discriminator=False)
            losses["G_GAN2"] = gan_loss(self.D(fake_random), True, c.gan_mode, for_discriminator=False)
            self.E.requires_grad_(False)  # the code's recovery trains G alone
            recovered, _ = self.E(fake_random)
            self.E.requires_grad_(True)
        self.D.requires_grad_(True)
        losses["G_L1"] = l1_loss(fake_encoded, real_B)
        losses["KL"] = kl_to_standard_normal(mu.float(), logvar.float())
        losses["z_L1"] = l1_loss(recovered.float(), z_random)
        loss = c.lambda_gan * (losses["G_GAN"] + losses["G_GAN2"]) + c.lambda_l1 * losses["G_L1"]
        loss = loss + c.lambda_kl * losses["KL"] + c.lambda_z * losses["z_L1"]
        if c.lambda_ms:  # DSGAN's capped form: MSGAN's 1 / ratio explodes while the looks are alike
            apart = (fake_random.float() - fake_encoded.float()).abs().mean((1, 2, 3))
            codes_apart = (z_random - z_encoded).abs().mean(1)
            losses["G_MS"] = -(apart / (codes_apart + 1e-5)).clamp(max=MS_CAP).mean()
            loss = loss + c.lambda_ms * losses["G_MS"]
        self.precision.step(loss, self.optimizers["G"])
        return {k: v.detach() for k, v in losses.items()}

    def discriminator_step(self, real_B, fake_encoded, fake_random) -> dict[str, torch.Tensor]:
        mode = self.config.gan_mode
        with self.precision.autocast():
            pred_real = self.D(real_B)
            pred_fakes = [self.D(fake.detach()) for fake in (fake_encoded, fake_random)]
        losses = {
            "D_real": gan_loss(pred_real, True, mode),
            "D_fake": sum(gan_loss(p, False, mode) for p in pred_fakes) / 2,
        }
        losses["D"] = (losses["D_real"] + losses["D_fake"]) * 0.5
        self.precision.step(losses["D"], self.optimizers["D"])
        return losses

    @torch.no_grad()
    def generate(self, batch: dict, z: torch.Tensor, key: str = "A", hints: bool = True) -> torch.Tensor:
        with self.precision.autocast():
            return self.nets["G"](self.conditioned(batch, key, hints), z.to(self.device)).float()

    def zero_code(self, batch: dict) -> torch.Tensor:
        return torch.zeros(len(batch["B"]), self.config.nz)

    @torch.no_grad()
    def eval_outputs(self, batch: dict) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """The typical look (z = 0) of clean and drawing-style inputs without hints."""
        real_B = batch["B"].to(self.device)
        sets = {"": (self.generate(batch, self.zero_code(batch), hints=False), real_B)}
        if self.config.drawing_aug:
            sets["drawn"] = (self.generate(batch, self.zero_code(batch), "A_drawn", False), real_B)
        return sets

    @torch.no_grad()
    def visuals(self, batch: dict) -> dict[str, torch.Tensor]:
        real_B = batch["B"].to(self.device)
        z = torch.randn(len(real_B), self.config.nz, generator=torch.Generator().manual_seed(1))
        with self.precision.autocast():
            encoded = self.nets["E"](real_B)[0].float()
        real_A = batch["A"].to(self.device)
        if self.config.hints:
            real_A = paint_hints(real_A, batch["hint"].to(self.device))
        return {
            "real_A": real_A,
            "fake_B": self.generate(batch, self.zero_code(batch)),
            "fake_B_random": self.generate(batch, z),
            "fake_B_encoded": self.generate(batch, encoded),
            "real_B": real_B,
        }


TASK = BicycleGAN
