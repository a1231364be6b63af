"""What pix2pixHD and SPADE share: label map in (one-hot), photo out, judged by multi-scale
PatchGANs on (map, photo) pairs, with feature matching and a VGG19 perceptual loss.

A subclass builds its generator (`build_served`), may add an encoder and losses
(`synthesize_for_training`), and sets its defaults. The palette (class names and colours) is
read from the training data into the config (`settle_config`), so it travels in checkpoints.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import ClassVar

import torch

from engine.data.label_maps import Palette, open_label_dataset, with_dataset_palette
from engine.errors import UserError
from engine.flags import BETA, LAYERS, LEARNING_RATE, SIDE, WEIGHT, WIDTH, knob
from engine.losses import PLAIN_GAN_MODES, PerceptualLoss
from engine.models.patchgan import build_discriminator
from engine.models.vgg import load_vgg19
from engine.tasks.base import Task, adam
from engine.tasks.conditional import check_patches_fit, discriminator_losses, generator_gan_losses


@dataclass
class LabelToImageConfig:
    load_size: int = knob(286, "resize to this before the random crop", span=SIDE)
    crop_size: int = knob(256, "training and output size", span=SIDE)
    label_half: str = knob("B", "A|B files: the half with the label map", ("A", "B"))
    ngf: int = knob(64, "generator width", span=WIDTH)
    ndf: int = knob(64, "discriminator width", span=WIDTH)
    d_scales: int = knob(2, "PatchGANs at full, 1/2, 1/4... scale", span=(1, 4))
    n_layers: int = knob(3, "PatchGAN depth", span=LAYERS)
    gan_mode: str = knob("lsgan", choices=PLAIN_GAN_MODES)
    lambda_fm: float = knob(10.0, "discriminator feature matching weight", span=WEIGHT)
    lambda_vgg: float = knob(10.0, "VGG19 perceptual loss weight", span=WEIGHT)
    lr: float = knob(2e-4, span=LEARNING_RATE)
    beta1: float = knob(0.5, span=BETA)
    beta2: float = knob(0.999, span=BETA)
    d_lr_ratio: float = knob(1.0, "D's lr / G's lr (SPADE's TTUR: 4)", span=(1e-3, 1e3))
    class_names: list[str] = field(default_factory=list)  # read from the data
    class_colours: list[list[int]] = field(default_factory=list)

    def check(self) -> None:
        """Rules between fields (check_choices runs it after each field's own range)."""
        check_patches_fit(self.n_layers, self.crop_size, self.d_scales)


class LabelToImage(Task):
    kind = "label-map"
    spectral_discriminator: ClassVar[bool] = False
    loss_titles = {
        "G_GAN": "generator adversarial loss",
        "G_GAN_Feat": "discriminator feature matching",
        "G_VGG": "VGG19 perceptual loss",
        "D_real": "discriminator loss on real pairs",
        "D_fake": "discriminator loss on generated pairs",
        "KLD": "KL divergence of the style code",
    }

    @classmethod
    def settle_config(cls, config, data: str):
        return with_dataset_palette(config, data)

    def __init__(self, config: LabelToImageConfig, device, precision) -> None:
        super().__init__(config, device, precision)
        if not config.class_names:
            raise UserError("the label-map task has no classes: train it with --data")
        self.palette = Palette.from_meta(dataclasses.asdict(config))
        self.nets.update({k: net.to(device) for k, net in self.build_served(config).items()})
        d_in = len(self.palette) + 3
        d_args = (config.d_scales, d_in, config.ndf, config.n_layers, "instance", self.spectral_discriminator)
        self.nets["D"] = build_discriminator(*d_args).to(device)
        betas = (config.beta1, config.beta2)
        trained = [p for name, net in self.nets.items() if name != "D" for p in net.parameters()]
        self.optimizers["G"] = adam(trained, config.lr, betas)
        self.optimizers["D"] = adam(self.nets["D"].parameters(), config.lr * config.d_lr_ratio, betas)
        self.D = self.nets["D"]
        self.perceptual = PerceptualLoss(load_vgg19().to(device)) if config.lambda_vgg else None
        self.loss_names = ["G_GAN"] + ["G_GAN_Feat"] * bool(config.lambda_fm)
        self.loss_names += (
            ["G_VGG"] * bool(config.lambda_vgg) + self.extra_loss_names() + ["D_real", "D_fake"]
        )
        self.visual_names = ["input_label", "synthesized_image", "real_image"]

    def extra_loss_names(self) -> list[str]:
        return []

    def feature_matching_weight(self) -> float:
        """How the paper weighs its layers, given our mean over them (pix2pixHD: 4 in all)."""
        return 4.0

    def make_dataset(self, data: str, phase: str, train: bool, skip_bad: bool = False):
        c = self.config
        return open_label_dataset(
            data, phase, c.load_size, c.crop_size, train, c.label_half, self.palette, skip_bad
        )

    def distribute(self, wrap) -> None:
        self.D = wrap(self.nets["D"])

    def synthesize_for_training(self, labels, real) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The generated photos and any losses of the generator's own (SPADE's KLD)."""
        return self.nets["G"](labels), {}

    def extra_loss_weight(self, name: str) -> float:
        return 1.0

    def train_step(self, batch: dict) -> dict[str, torch.Tensor]:
        labels, real = batch["A"].to(self.device), batch["B"].to(self.device)
        c, mode = self.config, self.config.gan_mode
        with self.precision.autocast():
            fake, losses = self.synthesize_for_training(labels, real)
        judged = discriminator_losses(self.D, labels, real, fake, mode, self.precision)
        self.precision.step(judged["D"], self.optimizers["D"])
        gan = generator_gan_losses(
            self.nets["D"], labels, real, fake, mode, self.precision, bool(c.lambda_fm)
        )
        losses["G_GAN"] = gan["G_GAN"]
        loss_G = gan["G_GAN"] + sum(self.extra_loss_weight(k) * v for k, v in losses.items() if k != "G_GAN")
        if c.lambda_fm:
            losses["G_GAN_Feat"] = gan["FM"] * self.feature_matching_weight()
            loss_G = loss_G + c.lambda_fm * losses["G_GAN_Feat"]
        if self.perceptual is not None:
            with self.precision.autocast():
                losses["G_VGG"] = self.perceptual(fake, real)
            loss_G = loss_G + c.lambda_vgg * losses["G_VGG"]
        self.precision.step(loss_G, self.optimizers["G"])
        losses.update(D_real=judged["D_real"], D_fake=judged["D_fake"])
        return {k: v.detach() for k, v in losses.items()}

    @torch.no_grad()
    def generate(self, labels: torch.Tensor) -> torch.Tensor:
        with self.precision.autocast():
            return self.nets["G"](labels.to(self.device)).float()

    @torch.no_grad()
    def eval_outputs(self, batch: dict) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        return {"": (self.generate(batch["A"]), batch["B"].to(self.device))}

    @torch.no_grad()
    def visuals(self, batch: dict) -> dict[str, torch.Tensor]:
        colours = torch.tensor(self.palette.colours, dtype=torch.float32) / 127.5 - 1
        rendered = colours[batch["label"]].permute(0, 3, 1, 2)
        return {
            "input_label": rendered.to(self.device),
            "synthesized_image": self.generate(batch["A"]),
            "real_image": batch["B"].to(self.device),
        }
