"""What a run shows of itself on held-out data: sample grids of the task's declared visuals, and
held-out metrics (rank 0 only). The loop decides the steps (`sample_every`, `eval_every`)."""

from __future__ import annotations

from pathlib import Path

import torch
from torch.utils.data import DataLoader, Subset

from engine.data.images import image_grid
from engine.errors import UserError
from engine.training.periodic_eval import PeriodicEval
from engine.training.settings import TrainSettings


def held_out_dataset(task, settings: TrainSettings):
    """The val split (or test), else the training images without augmentation."""
    try:
        return task.make_dataset(settings.data, "val", train=False, skip_bad=True)
    except UserError:
        return task.make_dataset(settings.data, "train", train=False, skip_bad=True)


def fixed_sample_batch(held_out, size: int) -> dict:
    """The same few held-out pairs at every sample step, so grids over time compare."""
    picked = Subset(held_out, range(min(size, len(held_out))))
    return next(iter(DataLoader(picked, batch_size=len(picked), generator=torch.Generator())))


def save_samples(task, batch: dict, path: Path) -> None:
    """A grid: one row per sample, one column per declared visual."""
    task.set_train(False)
    try:
        visuals = task.visuals(batch)
    finally:
        task.set_train(True)
    count = len(visuals[task.visual_names[0]])
    rows = [[visuals[name][i] for name in task.visual_names] for i in range(count)]
    path.parent.mkdir(parents=True, exist_ok=True)
    image_grid(rows).save(path)


class HeldOut:
    """The fixed sample batch and the evaluator, made once; the loop says when to use them."""

    def __init__(self, task, settings: TrainSettings, samples_folder: Path) -> None:
        data = held_out_dataset(task, settings)
        self.task, self.folder = task, samples_folder
        self.batch = fixed_sample_batch(data, settings.sample_size)
        self.evaluator = PeriodicEval(task, data, settings.eval_size) if settings.eval_every else None

    def save_samples(self, step: int) -> None:
        save_samples(self.task, self.batch, self.folder / f"step_{step:08d}.png")

    def evaluate(self) -> dict[str, float]:
        """Held-out scores (the task in eval mode meanwhile); {} when evaluation is off."""
        if self.evaluator is None:
            return {}
        self.task.set_train(False)
        try:
            return self.evaluator()
        finally:
            self.task.set_train(True)
