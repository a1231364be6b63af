"""What a trainable method declares, so the one trainer can run, log, plot and save it.

A task names its losses (`loss_names`) and the images it shows (`visual_names`), owns its
networks and optimizers, and implements one training step. The trainer does everything else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import torch
from torch import nn
from torch.utils.data import Dataset

from engine.precision import Precision


class Task:
    name: ClassVar[str]
    Config: ClassVar[type]
    # networks a predictor needs at inference time (the rest are training-only)
    inference_networks: ClassVar[tuple[str, ...]] = ("G",)

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

    def train_step(self, batch: dict) -> dict[str, float]:
        raise NotImplementedError

    @torch.no_grad()
    def visuals(self, batch: dict) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    @torch.no_grad()
    def eval_outputs(self, batch: dict) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """{set name: (generated, target)} on a held-out batch, for `--eval-every` ("" is the
        main set). Tasks that do not translate images return {} and are not scored."""
        return {}

    def set_train(self, mode: bool) -> None:
        for net in self.nets.values():
            net.train(mode)
