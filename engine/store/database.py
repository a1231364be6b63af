"""The run store's SQLite file under faults, as SQLite's own guidance has it: writes take the
write lock up front (BEGIN IMMEDIATE) and wait for another process's lock (a backup, a second
tool) up to LOCK_TIMEOUT_S, then give up in one line; a damaged file, a read-only store and a
full disk are each one line that says what to do. Readers never wait for writers (WAL).
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn, TypeVar

from engine.errors import UserError

# How long a write waits for another process's lock before it gives up (README: "The run store").
LOCK_TIMEOUT_S = float(os.environ.get("STUDIO_LOCK_TIMEOUT", "60"))
BUSY = ("SQLITE_BUSY", "SQLITE_LOCKED")
DAMAGED = ("SQLITE_CORRUPT", "SQLITE_NOTADB")
READ_ONLY = ("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_AUTH")
T = TypeVar("T")


class StoreBusy(UserError):
    """Another process held the store's write lock for longer than we wait."""


class StoreDamaged(UserError):
    """The database file is not (or no longer) a readable SQLite database."""


class StoreFull(UserError):
    """The disk under the store is full."""


class StoreReadOnly(UserError):
    """The store can be read but not written (file or folder permissions, a read-only disk)."""


def error_name(err: sqlite3.Error) -> str:
    """SQLite's primary result code name (SQLITE_BUSY, ...), read from the message if missing."""
    name = getattr(err, "sqlite_errorname", "") or ""
    if name:  # extended codes (SQLITE_BUSY_SNAPSHOT, SQLITE_READONLY_CANTINIT) -> their primary one
        primary = [code for code in (*BUSY, *DAMAGED, *READ_ONLY, "SQLITE_FULL") if name.startswith(code)]
        return primary[0] if primary else name
    text = str(err).lower()
    for words, code in (
        ("locked", "SQLITE_BUSY"),
        ("not a database", "SQLITE_NOTADB"),
        ("malformed", "SQLITE_CORRUPT"),
        ("readonly", "SQLITE_READONLY"),
        ("unable to open", "SQLITE_CANTOPEN"),
        ("disk is full", "SQLITE_FULL"),
    ):
        if words in text:
            return code
    return ""


class Database:
    """One SQLite file; every call opens its own connection, so threads and processes share it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.read_only = False  # set once writing was found impossible; reads go read-only

    def connect(self, busy_s: float, how: str = "") -> sqlite3.Connection:
        """A connection; `how` '' (read-write), 'ro' or 'immutable' (a read-only WAL store whose
        -shm file cannot be created: SQLite's documented way to still read it)."""
        if not how:
            db = sqlite3.connect(self.path, timeout=busy_s, isolation_level=None)
            try:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
            except sqlite3.OperationalError as err:
                if error_name(err) not in READ_ONLY + BUSY:
                    raise
            return db
        query = "mode=ro" if how == "ro" else "immutable=1"
        return sqlite3.connect(
            f"{self.path.as_uri()}?{query}", uri=True, timeout=busy_s, isolation_level=None
        )

    def read(self, fn: Callable[[sqlite3.Connection], T], wait_s: float | None = None) -> T:
        """fn(connection) outside any write lock; a read-only store is opened read-only."""
        wait_s = LOCK_TIMEOUT_S if wait_s is None else wait_s
        ways = ("ro", "immutable") if self.read_only else ("", "ro", "immutable")
        for how in ways:
            try:
                return self._attempt(lambda how=how: self._run(fn, how, wait_s, write=False))
            except sqlite3.OperationalError as err:
                if error_name(err) not in READ_ONLY or how == ways[-1] or not self.path.is_file():
                    self.fail(err, write=False, waited=wait_s)
        raise AssertionError("unreachable")

    def write(self, fn: Callable[[sqlite3.Connection], T], wait_s: float | None = None) -> T:
        """fn(connection) in one transaction that holds the write lock from its start; waits up to
        `wait_s` (LOCK_TIMEOUT_S) for another process's lock, then raises StoreBusy."""
        wait_s = LOCK_TIMEOUT_S if wait_s is None else wait_s
        deadline = time.monotonic() + wait_s
        while True:
            try:
                return self._attempt(lambda: self._run(fn, "", max(deadline - time.monotonic(), 0.0), True))
            except sqlite3.OperationalError as err:
                if error_name(err) not in BUSY or time.monotonic() >= deadline:
                    self.fail(err, write=True, waited=wait_s)
                time.sleep(min(0.05, max(deadline - time.monotonic(), 0.0)))

    def _attempt(self, call: Callable[[], T]) -> T:
        """Damaged files are told apart from lock and permission problems here."""
        try:
            return call()
        except sqlite3.OperationalError:
            raise
        except sqlite3.DatabaseError as err:  # SQLITE_CORRUPT, SQLITE_NOTADB
            self.fail(err, write=False)

    def _run(self, fn: Callable[[sqlite3.Connection], T], how: str, busy_s: float, write: bool) -> T:
        db = self.connect(busy_s, how)
        try:
            if not write:
                return fn(db)
            db.execute("BEGIN IMMEDIATE")  # the busy wait covers taking the lock, not a deadlock
            try:
                result = fn(db)
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            return result
        finally:
            db.close()

    def fail(self, err: sqlite3.Error, write: bool, waited: float = 0.0) -> NoReturn:
        mine = self.translate(err, write, waited)
        if mine is None:
            raise err
        raise mine from err

    def translate(self, err: sqlite3.Error, write: bool, waited: float = 0.0) -> UserError | None:
        """One line naming the store and what to do; None for other errors (bugs stay themselves)."""
        name, where = error_name(err), self.path
        if name in DAMAGED:
            return StoreDamaged(
                f"the run store {where} is damaged ({err}); move it aside (mv {where} {where}.damaged) "
                f"and a new, empty one is made; `sqlite3 {where}.damaged .recover` may save its runs"
            )
        if name in BUSY:
            return StoreBusy(
                f"the run store {where} stayed locked by another process for {waited:.0f} s (a backup or "
                "another tool?); try again when it is done (STUDIO_LOCK_TIMEOUT sets the wait)"
            )
        if name in READ_ONLY:
            if write:
                self.read_only = True
                return StoreReadOnly(
                    f"the run store {where} is read-only; nothing can be written to it (point --home or "
                    "STUDIO_HOME at a writable folder)"
                )
            return StoreReadOnly(f"cannot open the run store {where}: {err}")
        if name == "SQLITE_FULL":
            return StoreFull(f"no space left on the disk of the run store {where}; free some and try again")
        return None
