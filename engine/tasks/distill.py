"""A small pix2pix generator that imitates a trained one (knowledge distillation), for the live
canvas: a stroke must come back faster than the full generator can answer on a CPU.

GAN Compression (Li et al. 2020) shrinks the pix2pix edges2shoes generator about 12x in MACs
for a small FID cost. This is its simplest form: the student, a narrower U-Net, learns the
teacher's answer to the same input by L1, on the inputs people give (drawings, outlines, colour
hints) rather than the training set's HED edges, because the teacher answers any input and its
answer is one deterministic image (dropout off, per-image norm statistics): a far easier target
than the set of plausible photos. `lambda_target` adds L1 toward the real photo. `start
teacher` cuts the student out of the teacher (its most used channels, engine/models/unet_pruning.py)
instead of starting from random weights. The student is an ordinary pix2pix generator: the loader
serves it as one, and `eval` scores it against photos.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from engine.errors import UserError
from engine.flags import SHARE, SIDE, WEIGHT, WIDTH, knob
from engine.losses import l1_loss
from engine.models.layers import NORMS
from engine.models.unet import UNetGenerator
from engine.models.unet_pruning import CUT_NORM, pruned_unet
from engine.store.checkpoints import read_weights
from engine.store.models import resolve_model
from engine.tasks.pix2pix import Pix2Pix, Pix2PixConfig, build_generator


@dataclass
class DistillConfig(Pix2PixConfig):
    # pix2pix's objective and discriminator: the student learns by L1 to its teacher alone
    fixed: ClassVar[tuple[str, ...]] = (
        "mode", "lambda_l1", "gan_mode", "ndf", "n_layers", "lambda_fm", "lambda_vgg", "d_scales"
    )  # fmt: skip
    teacher: str = knob("default", "the model to imitate (name, run or file)")
    lambda_target: float = knob(0.0, "weight of L1 toward the real photo besides the teacher", span=WEIGHT)
    mode: str = knob("l1", "the student learns by L1 (to the teacher's answer)", ("l1",))
    start: str = knob(
        "teacher",
        "the student is cut out of the teacher, or starts from random weights",
        ("teacher", "scratch"),
    )
    ngf: int = knob(16, "student width (the default teacher has 32)", span=WIDTH)
    crop_size: int = knob(256, "training and output size; with --start teacher, the teacher's", span=SIDE)
    norm: str = knob("instance-affine", "with --start teacher: the cut's (from the teacher's)", NORMS)
    dropout: bool = knob(False, "off: the student learns one deterministic answer")
    drawing_aug: bool = knob(True, "redraw edge inputs like human drawings")
    outline_rate: float = knob(0.3, "share of drawings that are people's outlines", span=SHARE)
    hints: bool = knob(True, "the student takes colour hints (its teacher must too)")
    hint_rate: float = knob(0.65, "share of training pairs given colour hints", span=SHARE)

    def check(self) -> None:
        """The cut would write over a start given by --init-from."""
        super().check()
        if self.start == "teacher" and self.init_from:
            raise UserError("--init-from starts the student from a model: give it with --start scratch")


class Distill(Pix2Pix):
    name = "distill"
    Config = DistillConfig
    loss_titles = {
        "G_teacher": "L1 to the teacher's answer",
        "G_L1": "L1 to the real photo (logged)",
    }

    @classmethod
    def settle_config(cls, config: DistillConfig, data: str) -> DistillConfig:
        """A student cut out of its teacher is built as the cut is: with its teacher's kind of norm
        and its depth, which the training size sets (so the Train page's quick 128 px size
        trains a cut of a 256 px teacher at 256 px)."""
        if config.start != "teacher":
            return config
        teacher = teacher_config(config.teacher)[1]
        config = dataclasses.replace(config, norm=CUT_NORM[teacher.norm])
        if config.crop_size != teacher.crop_size:
            config = dataclasses.replace(config, crop_size=teacher.crop_size, load_size=teacher.load_size)
        return config

    def __init__(self, config: DistillConfig, device, precision) -> None:
        super().__init__(config, device, precision)
        teacher, takes_hints = load_teacher(config.teacher)
        if takes_hints != config.hints:  # the student reads what its teacher reads
            raise UserError(
                f"the teacher {'takes' if takes_hints else 'does not take'} colour hints: "
                f"train the student with{'' if takes_hints else ' --no-hints'}"
            )
        if config.start == "teacher":
            start_from_teacher(self.nets["G"], teacher, config.ngf)
        self.teacher = teacher.to(device).eval().requires_grad_(False)
        self.loss_names = ["G_teacher", "G_L1"]
        self.visual_names.insert(-1, "teacher_B")

    @torch.no_grad()
    def teacher_answer(self, batch: dict, key: str = "A") -> torch.Tensor:
        with self.precision.autocast():
            return self.teacher(self.generator_input(batch, key)).float()

    def train_step(self, batch: dict) -> dict[str, torch.Tensor]:
        real_B = batch["B"].to(self.device)
        taught = self.teacher_answer(batch)
        with self.precision.autocast():
            fake_B = self.G(self.generator_input(batch))
        losses = {"G_teacher": l1_loss(fake_B, taught), "G_L1": l1_loss(fake_B, real_B)}
        loss = losses["G_teacher"] + self.config.lambda_target * losses["G_L1"]
        self.precision.step(loss, self.optimizers["G"])
        return {k: v.detach() for k, v in losses.items()}

    @torch.no_grad()
    def visuals(self, batch: dict) -> dict[str, torch.Tensor]:
        return {**super().visuals(batch), "teacher_B": self.teacher_answer(batch)}


def start_from_teacher(student: nn.Module, teacher: nn.Module, ngf: int) -> None:
    """The student's weights set to the teacher's on its most used channels (unet_pruning.py)."""
    if not isinstance(teacher, UNetGenerator):
        raise UserError("--start teacher cuts a U-Net teacher; this one is another network (--start scratch)")
    try:
        student.load_state_dict(pruned_unet(teacher, ngf).state_dict())
    except ValueError as err:
        raise UserError(f"--start teacher: {err}; give a smaller --ngf") from None
    except RuntimeError:
        raise UserError(
            "--start teacher needs the student built as the teacher is (its size); or --start scratch"
        ) from None


def teacher_config(model: str) -> tuple[dict, Pix2PixConfig]:
    """The saved weights of a trained pix2pix model (a bundled name, run id or file) and the
    config its generator was built with."""
    saved, meta = read_weights(resolve_model(model))
    if meta.get("task") not in ("pix2pix", "distill") or "G" not in saved:
        raise UserError(
            f"the teacher must be a pix2pix model; {model} is a {meta.get('task', 'model')} model"
        )
    fields = {f.name for f in dataclasses.fields(Pix2PixConfig)}
    return saved, Pix2PixConfig(**{k: v for k, v in meta.get("config", {}).items() if k in fields})


def load_teacher(model: str) -> tuple[nn.Module, bool]:
    """The generator of a trained pix2pix model in fp32, and whether it takes colour hints."""
    saved, config = teacher_config(model)
    net = build_generator(config)
    net.load_state_dict({name: tensor.float() for name, tensor in saved["G"].items()})
    return net, config.hints


TASK = Distill
