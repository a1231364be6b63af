"""What a trainable method declares, so the one trainer can run, log, plot and save it, and the
one loader can serve it.

A task names its losses (`loss_names`, with `loss_titles` for the plots) and the images it shows
(`visual_names`), owns its networks and optimizers, and implements one training step. It also
says what kind of model it makes (`kind`, served as `engine.inference.kinds.KINDS` says) and
how to build the networks inference needs from a checkpoint's config (`build_served`). The
trainer, the run store's pages, the loader and the demos do everything else. `template.py` shows a new method.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import torch
from torch import nn
from torch.utils.data import Dataset

from engine.runtime.precision import Precision


class Task:
    name: ClassVar[str]
    Config: ClassVar[type]
    # what a UI may do with the model: a key of engine.inference.kinds.KINDS, which serves it
    kind: ClassVar[str] = "image-to-image"
    # networks inference needs (the rest, such as discriminators, are training-only)
    inference_networks: ClassVar[tuple[str, ...]] = ("G",)
    # two-way (unpaired) tasks: the network that translates each way ("AtoB": "G_A")
    directions: ClassVar[dict[str, str]] = {}
    # plot titles of the losses this task logs ("G_L1": "generator L1 loss")
    loss_titles: ClassVar[dict[str, str]] = {}

    @classmethod
    def build_served(cls, config: Any) -> dict[str, nn.Module]:
        """The untrained `inference_networks`, built from a checkpoint's config; the loader
        fills in the weights and hands them to the server of the task's kind."""
        raise NotImplementedError

    @classmethod
    def settle_config(cls, config: Any, data: str) -> Any:
        """Fill in config fields that come from the training data (a label-map task's classes)
        before the networks are built; a resumed run's stored config has them already."""
        return config

    def __init__(self, config: Any, device: torch.device, precision: Precision) -> None:
        self.config, self.device, self.precision = config, device, precision
        self.loss_names: list[str] = []
        self.visual_names: list[str] = []
        self.nets: dict[str, nn.Module] = {}
        self.optimizers: dict[str, torch.optim.Optimizer] = {}

    def make_dataset(self, data: str, phase: str, train: bool, skip_bad: bool = False) -> Dataset:
        raise NotImplementedError

    def distribute(self, wrap: Callable[[nn.Module], nn.Module]) -> None:
        """Wrap the networks that train (DistributedDataParallel under torchrun)."""

    def train_step(self, batch: dict) -> dict[str, torch.Tensor]:
        """One optimisation step; returns each of `loss_names` as a detached 0-d tensor. Not a
        float: that would wait for the device every step; the recorder converts them in batches."""
        raise NotImplementedError

    @torch.no_grad()
    def visuals(self, batch: dict) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    @torch.no_grad()
    def eval_outputs(self, batch: dict) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """{set name: (generated, target)} on a held-out batch, for `--eval-every` ("" is the
        main set). Tasks that do not translate images return {} and are not scored."""
        return {}

    def extra_state(self) -> dict:
        """State besides networks and optimizers that an exact resume needs (CycleGAN's image
        pools); checkpoints keep it."""
        return {}

    def load_extra_state(self, state: dict) -> None:
        """Put back what `extra_state` returned."""

    def set_train(self, mode: bool) -> None:
        for net in self.nets.values():
            net.train(mode)


def adam(params, lr: float, betas: tuple[float, float]) -> torch.optim.Adam:
    """Adam as one fused kernel per step where torch has one for the device (CPU and CUDA):
    the default multi-tensor Adam walks the weights about ten times (the training-speed section
    of the README has the figure). A checkpoint from either kind resumes into the other."""
    return torch.optim.Adam(params, lr, betas=betas, fused=True)
