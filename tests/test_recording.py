"""Losses stay tensors until they are written: the recorder converts a batch of steps at once,
the store still gets every step's exact values, and a NaN still fails the run at its step."""

import pytest
import torch

from engine.errors import UserError
from engine.store.runs import RunStore
from engine.tasks.pix2pix import Pix2Pix
from engine.training import recording
from engine.training.loop import TrainSettings, train
from engine.training.recording import RunRecorder
from support.tiny import TINY_PIX2PIX


class RowsStore:
    """Stands in for the run store: remembers each batch of metric rows it was given."""

    def __init__(self) -> None:
        self.batches: list[list[tuple[int, str, float]]] = []

    def log_rows(self, run_id: str, metrics: list, events: list, wait_s: float | None = None) -> None:
        if metrics:  # (step, name, value, time) rows
            self.batches.append([row[:3] for row in metrics])


def test_queued_tensors_are_written_once_as_the_floats_they_hold(monkeypatch):
    monkeypatch.setattr(recording, "FLUSH_S", 1e9)
    store = RowsStore()
    run = RunRecorder(store, "run")
    values = [torch.tensor(v) for v in (0.5, 1.25, 3.0)]
    assert run.log(1, {"a": values[0], "b": torch.tensor(2.0, dtype=torch.bfloat16)}) is None
    assert run.log(2, {"a": values[1]}) is None
    assert store.batches == []  # nothing read back from the device yet
    assert run.log(3, {"a": values[2], "b": 7.5}, now=True) == {"a": 3.0, "b": 7.5}
    assert store.batches == [[(1, "a", 0.5), (1, "b", 2.0), (2, "a", 1.25), (3, "a", 3.0), (3, "b", 7.5)]]
    assert run.flush() is None  # an empty queue: nothing to show, nothing more written
    assert sum(store.batches, []) == store.batches[0]


def test_a_diverged_step_is_named_and_the_steps_before_it_are_kept(monkeypatch):
    monkeypatch.setattr(recording, "FLUSH_S", 1e9)
    store = RowsStore()
    run = RunRecorder(store, "run")
    for step, loss in enumerate((1.0, 2.0, float("nan"), 4.0), start=1):
        run.log(step, {"G": torch.tensor(loss)})
    with pytest.raises(UserError, match=r"^training diverged at step 3 \(G=nan\)"):
        run.flush()
    assert store.batches == [[(1, "G", 1.0), (2, "G", 2.0)]]
    run.flush()  # the queue went with the error: nothing is written twice, nothing raises again
    assert sum(store.batches, []) == [(1, "G", 1.0), (2, "G", 2.0)]


def test_a_run_stores_exactly_the_tensors_the_task_returned(aligned_dataset, monkeypatch):
    real_step = Pix2Pix.train_step
    returned = []

    def recorded(self, batch):
        losses = real_step(self, batch)
        returned.append(losses)
        return losses

    monkeypatch.setattr(Pix2Pix, "train_step", recorded)
    settings = TrainSettings(data=str(aligned_dataset), max_steps=5, batch_size=2, sample_size=2)
    run_id = train("pix2pix", settings, TINY_PIX2PIX)
    assert len(returned) == 5
    for losses in returned:
        assert all(
            isinstance(v, torch.Tensor) and v.dim() == 0 and not v.requires_grad for v in losses.values()
        )
    expected = [
        (step, k, float(v)) for step, losses in enumerate(returned, start=1) for k, v in losses.items()
    ]
    assert RunStore().metrics(run_id) == expected


def test_a_nan_found_at_a_later_flush_fails_the_run_before_the_next_checkpoint(aligned_dataset, monkeypatch):
    monkeypatch.setattr(recording, "FLUSH_S", 1e9)  # only the loop's own flushes: before samples, saves
    real_step = Pix2Pix.train_step
    calls = []

    def blows_up(self, batch):
        calls.append(1)
        losses = real_step(self, batch)
        return {**losses, "G_L1": losses["G_L1"] * torch.nan} if len(calls) == 3 else losses

    monkeypatch.setattr(Pix2Pix, "train_step", blows_up)
    settings = TrainSettings(data=str(aligned_dataset), max_steps=6, batch_size=2, checkpoint_every=2)
    with pytest.raises(UserError, match=r"training diverged at step 3 \(G_L1=nan\)"):
        train("pix2pix", settings, TINY_PIX2PIX)
    store = RunStore()
    run = store.list()[0]
    assert run.status == "failed" and run.message.startswith("TrainingDiverged: training diverged at step 3")
    assert [step for step, _ in store.checkpoints(run.id)] == [2]  # step 4's weights were not saved
    assert sorted({step for step, _, _ in store.metrics(run.id)}) == [1, 2]
