"""pix2pix (Isola et al. 2017): a U-Net maps A to B, trained with L1 alone or L1 + cGAN, or
with any objective of the paper's loss study (its Table 1): `mode` l1 | gan | cgan | l1+gan |
l1+cgan.

The discriminator is a PatchGAN that sees (A, B) pairs (cgan), or B alone (gan: an
unconditional D, whose first conv takes the output's 3 channels). Each iteration trains D on
the mean of its real and fake BCE, then G on BCE(D(A, G(A)), real) + lambda * L1, as the
problem set; `gan` and `cgan` drop the L1 term. `G_L1` is logged unweighted (mean absolute
error) in every mode, so runs with different lambdas or objectives compare.

Options beyond the paper: `drawing_aug` redraws each edge input as a person might draw it;
`hints` gives the generator four more input channels (colour dabs + their mask, sampled from
the target while training, often none); `init_from` starts from a trained model (new hint
channels start at zero weight, so it begins exactly where that model was); `lambda_fm` adds
the discriminator feature-matching loss of pix2pixHD, `lambda_vgg` its VGG19 perceptual loss
and `d_scales` its multi-scale discriminator.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from engine.data.datasets import open_paired_dataset
from engine.data.drawing import HINT_CHANNELS, DrawingStyle, PairAugment
from engine.errors import UserError
from engine.flags import BETA, LAYERS, LEARNING_RATE, SHARE, SIDE, WEIGHT, WIDTH, knob
from engine.losses import (
    PLAIN_GAN_MODES,
    PerceptualLoss,
    l1_loss,
)
from engine.models.layers import NORMS
from engine.models.patchgan import build_discriminator
from engine.models.unet import UNetGenerator, depth_for_size
from engine.models.vgg import load_vgg19
from engine.tasks.base import Task, adam
from engine.tasks.conditional import check_patches_fit, discriminator_losses, generator_gan_losses

MODES = ("l1", "gan", "cgan", "l1+gan", "l1+cgan")


@dataclass
class Pix2PixConfig:
    mode: str = knob(
        "l1+cgan", "objective: l1 | gan | cgan | l1+gan | l1+cgan (gan: D sees the output alone)", MODES
    )
    lambda_l1: float = knob(100.0, "weight of L1 against the cGAN loss", span=WEIGHT)
    gan_mode: str = knob("vanilla", choices=PLAIN_GAN_MODES)
    direction: str = knob("AtoB", choices=("AtoB", "BtoA"))
    load_size: int = knob(286, "resize to this before the random crop", span=SIDE)
    crop_size: int = knob(256, "training and output size", span=SIDE)
    ngf: int = knob(64, "generator width (32 for lite models)", span=WIDTH)
    ndf: int = knob(64, span=WIDTH)
    n_layers: int = knob(3, "PatchGAN depth (3 gives 70x70 patches)", span=LAYERS)
    norm: str = knob("batch", choices=NORMS)
    dropout: bool = True
    skips: bool = knob(True, "U-Net skips (--no-skips: a plain encoder-decoder)")
    lr: float = knob(2e-4, span=LEARNING_RATE)
    beta1: float = knob(0.5, span=BETA)
    beta2: float = knob(0.999, span=BETA)
    drawing_aug: bool = knob(False, "redraw edge inputs like human drawings")
    outline_rate: float = knob(
        0.0, "with drawing_aug: share of drawings that are people's outlines", span=SHARE
    )
    hints: bool = knob(False, "the generator takes colour-hint channels")
    hint_rate: float = knob(0.65, "share of training pairs given hints", span=SHARE)
    init_from: str = knob("", "start from this model (name, run or file)")
    lambda_fm: float = knob(0.0, "discriminator feature matching weight", span=WEIGHT)
    lambda_vgg: float = knob(0.0, "VGG19 perceptual loss weight", span=WEIGHT)
    d_scales: int = knob(1, "PatchGANs at 1, 1/2, 1/4... scale (pix2pixHD)", span=(1, 4))

    def check(self) -> None:
        """Rules between fields (check_choices runs it after each field's own range)."""
        if self.mode != "l1":  # an L1-only model has no discriminator
            check_patches_fit(self.n_layers, self.crop_size, self.d_scales)


class Pix2Pix(Task):
    name = "pix2pix"
    Config = Pix2PixConfig
    kind = "image-to-image"
    loss_titles = {
        "G_GAN": "generator adversarial loss (cGAN, or GAN in the gan modes)",
        "G_L1": "generator L1 loss",
        "G_FM": "discriminator feature matching",
        "G_VGG": "VGG19 perceptual loss",
        "D": "discriminator loss",
        "D_real": "discriminator loss on real pairs",
        "D_fake": "discriminator loss on generated pairs",
    }

    @classmethod
    def build_served(cls, config: Pix2PixConfig) -> dict[str, nn.Module]:
        return {"G": build_generator(config)}

    def __init__(self, config: Pix2PixConfig, device, precision) -> None:
        super().__init__(config, device, precision)
        if config.mode not in MODES:
            raise UserError(f"mode must be one of {MODES}, got {config.mode!r}")
        if not 1 <= config.d_scales <= 4:
            raise UserError(f"--d-scales must be 1 to 4, got {config.d_scales}")
        self.use_gan = config.mode != "l1"
        self.conditional = "cgan" in config.mode  # D judges (A, B) pairs; else B alone
        self.use_l1 = config.mode.startswith("l1")  # G_L1 is logged either way
        self.loss_names = ["G_GAN", "G_L1", "D_real", "D_fake", "D"] if self.use_gan else ["G_L1"]
        if config.lambda_fm and self.use_gan:
            self.loss_names.insert(2, "G_FM")
        if config.lambda_vgg:
            self.loss_names.insert(self.loss_names.index("G_L1") + 1, "G_VGG")
        self.visual_names = ["real_A", "hints", "fake_B"] if config.hints else ["real_A", "fake_B"]
        if config.drawing_aug:
            self.visual_names += ["drawn_A", "fake_B_drawn"]
        self.visual_names.append("real_B")
        self.nets["G"] = build_generator(config).to(device)
        betas = (config.beta1, config.beta2)
        self.optimizers["G"] = adam(self.nets["G"].parameters(), config.lr, betas)
        if self.use_gan:
            d_in = 6 if self.conditional else 3
            d_args = (config.d_scales, d_in, config.ndf, config.n_layers, config.norm)
            self.nets["D"] = build_discriminator(*d_args).to(device)
            self.optimizers["D"] = adam(self.nets["D"].parameters(), config.lr, betas)
        if config.init_from:
            load_initial_weights(self.nets, config.init_from)
        self.G, self.D = self.nets["G"], self.nets.get("D")
        self.perceptual = None
        if config.lambda_vgg:
            vgg = load_vgg19().to(device, memory_format=torch.channels_last)
            self.perceptual = PerceptualLoss(vgg)

    def make_dataset(self, data: str, phase: str, train: bool, skip_bad: bool = False):
        return drawn_pairs(self.config, data, phase, train, skip_bad)

    def generator_input(self, batch: dict, key: str = "A") -> torch.Tensor:
        """A, with the hint channels appended when the generator takes them."""
        real_A = batch[key].to(self.device)
        if not self.config.hints:
            return real_A
        return torch.cat([real_A, batch["hint"].to(self.device)], 1)

    def distribute(self, wrap) -> None:
        self.G = wrap(self.nets["G"])
        if self.use_gan:
            self.D = wrap(self.nets["D"])

    def train_step(self, batch: dict) -> dict[str, torch.Tensor]:
        real_A, real_B = batch["A"].to(self.device), batch["B"].to(self.device)
        with self.precision.autocast():
            fake_B = self.G(self.generator_input(batch))
        losses: dict[str, torch.Tensor] = {}
        mode = self.config.gan_mode
        condition = real_A if self.conditional else None  # an unconditional D sees B alone
        if self.use_gan:
            losses.update(discriminator_losses(self.D, condition, real_B, fake_B, mode, self.precision))
            self.precision.step(losses["D"], self.optimizers["D"])
        losses["G_L1"] = l1_loss(fake_B, real_B)
        loss_G = self.config.lambda_l1 * losses["G_L1"] if self.use_l1 else fake_B.new_zeros(())
        if self.perceptual is not None:
            with self.precision.autocast():
                losses["G_VGG"] = self.perceptual(fake_B, real_B)
            loss_G = loss_G + self.config.lambda_vgg * losses["G_VGG"]
        if self.use_gan:
            fm = bool(self.config.lambda_fm)
            d_plain = self.nets["D"]  # unwrapped: no gradient sync for D in G's step
            gan = generator_gan_losses(d_plain, condition, real_B, fake_B, mode, self.precision, fm)
            losses["G_GAN"] = gan["G_GAN"]
            if fm:
                losses["G_FM"] = gan["FM"]
            loss_G = loss_G + losses["G_GAN"] + self.config.lambda_fm * losses.get("G_FM", 0.0)
        self.precision.step(loss_G, self.optimizers["G"])
        return {k: v.detach() for k, v in losses.items()}

    @torch.no_grad()
    def generate(self, batch: dict, key: str = "A") -> torch.Tensor:
        with self.precision.autocast():
            return self.nets["G"](self.generator_input(batch, key)).float()

    @torch.no_grad()
    def eval_outputs(self, batch: dict) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """Clean inputs without hints (the main set), drawing-style inputs, and with hints."""
        real_B = batch["B"].to(self.device)
        plain = {**batch, "hint": torch.zeros_like(batch["hint"])} if self.config.hints else batch
        sets = {"": (self.generate(plain), real_B)}
        if self.config.drawing_aug:
            sets["drawn"] = (self.generate(plain, "A_drawn"), real_B)
        if self.config.hints:
            sets["hints"] = (self.generate(batch), real_B)
        return sets

    @torch.no_grad()
    def visuals(self, batch: dict) -> dict[str, torch.Tensor]:
        real_A = batch["A"].to(self.device)
        shown = {"real_A": real_A, "fake_B": self.generate(batch), "real_B": batch["B"].to(self.device)}
        if self.config.hints:
            shown["hints"] = paint_hints(real_A, batch["hint"].to(self.device))
        if self.config.drawing_aug:
            shown["drawn_A"] = batch["A_drawn"].to(self.device)
            shown["fake_B_drawn"] = self.generate(batch, "A_drawn")
        return shown


def drawn_pairs(config, data: str, phase: str, train: bool, skip_bad: bool = False):
    """A paired split whose edge inputs are redrawn as people draw (`drawing_aug`: as training
    drawings, or beside the clean input for held-out scoring) and colour hints sampled from the
    targets (`hints`); what pix2pix and BicycleGAN train on."""
    c = config
    drawing = ("replace" if train else "extra") if c.drawing_aug else "off"
    augment = None
    if drawing != "off" or c.hints:
        style = DrawingStyle(simple_outline=c.outline_rate)
        augment = PairAugment(drawing, c.hints, hint_rate=c.hint_rate, style=style)
    return open_paired_dataset(data, phase, c.direction, c.load_size, c.crop_size, train, skip_bad, augment)


def paint_hints(image: torch.Tensor, hint: torch.Tensor) -> torch.Tensor:
    """The input with its colour dabs painted over it (to see what the generator was told)."""
    mask = hint[:, 3:4]
    return image * (1 - mask) + hint[:, :3] * mask


def build_generator(config: Pix2PixConfig) -> nn.Module:
    in_channels = 3 + (HINT_CHANNELS if config.hints else 0)
    depth = depth_for_size(config.crop_size)
    return UNetGenerator(in_channels, 3, config.ngf, depth, config.norm, config.dropout, config.skips)


def load_initial_weights(nets: dict[str, nn.Module], model: str) -> None:
    """Copy a trained model's weights in; input channels it lacked (hints) get zero weights,
    batch-norm running statistics are dropped for norms without them (instance-affine), and
    parameters it lacks (conv biases) keep their initial values."""
    from engine.store.checkpoints import read_weights
    from engine.store.models import resolve_model

    saved, _ = read_weights(resolve_model(model))
    for name, net in nets.items():
        if name not in saved:
            continue
        own = net.state_dict()
        state = {}
        for key, value in saved[name].items():
            if key not in own:
                continue
            if value.shape != own[key].shape:
                value = with_new_inputs(value, own[key], f"--init-from {model}: {name}.{key}")
            state[key] = value.float()
        net.load_state_dict({**own, **state})


def with_new_inputs(saved: torch.Tensor, own: torch.Tensor, where: str) -> torch.Tensor:
    """A saved convolution widened to take more input channels (zero weights on the new ones),
    or one line saying that the network is built another way."""
    widened = saved.dim() == 4 and saved.shape[0] == own.shape[0] and saved.shape[1] < own.shape[1]
    if not widened or saved.shape[2:] != own.shape[2:]:
        raise UserError(
            f"{where} is {tuple(saved.shape)} there and {tuple(own.shape)} here: build the network "
            "as that model was trained (its widths and its crop size, which sets a U-Net's depth)"
        )
    padded = torch.zeros_like(own)
    padded[:, : saved.shape[1]] = saved
    return padded


TASK = Pix2Pix
