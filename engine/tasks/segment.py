"""A segmentation network for the FCN-score (pix2pix's Table 1): photo in, per-pixel class
logits out, trained with cross-entropy on a label-map dataset (CMP facades: photo | colour map).

The pix2pix paper scores generated photos by how well an off-the-shelf FCN-8s recovers the
labels they were made from. Here the "FCN" is this studio's U-Net (engine.models.unet) with
one output channel per class and no tanh: a fully convolutional net in the FCN sense, trained
by this code on the dataset's real photos, so the score needs no outside weights. The palette
(class names and colours) is read from the training data into the config, as the label-map
tasks do, so a checkpoint decodes and renders labels by itself. `engine.fcn_score` uses it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from engine.data.label_maps import Palette, open_label_dataset, with_dataset_palette
from engine.errors import UserError
from engine.flags import BETA, LEARNING_RATE, SIDE, WIDTH, knob
from engine.models.layers import NORMS
from engine.models.unet import UNetGenerator, depth_for_size
from engine.tasks.base import Task, adam


@dataclass
class SegmentConfig:
    load_size: int = knob(286, "resize to this before the random crop", span=SIDE)
    crop_size: int = knob(256, "training and input size", span=SIDE)
    label_half: str = knob("B", "A|B files: the half with the label map (facades: B)", ("A", "B"))
    ngf: int = knob(32, "U-Net width", span=WIDTH)
    norm: str = knob("instance-affine", choices=NORMS)
    dropout: bool = False
    lr: float = knob(2e-4, span=LEARNING_RATE)
    beta1: float = knob(0.5, span=BETA)
    beta2: float = knob(0.999, span=BETA)
    class_names: list[str] = field(default_factory=list)  # read from the data
    class_colours: list[list[int]] = field(default_factory=list)


def build_segmenter(config: SegmentConfig) -> nn.Module:
    """The U-Net with a logit per class: its final tanh (which would cap logits at +-1) is
    dropped; it has no weights, so the keys are the generator's."""
    if not config.class_names:
        raise UserError("the segment task has no classes: train it with --data")
    depth = depth_for_size(config.crop_size)
    net = UNetGenerator(3, len(config.class_names), config.ngf, depth, config.norm, config.dropout)
    net.final[-1] = nn.Identity()
    return net


def render_labels(index: torch.Tensor, palette: Palette) -> torch.Tensor:
    """N x H x W class indices -> N x 3 x H x W palette colours in [-1, 1] (for sample grids)."""
    colours = torch.tensor(palette.colours, dtype=torch.float32, device=index.device) / 127.5 - 1
    return colours[index.long()].permute(0, 3, 1, 2)


class Segment(Task):
    name = "segment"
    Config = SegmentConfig
    kind = "segmentation"
    loss_titles = {"CE": "cross-entropy of the per-pixel classes"}

    @classmethod
    def build_served(cls, config: SegmentConfig) -> dict[str, nn.Module]:
        return {"G": build_segmenter(config)}

    @classmethod
    def settle_config(cls, config, data: str):
        return with_dataset_palette(config, data)

    def __init__(self, config: SegmentConfig, device, precision) -> None:
        super().__init__(config, device, precision)
        self.nets["G"] = build_segmenter(config).to(device)  # refuses a config without classes
        self.palette = Palette.from_meta(dataclasses.asdict(config))
        self.optimizers["G"] = adam(self.nets["G"].parameters(), config.lr, (config.beta1, config.beta2))
        self.G = self.nets["G"]
        self.loss_names = ["CE"]
        self.visual_names = ["photo", "predicted_labels", "true_labels"]

    def make_dataset(self, data: str, phase: str, train: bool, skip_bad: bool = False):
        c = self.config
        return open_label_dataset(
            data, phase, c.load_size, c.crop_size, train, c.label_half, self.palette, skip_bad
        )

    def distribute(self, wrap) -> None:
        self.G = wrap(self.nets["G"])

    def train_step(self, batch: dict) -> dict[str, torch.Tensor]:
        photo, label = batch["B"].to(self.device), batch["label"].to(self.device)
        with self.precision.autocast():
            logits = self.G(photo)
        loss = F.cross_entropy(logits.float(), label.long())
        self.precision.step(loss, self.optimizers["G"])
        return {"CE": loss.detach()}

    @torch.no_grad()
    def predict(self, photo: torch.Tensor) -> torch.Tensor:
        """N x 3 x H x W photos in [-1, 1] -> N x H x W class indices."""
        with self.precision.autocast():
            return self.nets["G"](photo.to(self.device)).float().argmax(1)

    @torch.no_grad()
    def visuals(self, batch: dict) -> dict[str, torch.Tensor]:
        photo = batch["B"].to(self.device)
        return {
            "photo": photo,
            "predicted_labels": render_labels(self.predict(photo), self.palette),
            "true_labels": render_labels(batch["label"].to(self.device), self.palette),
        }


TASK = Segment
