"""What a run shows of itself on held-out data: sample grids of the task's declared visuals, and
held-out metrics (rank 0 only). The loop decides the steps (`sample_every`, `eval_every`)."""

from __future__ import annotations

from pathlib import Path

import torch
from torch.utils.data import DataLoader, Subset

from engine.data.images import image_grid
from engine.errors import UserError
from engine.models.layers import image_statistics_at_test
from engine.training.periodic_eval import PeriodicEval
from engine.training.settings import TrainSettings

# what a sample grid's columns show, in words (pages caption the grid with grid_caption)
PAIRED_WORDS = {
    "real_A": "input", "fake_B": "output", "real_B": "target", "hints": "input + colour hints",
    "drawn_A": "drawn input", "fake_B_drawn": "output from the drawing", "fake_B_random": "output, random look",
    "fake_B_encoded": "output, the target's look", "input_label": "input", "synthesized_image": "output",
    "real_image": "target", "teacher_B": "the teacher's answer",
}  # fmt: skip
UNPAIRED_WORDS = {
    "real_A": "A",
    "fake_B": "A→B",
    "rec_A": "A→B→A",
    "real_B": "B",
    "fake_A": "B→A",
    "rec_B": "B→A→B",
}


def grid_caption(visual_names: list[str], unpaired: bool = False) -> str:
    """'input | output | target' for a paired run's grid columns ('A | A→B | ...' unpaired);
    other names (a VAE's 'reconstruction') as they are."""
    words = UNPAIRED_WORDS if unpaired else PAIRED_WORDS
    return " | ".join(words.get(name, name.replace("_", " ")) for name in visual_names)


def norm_as_trained(kind: str, nets, batch_size: int | None) -> None:
    """Batch norm at test time as the translator saw it in training. At batch size 1 (pix2pix's
    and CycleGAN's default; `None`: an official file, trained so) every step normalised each image
    by its own statistics, while the running averages follow the last ~10 images and swing: held-out
    scores zig-zag and grids turn to brown blocks. So such models use each image's statistics in
    held-out scores, sample grids and inference alike (what pix2pix's test.py does); models trained
    with larger batches keep the running averages. Dropout is off at test (deterministic)."""
    if kind in ("image-to-image", "unpaired") and batch_size in (1, None):
        image_statistics_at_test(nets)


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
        norm_as_trained(task.kind, task.nets.values(), settings.batch_size)
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
