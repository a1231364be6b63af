"""What each kind of model is for, and the server the loader wraps its networks in.

A task declares its `kind` (engine/tasks); this table says what that kind serves. The loader, the
model registry, the pages and the demos ask this table instead of testing kind names, so a new
kind of model is one entry here (a description and a `serve` function), not a new branch in each.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from engine.errors import UserError
from engine.inference.label_maps import LabelMapModel
from engine.inference.latent import LatentModel
from engine.inference.predictor import Predictor
from engine.inference.segmenter import SegmentationModel


@dataclass(frozen=True)
class Loaded:
    """A checkpoint's networks with their weights in, and what the server needs besides."""

    task: Any  # the Task subclass named by the checkpoint
    nets: dict[str, nn.Module]
    meta: dict
    source: str
    device: torch.device
    precision: str
    direction: str  # two-way models: which way to translate


@dataclass(frozen=True)
class Kind:
    description: str
    serve: Callable[[Loaded], Any]
    translates_images: bool = False  # its server maps one image to one image (a Predictor)


def one_way(m: Loaded) -> Predictor:
    """The generator, with the look encoder where the model has one (BicycleGAN)."""
    return Predictor(m.nets["G"], m.meta, m.source, m.device, m.precision, m.nets.get("E"))


def two_way(m: Loaded) -> Predictor:
    """The generator that translates `direction`, as the task's `directions` names it."""
    if m.direction not in m.task.directions:
        raise UserError(f"{m.source}: direction must be one of {', '.join(m.task.directions)}")
    net = m.nets[m.task.directions[m.direction]]
    return Predictor(net, {**m.meta, "direction": m.direction}, m.source, m.device, m.precision)


KINDS = {
    "image-to-image": Kind("one image in, one image out (pix2pix)", one_way, translates_images=True),
    "unpaired": Kind("two domains, a generator each way (CycleGAN)", two_way, translates_images=True),
    "label-map": Kind(
        "a segmentation map (and a style) in, an image out (pix2pixHD, SPADE)",
        lambda m: LabelMapModel(m.nets, m.meta, m.source, m.device, m.precision),
    ),
    "latent": Kind(
        "codes to images and back (autoencoder, VAE, DCGAN)",
        lambda m: LatentModel(m.nets["G"], m.meta, m.source, m.device),
    ),
    "segmentation": Kind(
        "a photo in, a label map out (the FCN of the FCN-score)",
        lambda m: SegmentationModel(m.nets["G"], m.meta, m.source, m.device, m.precision),
    ),
}


def kind_of(name: str) -> Kind:
    if name not in KINDS:
        raise UserError(f"this version cannot serve {name!r} models; known kinds: {', '.join(KINDS)}")
    return KINDS[name]


def image_translating_kinds() -> tuple[str, ...]:
    """Kinds whose models translate one image into another (compare, translate, cycle lesson)."""
    return tuple(name for name, kind in KINDS.items() if kind.translates_images)
