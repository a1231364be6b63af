"""What a training run tells the world: its row in the run store, metric rows flushed about
once a second, events, stop requests polled every few seconds, and its final status. Rank 0
writes; other ranks hold a recorder without a store, so the loop reads the same everywhere."""

from __future__ import annotations

import signal
import time

from engine.store.runs import RunStore

FLUSH_S = 1.0  # metric rows are written in batches: one SQLite transaction a second
POLL_S = 2.0  # how often the run store is asked whether someone wants the run stopped


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
    """One run's writer (rank 0) or a silent stand-in (other ranks)."""

    def __init__(self, store: RunStore | None, run_id: str | None) -> None:
        self.store, self.id = store, run_id
        self.pending: list[tuple[int, str, float]] = []
        self.last_flush = self.last_poll = time.time()
        self.status, self.message = "finished", None

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
            self.store.log_event(self.id, kind, message)

    def log(self, step: int, values: dict[str, float]) -> None:
        """Queue metric rows; write the queue when it has waited long enough."""
        if self.store is None:
            return
        self.pending += [(step, k, v) for k, v in values.items()]
        if time.time() - self.last_flush > FLUSH_S:
            self.flush()

    def flush(self) -> None:
        if self.store is not None:
            self.store.log_metric_rows(self.id, self.pending)
        self.pending, self.last_flush = [], time.time()

    def stop_requested(self) -> bool:
        """Someone asked (`runs stop`, the Stop button); checked at most every POLL_S."""
        if self.store is None or time.time() - self.last_poll < POLL_S:
            return False
        self.last_poll = time.time()
        return self.store.stop_requested(self.id)

    def finish(self, status: str | None = None, message: str | None = None) -> None:
        if status is not None:
            self.status, self.message = status, message
        if self.store is not None:
            self.flush()
            self.store.set_status(self.id, self.status, self.message)
