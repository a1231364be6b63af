"""The run store: one SQLite database (runs, metrics, events, evals) plus a folder per run.

The trainer is the only writer of a run; readers (CLI, Streamlit) open their own connections.
WAL mode lets readers read while the writer writes. A run whose process died is reported as
failed rather than running forever.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from engine.errors import UserError
from engine.store.checkpoints import is_intact, list_checkpoints
from engine.store.curves import NewRows, seconds_per_step
from engine.store.database import LOCK_TIMEOUT_S, Database, StoreBusy, StoreReadOnly

STATUSES = ("running", "finished", "failed", "stopped")
START_EVENTS = ("started", "resumed")  # logged by each training process as it begins
STARTS = "FROM events WHERE run_id=? AND kind IN (?, ?)"
SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY, task TEXT NOT NULL, name TEXT, status TEXT NOT NULL,
    config TEXT NOT NULL, created REAL NOT NULL, updated REAL NOT NULL,
    step INTEGER DEFAULT 0, max_steps INTEGER, host TEXT, pid INTEGER, pid_start TEXT,
    stop_requested INTEGER DEFAULT 0, message TEXT
);
CREATE TABLE IF NOT EXISTS metrics (
    run_id TEXT NOT NULL, step INTEGER NOT NULL, name TEXT NOT NULL, value REAL, time REAL
);
CREATE INDEX IF NOT EXISTS metrics_run_step ON metrics (run_id, step);
CREATE TABLE IF NOT EXISTS events (
    run_id TEXT NOT NULL, time REAL NOT NULL, kind TEXT NOT NULL, message TEXT
);
CREATE TABLE IF NOT EXISTS evals (
    model TEXT NOT NULL, data TEXT, split TEXT, name TEXT NOT NULL, value REAL, time REAL
);
"""


def has_schema(db: sqlite3.Connection) -> bool:
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    return {"runs", "metrics", "events", "evals"} <= tables


def default_home() -> Path:
    """STUDIO_HOME, else $XDG_DATA_HOME/image-studio (~/.local/share/image-studio)."""
    if os.environ.get("STUDIO_HOME"):
        return Path(os.environ["STUDIO_HOME"])
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "image-studio"


def process_start(pid: int) -> str | None:
    """Start time of a process (Linux), to tell a live run from a reused pid; None if gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] in ("Z", "X") else fields[19]


def process_alive(pid: int, start: str | None) -> bool:
    if Path("/proc").is_dir():
        now = process_start(pid)
        return now is not None and (start is None or now == start)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class Run:
    id: str
    task: str
    name: str
    status: str
    config: dict
    created: float
    updated: float
    step: int
    max_steps: int | None
    folder: Path
    message: str | None = None

    @property
    def checkpoints_dir(self) -> Path:
        return self.folder / "checkpoints"

    @property
    def samples_dir(self) -> Path:
        return self.folder / "samples"


class RunStore:
    """Runs and their rows. Writes wait up to LOCK_TIMEOUT_S (engine.store.database) for another
    process's lock; a damaged or read-only store is one line (reading a read-only one works)."""

    def __init__(self, home: str | Path | None = None) -> None:
        self.home = Path(home) if home else default_home()
        self.runs_dir = self.home / "runs"
        self.db_path = self.home / "studio.db"
        self.db = Database(self.db_path)
        try:
            self.runs_dir.mkdir(parents=True, exist_ok=True)
        except OSError:  # a read-only store can still be read; its writes say why they cannot
            self.db.read_only = True
        if not self.db.read(has_schema):  # readers of a made store never wait for a lock here
            self.db.write(lambda db: [db.execute(sql) for sql in SCHEMA.split(";") if sql.strip()] and None)

    def _connect(self) -> sqlite3.Connection:
        """A plain connection; prefer self.db.read/write, which wait out locks and name faults."""
        return self.db.connect(LOCK_TIMEOUT_S)

    def _write(self, sql: str, args: Iterable = (), wait_s: float | None = None) -> None:
        self.db.write(lambda db: db.execute(sql, tuple(args)) and None, wait_s)

    # writing (the trainer) ---------------------------------------------------------------
    def create_run(self, task: str, config: dict, name: str = "", max_steps: int | None = None) -> Run:
        for _ in range(8):  # runs made in the same second share all but the random tail
            run_id = f"{task}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"
            now = time.time()
            try:
                self._write(
                    "INSERT INTO runs (id, task, name, status, config, created, updated, max_steps)"
                    " VALUES (?, ?, ?, 'running', ?, ?, ?, ?)",
                    (run_id, task, name or run_id, json.dumps(config), now, now, max_steps),
                )
                break
            except sqlite3.IntegrityError:
                continue
        else:  # never return another run under a repeated id
            raise UserError(f"could not make a new run id for {task}: eight tries were taken; try again")
        run = self.get(run_id)
        run.folder.mkdir(parents=True, exist_ok=True)
        (run.folder / "config.json").write_text(json.dumps({"task": task, **config}, indent=2))
        return run

    def claim(self, run_id: str, max_steps: int | None = None) -> None:
        """Mark a run as running in this process (at start and on resume)."""
        pid = os.getpid()
        self._write(
            "UPDATE runs SET status='running', host=?, pid=?, pid_start=?, stop_requested=0,"
            " message=NULL, updated=?, max_steps=COALESCE(?, max_steps) WHERE id=?",
            (socket.gethostname(), pid, process_start(pid), time.time(), max_steps, run_id),
        )

    def set_status(self, run_id: str, status: str, message: str | None = None) -> None:
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        self._write(
            "UPDATE runs SET status=?, message=?, updated=? WHERE id=?",
            (status, message, time.time(), run_id),
        )
        self.log_event(run_id, status, message or "")

    def forget_metrics_after(self, run_id: str, step: int) -> None:
        """A resumed run recomputes the steps after its checkpoint: their old rows go, so the
        curves do not zig-zag."""
        self._write("DELETE FROM metrics WHERE run_id=? AND step>?", (run_id, step))

    def log_metrics(self, run_id: str, step: int, values: dict[str, float]) -> None:
        self.log_metric_rows(run_id, [(step, k, v) for k, v in values.items()])

    def log_metric_rows(
        self, run_id: str, rows: list[tuple[int, str, float]], wait_s: float | None = None
    ) -> None:
        """Many (step, name, value) rows in one transaction; also the run's heartbeat."""
        now = time.time()
        self.log_rows(run_id, [(s, n, v, now) for s, n, v in rows], [], wait_s)

    def log_rows(
        self,
        run_id: str,
        metrics: list[tuple[int, str, float, float]],
        events: list[tuple[float, str, str]],
        wait_s: float | None = None,
    ) -> None:
        """(step, name, value, time) metric rows and (time, kind, message) events in one
        transaction, as a recorder that waited out a lock has them queued."""
        if not metrics and not events:
            return

        def insert(db: sqlite3.Connection) -> None:
            db.executemany(
                "INSERT INTO metrics VALUES (?, ?, ?, ?, ?)",
                [(run_id, s, n, float(v), t) for s, n, v, t in metrics],
            )
            db.executemany("INSERT INTO events VALUES (?, ?, ?, ?)", [(run_id, *e) for e in events])
            if metrics:
                step = max(r[0] for r in metrics)
                db.execute("UPDATE runs SET step=?, updated=? WHERE id=?", (step, time.time(), run_id))

        self.db.write(insert, wait_s)

    def log_event(self, run_id: str, kind: str, message: str = "") -> None:
        self._write("INSERT INTO events VALUES (?, ?, ?, ?)", (run_id, time.time(), kind, message))

    def log_eval(self, model: str, data: str, split: str, results: dict[str, float]) -> None:
        now = time.time()
        rows = [(model, data, split, k, float(v), now) for k, v in results.items()]
        self.db.write(lambda db: db.executemany("INSERT INTO evals VALUES (?, ?, ?, ?, ?, ?)", rows) and None)

    def request_stop(self, run_id: str) -> None:
        """Ask a running trainer to checkpoint and stop (it polls this flag)."""
        self._write("UPDATE runs SET stop_requested=1 WHERE id=?", (run_id,))
        self.log_event(run_id, "stop-requested", "")

    def stop_requested(self, run_id: str, wait_s: float | None = None) -> bool:
        sql = "SELECT stop_requested FROM runs WHERE id=?"
        row = self.db.read(lambda db: db.execute(sql, (run_id,)).fetchone(), wait_s)
        return bool(row and row[0])

    # reading (everyone) ------------------------------------------------------------------
    def _row_to_run(self, row: tuple) -> Run:
        run_id, task, name, status, config, created, updated, step, max_steps, host, pid, pid_start = row[:12]
        message = row[13]
        if status == "running" and host == socket.gethostname() and pid and not process_alive(pid, pid_start):
            status, message = "failed", "the training process ended without finishing"
            self._mark_dead(run_id, message)
        folder = self.runs_dir / run_id
        return Run(
            run_id, task, name, status, json.loads(config), created, updated, step, max_steps, folder, message
        )

    def _mark_dead(self, run_id: str, message: str) -> None:
        """Record that a run's process died; a reader of a locked or read-only store only says so."""

        def mark(db: sqlite3.Connection) -> None:
            done = db.execute(
                "UPDATE runs SET status='failed', message=? WHERE id=? AND status='running'",
                (message, run_id),
            )
            if done.rowcount:
                db.execute("INSERT INTO events VALUES (?, ?, 'failed', ?)", (run_id, time.time(), message))

        if not self.db.read_only:
            try:
                self.db.write(mark, wait_s=0.5)
            except (StoreBusy, StoreReadOnly):
                pass

    def get(self, run_id: str) -> Run:
        row = self.db.read(lambda db: db.execute("SELECT * FROM runs WHERE id=?", (run_id,)).fetchone())
        if row is None:
            raise UserError(f"no run {run_id!r} in {self.db_path}")
        return self._row_to_run(row)

    def list(self, task: str | None = None) -> list[Run]:
        """Runs, newest first."""
        sql = "SELECT * FROM runs" + (" WHERE task=?" if task else "") + " ORDER BY created DESC"
        rows = self.db.read(lambda db: db.execute(sql, (task,) if task else ()).fetchall())
        return [self._row_to_run(r) for r in rows]

    def metrics(self, run_id: str, since_step: int = -1) -> list[tuple[int, str, float]]:
        """(step, name, value) rows with step > since_step (pollers: `metrics_after_row`)."""
        sql = "SELECT step, name, value FROM metrics WHERE run_id=? AND step>? ORDER BY step"
        return self.db.read(lambda db: db.execute(sql, (run_id, since_step)).fetchall())

    def metrics_after_row(self, run_id: str, row: int = 0) -> NewRows:
        """Rows written after row id `row`, in writing order (late rows for an earlier step are
        new too), and the run's number of starts (a resume rewrites the steps after its checkpoint)."""

        def read(db: sqlite3.Connection) -> NewRows:
            db.execute("BEGIN")  # one snapshot for both reads
            starts = db.execute(f"SELECT COUNT(*) {STARTS}", (run_id, *START_EVENTS)).fetchone()[0]
            sql = "SELECT rowid, step, name, value FROM metrics WHERE run_id=? AND rowid>? ORDER BY rowid"
            rows = db.execute(sql, (run_id, row)).fetchall()
            db.execute("COMMIT")
            return NewRows(starts, rows)

        return self.db.read(read)

    def seconds_per_step(self, run_id: str, last: int = 100) -> float | None:
        """Wall time per step over the last `last` steps the run's latest process wrote (None
        before two flushes of it): what an ETA is made of. A pause before a resume is not in it."""
        sql = (
            "SELECT step, MIN(time) FROM metrics WHERE run_id=? AND time IS NOT NULL "
            f"AND time >= COALESCE((SELECT MAX(time) {STARTS}), 0) GROUP BY step ORDER BY step DESC LIMIT ?"
        )
        rows = self.db.read(lambda db: db.execute(sql, (run_id, run_id, *START_EVENTS, last)).fetchall())
        return seconds_per_step(rows)

    def events(self, run_id: str) -> list[tuple[float, str, str]]:
        sql = "SELECT time, kind, message FROM events WHERE run_id=? ORDER BY time"
        return self.db.read(lambda db: db.execute(sql, (run_id,)).fetchall())

    def evals(self, model: str | None = None) -> list[tuple]:
        sql = "SELECT model, data, split, name, value, time FROM evals"
        sql += (" WHERE model=?" if model else "") + " ORDER BY time"
        return self.db.read(lambda db: db.execute(sql, (model,) if model else ()).fetchall())

    def checkpoints(self, run_id: str) -> list[tuple[int, Path]]:
        return list_checkpoints(self.runs_dir / run_id / "checkpoints")

    def latest_checkpoint(self, run_id: str) -> Path | None:
        """The newest checkpoint whose files are whole (a truncated or empty one is passed over)."""
        for _, path in reversed(self.checkpoints(run_id)):
            if is_intact(path):
                return path
        return None

    def samples(self, run_id: str) -> list[tuple[int, Path]]:
        """(step, png) of every sample grid, oldest first."""
        folder = self.runs_dir / run_id / "samples"
        if not folder.is_dir():
            return []
        return sorted((int(p.stem.split("_")[1]), p) for p in folder.glob("step_*.png"))
