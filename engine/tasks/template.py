"""How to add a method: copy this file to engine/tasks/<name>.py, rename the class, set `name`,
fill in the math, and name the class `TASK` at the bottom (a module is a task when it assigns
TASK; this template names it EXAMPLE so that it is not offered as a task itself).

That is all: the trainer, `python -m engine train <name> --help` (flags come from Config), the
Streamlit Train page (fields and presets), live loss curves with your titles, sample grids,
checkpoints, exact resume, DDP and mixed precision, `--eval-every` (if you return
eval_outputs), the one loader and every demo of your `kind` pick it up. Put new networks in
engine/models/ (one family a file) and a preset line in engine/training/presets.py.

This example is a plain image-to-image regressor (one generator, L1 loss) on paired data.

A method with its own kind: `kind` says what a model serves. A method of a kind that exists
(engine.inference.kinds.KINDS: image-to-image, unpaired, label-map, latent) needs nothing more.
To serve something new, say a "depth" kind (a photo in, a depth map out), set `kind = "depth"`
and add one entry beside the others in KINDS, naming its server:

    "depth": Kind("a photo in, a depth map out", lambda m: DepthModel(m.nets["G"], m.meta, ...)),

The loader builds your `build_served` networks, loads the weights and hands them (`m.nets`) to
that server; the registry, the model pickers and `export` find the kind's models by its name.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from engine.data.datasets import open_paired_dataset
from engine.flags import LEARNING_RATE, SIDE, WIDTH, knob
from engine.losses import l1_loss
from engine.models.unet import UNetGenerator, depth_for_size
from engine.tasks.base import Task, adam


@dataclass
class TemplateConfig:
    """Every field becomes a --flag (a `knob`'s help and choices show in --help and on the Train
    page; a value outside its choices is refused) and travels inside each checkpoint, so loading
    never depends on matching flags. A config that extends another's and does not use some of
    its fields lists them in `fixed: ClassVar[tuple[str, ...]]`: they get no flag and no widget
    (engine/tasks/distill.py fixes pix2pix's discriminator knobs)."""

    crop_size: int = knob(256, "training and output size", span=SIDE)
    load_size: int = knob(286, span=SIDE)
    ngf: int = knob(64, "generator width", span=WIDTH)
    lr: float = knob(2e-4, span=LEARNING_RATE)


class TemplateTask(Task):
    name = "template"  # what `train NAME` and the run store call it (the file name)
    Config = TemplateConfig
    kind = "image-to-image"  # what the model serves: a key of engine.inference.kinds.KINDS
    inference_networks = ("G",)  # what `export` keeps and the loader builds
    loss_titles = {"G_L1": "generator L1 loss"}  # plot titles on the Runs and Compare pages

    @classmethod
    def build_served(cls, config: TemplateConfig) -> dict[str, nn.Module]:
        """The networks inference needs, untrained; the loader loads the weights into them."""
        return {"G": UNetGenerator(3, 3, config.ngf, depth_for_size(config.crop_size), "instance-affine")}

    def __init__(self, config: TemplateConfig, device, precision) -> None:
        super().__init__(config, device, precision)
        self.loss_names = ["G_L1"]  # every value train_step returns, logged and plotted
        self.visual_names = ["real_A", "fake_B", "real_B"]  # the sample grid's columns
        self.nets.update({k: v.to(device) for k, v in self.build_served(config).items()})
        self.optimizers["G"] = adam(self.nets["G"].parameters(), config.lr, (0.5, 0.999))
        self.G = self.nets["G"]

    def make_dataset(self, data: str, phase: str, train: bool, skip_bad: bool = False):
        c = self.config
        return open_paired_dataset(data, phase, "AtoB", c.load_size, c.crop_size, train, skip_bad)

    def distribute(self, wrap) -> None:
        self.G = wrap(self.nets["G"])  # DDP under torchrun; identity otherwise

    def train_step(self, batch: dict) -> dict[str, torch.Tensor]:
        real_A, real_B = batch["A"].to(self.device), batch["B"].to(self.device)
        with self.precision.autocast():
            fake_B = self.G(real_A)
        loss = l1_loss(fake_B, real_B)
        self.precision.step(loss, self.optimizers["G"])  # zero_grad, backward (scaled for fp16), step
        return {"G_L1": loss.detach()}

    @torch.no_grad()
    def eval_outputs(self, batch: dict) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        with self.precision.autocast():
            fake_B = self.nets["G"](batch["A"].to(self.device)).float()
        return {"": (fake_B, batch["B"].to(self.device))}

    @torch.no_grad()
    def visuals(self, batch: dict) -> dict[str, torch.Tensor]:
        real_B = batch["B"].to(self.device)
        fake_B, _ = self.eval_outputs(batch)[""]
        return {"real_A": batch["A"].to(self.device), "fake_B": fake_B, "real_B": real_B}


EXAMPLE = TemplateTask  # a copy says TASK = ... (see the top)
