"""The loop's own settings (the same for every task) and the learning-rate schedule."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch

from engine.errors import UserError
from engine.flags import MAX_COUNT, check_choices, knob
from engine.runtime.device import check_device


@dataclass
class TrainSettings:
    """Settings of the loop itself, the same for every task."""

    data: str = knob("", "dataset folder (standard pix2pix layouts)")
    max_steps: int = knob(0, "iterations to train (0: use --epochs)", span=(0, MAX_COUNT))
    epochs: float = knob(200.0, "passes over the data when max_steps is 0", span=(0, 1e6))
    batch_size: int = knob(4, "per process", span=(1, 4096))
    sample_size: int = knob(5, "held-out images in each sample grid", span=(1, 64))
    sample_every: int = knob(500, span=(1, MAX_COUNT))
    eval_every: int = knob(0, "held-out L1/FID/KID every N steps (0: never)", span=(0, MAX_COUNT))
    eval_size: int = knob(50, "held-out images each evaluation scores", span=(1, 100_000))
    checkpoint_every: int = knob(1000, span=(1, MAX_COUNT))
    keep_checkpoints: int = knob(3, span=(1, 1000))
    lr_policy: str = knob("linear", choices=("linear", "constant"))
    lr_decay_start: float = knob(0.5, "fraction of steps before lr decays to 0", span=(0, 1))
    precision: str = knob("auto", choices=("auto", "fp32", "bf16", "fp16"))
    device: str = knob("auto", "auto, cpu, cuda, cuda:N or mps")
    num_workers: int = knob(0, span=(0, 256))
    seed: int = knob(0, span=(0, 2**63 - 1))
    skip_bad_images: bool = False
    name: str = ""


def check_settings(settings: TrainSettings) -> None:
    """Refuse settings that cannot train, before a run is created (no dead run in the store):
    each field's range is declared beside it; these rules join two fields."""
    check_choices(settings)
    problems = [
        f"--{name.replace('_', '-')} must be {rule}, got {getattr(settings, name)}"
        for name, ok, rule in (
            ("epochs", settings.epochs > 0 or settings.max_steps > 0, "more than 0"),
            ("eval_size", settings.eval_size >= 2 or not settings.eval_every, "at least 2"),
        )
        if not ok
    ]
    if problems:
        raise UserError("; ".join(problems))
    check_device(settings.device)


def lr_lambda(policy: str, decay_start: float, max_steps: int):
    """Constant, then (for 'linear') straight down to 0, as the official schedule."""
    start = int(max_steps * decay_start)

    def factor(step: int) -> float:
        if policy == "constant" or step < start:
            return 1.0
        return max(0.0, 1.0 - (step - start) / max(1, max_steps - start))

    return factor


def with_step_count(settings: TrainSettings, dataset_size: int, world: int) -> TrainSettings:
    """max_steps made concrete: given, or `epochs` passes over the data."""
    steps = settings.max_steps or math.ceil(settings.epochs * dataset_size / (settings.batch_size * world))
    return dataclasses.replace(settings, max_steps=steps)


def make_schedulers(optimizers: dict, settings: TrainSettings) -> dict:
    factor = lr_lambda(settings.lr_policy, settings.lr_decay_start, settings.max_steps)
    return {k: torch.optim.lr_scheduler.LambdaLR(opt, factor) for k, opt in optimizers.items()}
