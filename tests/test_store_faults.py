"""The run store (SQLite) under faults: another process's lock, a damaged file, a read-only
store. Every test uses its own temporary store (STUDIO_HOME)."""

from __future__ import annotations

import errno
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import pytest

from engine.cli import main
from engine.store import database
from engine.store.database import StoreBusy
from engine.store.runs import RunStore
from engine.training.recording import RunRecorder
from support.tiny import TINY_FLAGS


def cli(capsys, *args: str) -> tuple[int, str]:
    """Run the command line in this process -> (exit code, what it wrote to stderr, less the
    training progress bar)."""
    code = main(list(args))
    lines = capsys.readouterr().err.splitlines(keepends=True)
    return code, "".join(line for line in lines if "%|" not in line)


def hold_lock(db_path: Path, seconds: float) -> threading.Event:
    """Another connection takes the store's write lock for `seconds` (as a backup would);
    returns an event set once the lock is held."""
    held = threading.Event()

    def hold() -> None:
        db = sqlite3.connect(db_path, isolation_level=None)
        db.execute("BEGIN EXCLUSIVE")
        held.set()
        time.sleep(seconds)
        db.execute("COMMIT")
        db.close()

    threading.Thread(target=hold, daemon=True).start()
    held.wait(5)
    return held


def test_a_write_waits_out_a_lock_shorter_than_the_timeout(studio_home, monkeypatch):
    monkeypatch.setattr(database, "LOCK_TIMEOUT_S", 10.0)
    store = RunStore()
    hold_lock(store.db_path, 1.0)
    run = store.create_run("pix2pix", {}, max_steps=5)
    assert store.get(run.id).status == "running"


def test_a_lock_longer_than_the_timeout_is_one_line(studio_home, monkeypatch):
    monkeypatch.setattr(database, "LOCK_TIMEOUT_S", 0.5)
    store = RunStore()
    hold_lock(store.db_path, 3.0)
    with pytest.raises(StoreBusy, match="locked by another process for 0 s") as err:
        store.create_run("pix2pix", {})
    assert "\n" not in str(err.value) and str(store.db_path) in str(err.value)


def test_reading_is_not_blocked_by_a_writer_lock(studio_home):
    store = RunStore()
    store.create_run("pix2pix", {})
    hold_lock(store.db_path, 2.0)
    started = time.monotonic()
    assert len(store.list()) == 1
    assert time.monotonic() - started < 1.0


def test_a_run_keeps_training_while_the_store_is_locked_and_writes_later(studio_home, monkeypatch):
    """Losses and events queue while another process holds the lock; nothing waits long."""
    monkeypatch.setattr(database, "LOCK_TIMEOUT_S", 10.0)
    store = RunStore()
    run_id = store.create_run("pix2pix", {}).id
    recorder = RunRecorder(store, run_id)
    hold_lock(store.db_path, 2.0)
    started = time.monotonic()
    for step in range(1, 4):
        recorder.log(step, {"G_L1": 0.5}, now=True)
        recorder.event("checkpoint", f"step {step}")
    assert time.monotonic() - started < 1.5  # each write gave up quickly and queued
    assert store.metrics(run_id) == [] and recorder.queued_rows
    recorder.finish()  # waits out the rest of the lock, then writes everything
    assert [s for s, _, _ in store.metrics(run_id)] == [1, 2, 3]
    kinds = [kind for _, kind, _ in store.events(run_id)]
    assert kinds.count("checkpoint") == 3 and kinds[-1] == "finished"
    assert store.get(run_id).status == "finished"


def damage(path: Path) -> None:
    path.write_bytes(b"this is not an SQLite database" * 100)
    for extra in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        extra.unlink(missing_ok=True)


def test_a_damaged_store_is_one_line_saying_how_to_move_it_aside(
    tiny_run, studio_home, aligned_dataset, tmp_path, capsys
):
    db_path = studio_home / "studio.db"
    damage(db_path)
    for args in (
        ("runs", "list"),
        ("train", "pix2pix", "--data", str(aligned_dataset), "--max-steps", "1", *TINY_FLAGS),
        (
            "translate",
            "--model",
            tiny_run,
            str(aligned_dataset / "val" / "100_AB.png"),
            str(tmp_path / "o.png"),
        ),
    ):
        code, err = cli(capsys, *args)
        assert code == 1, args
        assert err.count("\n") == 1 and "damaged" in err and f"mv {db_path} {db_path}.damaged" in err


def test_a_store_damaged_inside_is_one_line_too(studio_home, capsys):
    store = RunStore()
    for k in range(200):
        store.create_run("pix2pix", {"padding": "x" * 500}, name=f"run {k}")
    db = sqlite3.connect(store.db_path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    data = bytearray(store.db_path.read_bytes())
    data[4096 + 100 : len(data) - 100] = bytes(len(data) - 4296)  # keep the header, zero the pages
    store.db_path.write_bytes(bytes(data))
    code, err = cli(capsys, "runs", "list")
    assert code == 1 and err.count("\n") == 1 and "damaged" in err


@pytest.fixture
def read_only(studio_home):
    """Makes the store read-only even for root (the immutable attribute); undone afterwards."""
    paths: list[Path] = []

    def freeze() -> None:
        db = sqlite3.connect(studio_home / "studio.db")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()  # the last connection removes the -wal and -shm files
        paths.extend(sorted(studio_home.rglob("*"), reverse=True) + [studio_home])
        done = subprocess.run(["chattr", "+i", *map(str, paths)], capture_output=True)
        if done.returncode != 0:
            pytest.skip(f"cannot make files immutable here: {done.stderr.decode().strip()}")

    yield freeze
    subprocess.run(["chattr", "-i", *map(str, paths)], capture_output=True)


def test_a_read_only_store_reads_and_refuses_writes_in_one_line(
    tiny_run, studio_home, aligned_dataset, tmp_path, capsys, read_only
):
    read_only()
    code, err = cli(capsys, "runs", "list")
    assert code == 0, err
    out_png = tmp_path / "out.png"
    code, err = cli(
        capsys, "translate", "--model", tiny_run, str(aligned_dataset / "val" / "100_AB.png"), str(out_png)
    )
    assert code == 0 and out_png.is_file(), err
    code, err = cli(
        capsys, "train", "pix2pix", "--data", str(aligned_dataset), "--max-steps", "1", *TINY_FLAGS
    )
    assert code == 1 and err.count("\n") == 1 and "read-only" in err, err
    code, err = cli(capsys, "runs", "stop", tiny_run)
    assert code == 1 and "\n" not in err.strip()


def test_runs_list_on_a_read_only_store_shows_its_runs(tiny_run, studio_home, capsys, read_only):
    read_only()
    assert main(["runs", "list"]) == 0
    assert tiny_run in capsys.readouterr().out


@pytest.mark.parametrize("full", [OSError(errno.ENOSPC, "No space left on device"), "safetensors"])
def test_a_full_disk_while_checkpointing_is_one_line_and_keeps_the_last_checkpoint(
    full, studio_home, aligned_dataset, monkeypatch, capsys
):
    from safetensors import SafetensorError

    from engine.store import checkpoints

    if full == "safetensors":  # what the writer itself raises
        full = SafetensorError(
            'Error while serializing: IoError(Os { code: 28, kind: StorageFull, message: "No space left on device" })'
        )
    real, calls = checkpoints.save_file, []

    def writer(tensors, path, metadata=None):
        calls.append(path)
        if len(calls) > 2:  # step 1's two files are written, step 2's weights find the disk full
            Path(path).write_bytes(b"half")
            raise full
        real(tensors, path, metadata=metadata)

    monkeypatch.setattr(checkpoints, "save_file", writer)
    code, err = cli(
        capsys, "train", "pix2pix", "--data", str(aligned_dataset), "--max-steps", "3", "--checkpoint-every", "1",
        "--batch-size", "2", *TINY_FLAGS,
    )  # fmt: skip
    assert code == 1 and err.count("\n") == 1 and "no space left" in err, err
    run = RunStore().list()[0]
    assert run.status == "failed" and "no space left" in run.message
    folder = run.folder / "checkpoints"
    assert sorted(p.name for p in folder.iterdir()) == [
        "step_00000001.safetensors",
        "step_00000001.state.safetensors",
    ]
    assert RunStore().latest_checkpoint(run.id) == folder / "step_00000001.safetensors"
