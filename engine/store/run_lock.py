"""One writer per run: the training process holds an exclusive lock on `RUN/writer.lock`.

The lock is an OS file lock (flock), so it goes with its process: a crash, SIGKILL or a closed
terminal never leaves a run locked. Only writers take it; readers (the Streamlit pages,
`runs list`) never do. The file keeps the holder's pid for the message a second writer gets;
it is left in place when released (removing a lock file races with the next taker).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from engine.errors import UserError

try:
    import fcntl
except ImportError:  # Windows: no flock; the run store's pid check is the only guard there
    fcntl = None

LOCK_FILE = "writer.lock"


class RunLock:
    """Held from `take` until `release`, the end of a `with` block, or the process's end."""

    def __init__(self, active: bool = True) -> None:
        self.active = active and fcntl is not None  # inactive: `take` does nothing (other ranks)
        self.fd: int | None = None

    def take(self, run_folder: Path, run_id: str, wait: bool = False) -> None:
        """Take the lock of the run in `run_folder`, or raise a UserError naming the process
        that has it (`wait`: block until it is free). A lock already held is kept."""
        if not self.active or self.fd is not None:
            return
        path = Path(run_folder) / LOCK_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise UserError(
                f"run {run_id} is being trained by {holder}; one process trains a run at a time "
                f"(stop it first: python -m engine runs stop {run_id})"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode(), 0)
        self.fd = fd

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing the last descriptor drops the flock
            self.fd = None

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    __del__ = release  # a dropped lock object never keeps its run locked
