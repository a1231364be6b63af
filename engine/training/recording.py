"""What a training run tells the world: its row in the run store, its losses, events, stop
requests polled every few seconds, and its final status. Rank 0 writes; other ranks hold a
recorder without a store, so the loop reads the same everywhere.

Losses arrive as tensors still on the device and stay there until they are flushed: about once
a second, and before anything is made from the weights (samples, scores, checkpoints). A flush
turns them into floats with one device sync, checks them (a NaN fails the run, naming the step
it happened at) and writes every step's values in one SQLite transaction.

Another process may hold the store's lock for a while (a backup, a second tool): rows and
events then stay queued here and are written by a later flush, so a run never dies because
its metrics could not be written for a while. Only the final status waits for the lock (up to
engine.store.database.LOCK_TIMEOUT_S).
"""

from __future__ import annotations

import math
import signal
import sys
import time

import torch

from engine.errors import UserError
from engine.store.database import StoreBusy, StoreFull
from engine.store.runs import RunStore
from engine.training.checkpointing import TrainingDiverged

FLUSH_S = 1.0  # losses are converted and written in batches: one sync and one transaction a second
POLL_S = 2.0  # how often the run store is asked whether someone wants the run stopped
DIVERGED = 1e6  # a loss beyond this has exploded, even when still finite
QUICK_WAIT_S = 0.2  # a write during training waits this long for the store's lock, then queues
MAX_QUEUED = 500_000  # metric rows kept while the store is locked (the oldest go beyond it)


class StopFlag:
    """First SIGINT/SIGTERM asks for a clean stop; a second SIGINT interrupts at once."""

    def __init__(self) -> None:
        self.raised = False
        self._old = {s: signal.signal(s, self._handle) for s in (signal.SIGINT, signal.SIGTERM)}

    def _handle(self, signum, frame) -> None:
        if self.raised and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.raised = True

    def restore(self) -> None:
        for s, handler in self._old.items():
            signal.signal(s, handler)


class RunRecorder:
    """One run's writer (rank 0) or a silent stand-in (other ranks, which still check losses)."""

    def __init__(self, store: RunStore | None, run_id: str | None) -> None:
        self.store, self.id = store, run_id
        self.pending: list[tuple[int, dict[str, torch.Tensor | float]]] = []
        self.last_flush = self.last_poll = time.time()
        self.status, self.message = "finished", None
        self.queued_rows: list[tuple[int, str, float, float]] = []  # (step, name, value, time)
        self.queued_events: list[tuple[float, str, str]] = []  # (time, kind, message)
        self.blocked = False  # the store refused the last write (locked, or its disk full)

    @classmethod
    def open(
        cls, store: RunStore | None, resume: str | None, task: str, run_config: dict, settings, step: int
    ):
        """Create the run (or take over the resumed one: its rows after `step` go) and mark it ours."""
        run_id = resume
        if store is not None:
            run_id = run_id or store.create_run(task, run_config, settings.name, settings.max_steps).id
            store.claim(run_id, settings.max_steps)
            store.forget_metrics_after(run_id, step)
        return cls(store, run_id)

    def event(self, kind: str, message: str = "") -> None:
        if self.store is not None:
            self.queued_events.append((time.time(), kind, message))
            self.drain()

    def log(self, step: int, losses: dict[str, torch.Tensor | float], now: bool = False) -> dict | None:
        """Queue a step's losses (detached: a queued graph would hold its activations); flush
        when asked (`now`) or when the queue has waited FLUSH_S. Returns the newest step's
        floats when it flushed, for the progress bar."""
        self.pending.append((step, {k: v.detach() if torch.is_tensor(v) else v for k, v in losses.items()}))
        if now or time.time() - self.last_flush > FLUSH_S:
            return self.flush()
        return None

    def flush(self) -> dict[str, float] | None:
        """Queued losses as floats (one device sync), written up to a diverged step, which then
        fails the run. Returns the newest step's values (None when nothing was queued)."""
        steps, self.pending, self.last_flush = as_floats(self.pending), [], time.time()
        bad = next((i for i, (_, losses) in enumerate(steps) if diverged(losses)), None)
        self.write(steps[:bad])
        if bad is not None:
            raise diverged_error(*steps[bad])
        return steps[-1][1] if steps else None

    def write(self, steps: list[tuple[int, dict[str, float]]]) -> None:
        """Metric rows (losses, or held-out scores) in one transaction; rank 0 only."""
        if self.store is not None:
            now = time.time()
            self.queued_rows += [(s, k, v, now) for s, values in steps for k, v in values.items()]
            del self.queued_rows[:-MAX_QUEUED]
            self.drain()

    def drain(self, wait_s: float = QUICK_WAIT_S) -> None:
        """Write the queued rows and events in one transaction. While another process holds the
        store (or its disk is full) they stay queued for the next try and training goes on."""
        try:
            self.store.log_rows(self.id, self.queued_rows, self.queued_events, wait_s)
        except (StoreBusy, StoreFull) as err:
            if not self.blocked:
                print(f"warning: {err}; the run goes on and writes its losses later", file=sys.stderr)
            self.blocked = True
            return
        self.queued_rows, self.queued_events, self.blocked = [], [], False

    def stop_requested(self) -> bool:
        """Someone asked (`runs stop`, the Stop button); checked at most every POLL_S."""
        if self.store is None or time.time() - self.last_poll < POLL_S:
            return False
        self.last_poll = time.time()
        try:
            return self.store.stop_requested(self.id, QUICK_WAIT_S)
        except StoreBusy:  # asked again in POLL_S
            return False

    def finish(self) -> None:
        """Write what is still queued, then the final status. After a failure the queue may hold
        the steps before it: they are written, and the first error stays the one reported."""
        try:
            self.flush()
        except Exception as err:
            if self.status != "failed":
                self.status, self.message = "failed", f"{type(err).__name__}: {err}"
                raise
        finally:
            if self.store is not None:
                self.close()

    def close(self) -> None:
        """What is still queued, then the final status, waiting out a lock (LOCK_TIMEOUT_S). If
        the store stays unwritable, a failed run's own error is the one reported."""
        try:
            self.store.log_rows(self.id, self.queued_rows, self.queued_events)
            self.queued_rows, self.queued_events = [], []
            self.store.set_status(self.id, self.status, self.message)
        except UserError as err:
            if self.status != "failed":
                raise
            print(f"warning: the run's failure could not be recorded: {err}", file=sys.stderr)


def as_floats(pending: list[tuple[int, dict]]) -> list[tuple[int, dict[str, float]]]:
    """The queued steps with floats for values. The tensors are stacked and read back with one
    `.tolist()`: one wait for the device however many steps were queued."""
    tensors = [v for _, losses in pending for v in losses.values() if torch.is_tensor(v)]
    read = iter(torch.stack([t.float().reshape(()) for t in tensors]).tolist() if tensors else [])
    return [
        (step, {k: next(read) if torch.is_tensor(v) else float(v) for k, v in losses.items()})
        for step, losses in pending
    ]


def diverged(losses: dict[str, float]) -> dict[str, float]:
    """The losses that are NaN/inf or absurdly large: the run has exploded."""
    return {k: v for k, v in losses.items() if not math.isfinite(v) or abs(v) > DIVERGED}


def diverged_error(step: int, losses: dict[str, float]) -> TrainingDiverged:
    shown = ", ".join(f"{k}={v:.3g}" for k, v in diverged(losses).items())
    return TrainingDiverged(
        f"training diverged at step {step} ({shown}); the checkpoints kept are from before it. "
        "Lower --lr or use another --precision, then start again or resume an earlier run."
    )
