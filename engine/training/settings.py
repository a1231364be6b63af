"""The loop's own settings (the same for every task) and the learning-rate schedule."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch

from engine.errors import UserError
from engine.flags import check_choices, knob


@dataclass
class TrainSettings:
    """Settings of the loop itself, the same for every task."""

    data: str = knob("", "dataset folder (standard pix2pix layouts)")
    max_steps: int = knob(0, "iterations to train (0: use --epochs)")
    epochs: float = knob(200.0, "passes over the data when max_steps is 0")
    batch_size: int = knob(4, "per process")
    sample_size: int = knob(5, "held-out images in each sample grid")
    sample_every: int = 500
    eval_every: int = knob(0, "held-out L1/FID/KID every N steps (0: never)")
    eval_size: int = knob(50, "held-out images each evaluation scores")
    checkpoint_every: int = 1000
    keep_checkpoints: int = 3
    lr_policy: str = knob("linear", choices=("linear", "constant"))
    lr_decay_start: float = knob(0.5, "fraction of steps before lr decays to 0")
    precision: str = knob("auto", choices=("auto", "fp32", "bf16", "fp16"))
    device: str = "auto"
    num_workers: int = 0
    seed: int = 0
    skip_bad_images: bool = False
    name: str = ""


def check_settings(settings: TrainSettings) -> None:
    """Refuse settings that cannot train, before a run is created (no dead run in the store)."""
    check_choices(settings)
    problems = [
        f"--{name.replace('_', '-')} must be {rule}, got {getattr(settings, name)}"
        for name, ok, rule in (
            ("max_steps", settings.max_steps >= 0, "0 (use --epochs) or more"),
            ("epochs", settings.epochs > 0 or settings.max_steps > 0, "more than 0"),
            ("batch_size", settings.batch_size >= 1, "at least 1"),
            ("sample_size", settings.sample_size >= 1, "at least 1"),
            ("sample_every", settings.sample_every >= 1, "at least 1"),
            ("checkpoint_every", settings.checkpoint_every >= 1, "at least 1"),
            ("keep_checkpoints", settings.keep_checkpoints >= 1, "at least 1"),
            ("eval_every", settings.eval_every >= 0, "0 (never) or more"),
            ("eval_size", settings.eval_size >= 2 or not settings.eval_every, "at least 2"),
            ("lr_decay_start", 0.0 <= settings.lr_decay_start <= 1.0, "between 0 and 1"),
            ("num_workers", settings.num_workers >= 0, "0 or more"),
        )
        if not ok
    ]
    if problems:
        raise UserError("; ".join(problems))


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
