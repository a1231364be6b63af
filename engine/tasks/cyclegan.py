"""CycleGAN (Zhu et al. 2017): unpaired translation with a generator and a discriminator each way.

G_A: A -> B and G_B: B -> A are ResNet generators; D_A judges domain B (real B against G_A's
outputs) and D_B domain A, as the official code names them. Each step trains both generators on
    G_A + G_B                                   adversarial (LSGAN by default)
    + lambda_A |G_B(G_A(a)) - a| + lambda_B |G_A(G_B(b)) - b|     cycle consistency
    + lambda_idt (lambda_B |G_A(b) - b| + lambda_A |G_B(a) - a|)  identity (keeps colours)
then both discriminators on real images against outputs drawn from an image pool of 50. Losses
are logged weighted, as the official code logs them. All four networks run in one forward each
(`CycleGenerators`, `CycleDiscriminators`), so DistributedDataParallel sees one call per step.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from engine.data.unpaired import HALVES, open_unpaired_dataset
from engine.errors import UserError
from engine.flags import BETA, BLOCKS, LAYERS, LEARNING_RATE, SIDE, WEIGHT, WIDTH, knob
from engine.losses import PLAIN_GAN_MODES, gan_loss, l1_loss
from engine.models.image_pool import ImagePool
from engine.models.layers import NORMS
from engine.models.patchgan import PatchGAN
from engine.models.resnet import ResnetGenerator
from engine.tasks.base import Task, adam
from engine.tasks.conditional import check_patches_fit


@dataclass
class CycleGANConfig:
    lambda_A: float = knob(10.0, "cycle loss weight A -> B -> A", span=WEIGHT)
    lambda_B: float = knob(10.0, "cycle loss weight B -> A -> B", span=WEIGHT)
    lambda_identity: float = knob(0.5, "identity loss, times the cycle weights", span=WEIGHT)
    gan_mode: str = knob("lsgan", choices=PLAIN_GAN_MODES)
    load_size: int = knob(286, span=SIDE)
    crop_size: int = knob(256, span=SIDE)
    ngf: int = knob(64, span=WIDTH)
    ndf: int = knob(64, span=WIDTH)
    n_blocks: int = knob(9, "residual blocks (9 at 256 px, 6 at 128 px)", span=BLOCKS)
    n_layers: int = knob(3, "PatchGAN depth (3 gives 70x70 patches)", span=LAYERS)
    norm: str = knob("instance", choices=NORMS)
    dropout: bool = False
    pool_size: int = knob(50, "generated images the discriminators remember", span=(0, 10_000))
    lr: float = knob(2e-4, span=LEARNING_RATE)
    beta1: float = knob(0.5, span=BETA)
    beta2: float = knob(0.999, span=BETA)
    unpaired: bool = knob(False, "one aligned A|B dataset as two unpaired domains")
    data_b: str = knob("", "domain B's dataset (then --data is domain A's)")
    half_a: str = knob("whole", "half of A|B images for A", HALVES)
    half_b: str = knob("whole", "half of A|B images for B", HALVES)

    def check(self) -> None:
        """Rules between fields (check_choices runs it after each field's own range)."""
        check_patches_fit(self.n_layers, self.crop_size)


class CycleGenerators(nn.Module):
    """Both generators in one forward: fakes, reconstructions and identity images."""

    def __init__(self, G_A: nn.Module, G_B: nn.Module, identity: bool) -> None:
        super().__init__()
        self.G_A, self.G_B, self.identity = G_A, G_B, identity

    def forward(self, real_A: torch.Tensor, real_B: torch.Tensor) -> dict[str, torch.Tensor]:
        fake_B, fake_A = self.G_A(real_A), self.G_B(real_B)
        out = {"fake_B": fake_B, "fake_A": fake_A, "rec_A": self.G_B(fake_B), "rec_B": self.G_A(fake_A)}
        if self.identity:
            out["idt_A"], out["idt_B"] = self.G_A(real_B), self.G_B(real_A)
        return out


class CycleDiscriminators(nn.Module):
    """Both discriminators in one forward: D_A on real and pooled fake B, D_B on A."""

    def __init__(self, D_A: nn.Module, D_B: nn.Module) -> None:
        super().__init__()
        self.D_A, self.D_B = D_A, D_B

    def forward(self, real_A, real_B, fake_A, fake_B) -> tuple[torch.Tensor, ...]:
        return self.D_A(real_B), self.D_A(fake_B), self.D_B(real_A), self.D_B(fake_A)


class CycleGAN(Task):
    name = "cyclegan"
    Config = CycleGANConfig
    kind = "unpaired"
    inference_networks = ("G_A", "G_B")
    directions = {"AtoB": "G_A", "BtoA": "G_B"}
    loss_titles = {
        "D_A": "discriminator A (judges domain B)",
        "G_A": "generator A→B adversarial loss",
        "cycle_A": "cycle loss A→B→A (× λ_A)",
        "idt_A": "identity loss G_A(b) ≈ b",
        "D_B": "discriminator B (judges domain A)",
        "G_B": "generator B→A adversarial loss",
        "cycle_B": "cycle loss B→A→B (× λ_B)",
        "idt_B": "identity loss G_B(a) ≈ a",
    }

    @classmethod
    def build_served(cls, config: CycleGANConfig) -> dict[str, nn.Module]:
        return {name: build_generator(config) for name in cls.inference_networks}

    def __init__(self, config: CycleGANConfig, device, precision) -> None:
        super().__init__(config, device, precision)
        if config.crop_size % 4:
            raise UserError(
                f"--crop-size must be a multiple of 4 for the ResNet generator, got {config.crop_size}"
            )
        self.loss_names = ["D_A", "G_A", "cycle_A", "idt_A", "D_B", "G_B", "cycle_B", "idt_B"]
        self.visual_names = ["real_A", "fake_B", "rec_A", "real_B", "fake_A", "rec_B"]
        for name in ("G_A", "G_B"):
            self.nets[name] = build_generator(config).to(device)
        for name in ("D_A", "D_B"):
            self.nets[name] = PatchGAN(3, config.ndf, config.n_layers, config.norm).to(device)
        betas = (config.beta1, config.beta2)
        generators = [*self.nets["G_A"].parameters(), *self.nets["G_B"].parameters()]
        discriminators = [*self.nets["D_A"].parameters(), *self.nets["D_B"].parameters()]
        self.optimizers["G"] = adam(generators, config.lr, betas)
        self.optimizers["D"] = adam(discriminators, config.lr, betas)
        self.pools = {"A": ImagePool(config.pool_size), "B": ImagePool(config.pool_size)}
        self.generators = CycleGenerators(self.nets["G_A"], self.nets["G_B"], config.lambda_identity > 0)
        self.discriminators = CycleDiscriminators(self.nets["D_A"], self.nets["D_B"])

    def make_dataset(self, data: str, phase: str, train: bool, skip_bad: bool = False):
        c = self.config
        return open_unpaired_dataset(
            data, phase, c.load_size, c.crop_size, train, skip_bad, c.data_b, c.half_a, c.half_b, c.unpaired
        )

    def distribute(self, wrap) -> None:
        self.generators, self.discriminators = wrap(self.generators), wrap(self.discriminators)

    def train_step(self, batch: dict) -> dict[str, torch.Tensor]:
        c = self.config
        real_A, real_B = batch["A"].to(self.device), batch["B"].to(self.device)
        with self.precision.autocast():
            out = self.generators(real_A, real_B)
        losses = self.generator_losses(real_A, real_B, out)
        loss_G = sum(losses[name] for name in ("G_A", "G_B", "cycle_A", "cycle_B", "idt_A", "idt_B"))
        self.precision.step(loss_G, self.optimizers["G"])
        fake_A, fake_B = self.pools["A"].query(out["fake_A"]), self.pools["B"].query(out["fake_B"])
        with self.precision.autocast():
            real_b, fake_b, real_a, fake_a = self.discriminators(real_A, real_B, fake_A, fake_B)
        losses["D_A"] = (gan_loss(real_b, True, c.gan_mode) + gan_loss(fake_b, False, c.gan_mode)) * 0.5
        losses["D_B"] = (gan_loss(real_a, True, c.gan_mode) + gan_loss(fake_a, False, c.gan_mode)) * 0.5
        self.precision.step(losses["D_A"] + losses["D_B"], self.optimizers["D"])
        return {k: v.detach() for k, v in losses.items()}

    def generator_losses(self, real_A, real_B, out: dict) -> dict[str, torch.Tensor]:
        """Adversarial terms through frozen discriminators (unwrapped: no gradient sync), cycle
        and identity terms, each already weighted."""
        c = self.config
        D_A, D_B = self.nets["D_A"], self.nets["D_B"]
        for net in (D_A, D_B):
            net.requires_grad_(False)
        with self.precision.autocast():
            judged_B, judged_A = D_A(out["fake_B"]), D_B(out["fake_A"])
        for net in (D_A, D_B):
            net.requires_grad_(True)
        mode, zero = c.gan_mode, real_A.new_zeros(())
        identity = c.lambda_identity > 0
        return {
            "G_A": gan_loss(judged_B, True, mode, for_discriminator=False),
            "G_B": gan_loss(judged_A, True, mode, for_discriminator=False),
            "cycle_A": l1_loss(out["rec_A"], real_A) * c.lambda_A,
            "cycle_B": l1_loss(out["rec_B"], real_B) * c.lambda_B,
            "idt_A": l1_loss(out["idt_A"], real_B) * c.lambda_B * c.lambda_identity if identity else zero,
            "idt_B": l1_loss(out["idt_B"], real_A) * c.lambda_A * c.lambda_identity if identity else zero,
        }

    @torch.no_grad()
    def visuals(self, batch: dict) -> dict[str, torch.Tensor]:
        real_A, real_B = batch["A"].to(self.device), batch["B"].to(self.device)
        with self.precision.autocast():
            fake_B, fake_A = self.nets["G_A"](real_A), self.nets["G_B"](real_B)
            rec_A, rec_B = self.nets["G_B"](fake_B), self.nets["G_A"](fake_A)
        shown = {"real_A": real_A, "fake_B": fake_B, "rec_A": rec_A}
        return {
            k: v.float() for k, v in {**shown, "real_B": real_B, "fake_A": fake_A, "rec_B": rec_B}.items()
        }

    @torch.no_grad()
    def eval_outputs(self, batch: dict) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """A -> B against the B images (their true pairs where the data has pairs), and B -> A."""
        real_A, real_B = batch["A"].to(self.device), batch["B"].to(self.device)
        with self.precision.autocast():
            fake_B, fake_A = self.nets["G_A"](real_A).float(), self.nets["G_B"](real_B).float()
        return {"": (fake_B, real_B), "BtoA": (fake_A, real_A)}

    def extra_state(self) -> dict:
        return {name: pool.state_dict() for name, pool in self.pools.items()}

    def load_extra_state(self, state: dict) -> None:
        for name, pool in self.pools.items():
            pool.load_state_dict(state.get(name, {}), self.device)


def build_generator(config: CycleGANConfig) -> nn.Module:
    return ResnetGenerator(3, 3, config.ngf, config.n_blocks, config.norm, config.dropout)


TASK = CycleGAN
