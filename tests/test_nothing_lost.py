"""Nothing lost, nothing half-done: an output never writes over an input, an export never
replaces a run's checkpoints, one process trains a run at a time (a lock the OS drops with its
process), a resume with nothing left to do changes nothing, and a second Ctrl-C stops at once
with the run "stopped" and its checkpoints whole."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from engine.cli import main
from engine.errors import UserError
from engine.store.checkpoints import (
    is_intact,
    list_checkpoints,
    remove_stale_temporaries,
    resumable_step,
    save_checkpoint,
)
from engine.store.run_lock import RunLock
from engine.store.runs import RunStore
from engine.training.loop import train
from support.tiny import TINY_FLAGS, write_aligned

ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


def fingerprint(folder: Path) -> dict[str, str]:
    """Every file below `folder` with a hash of its bytes."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def refused(capsys, argv: list[str], *words: str) -> str:
    """The command exits 1 with one line of error naming what it refused."""
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: "), err
    for word in words:
        assert word in err, err
    return err


def test_translate_never_writes_over_its_input(tiny_run, tmp_path, capsys):
    folder = tmp_path / "pictures"
    write_aligned(folder, 2, 32)
    before = fingerprint(tmp_path)
    one = folder / "0_AB.png"
    model = ["--model", tiny_run, "--direction", "AtoB"]
    refused(capsys, ["translate", *model, str(one), str(one)], "refusing", str(one))
    refused(capsys, ["translate", *model, str(folder), str(folder)], "refusing")
    refused(capsys, ["translate", *model, str(one), str(folder)], "holds the input")  # folder/0_AB.png
    refused(capsys, ["translate", *model, str(folder), str(tmp_path)], "holds the input")
    refused(
        capsys, ["translate", *model, str(one), str(tmp_path / "o.png"), "--hints", str(tmp_path / "o.png")]
    )
    assert fingerprint(tmp_path) == before
    assert main(["translate", *model, str(folder), str(folder / "out")]) == 0  # beside, not over
    assert sorted(p.name for p in (folder / "out").iterdir()) == ["0_AB.png", "1_AB.png"]


def test_prior_and_stylize_never_write_over_their_inputs(tmp_path, capsys):
    picture = tmp_path / "x.png"
    Image.new("RGB", (16, 16), (200, 30, 30)).save(picture)
    style = tmp_path / "s.png"
    Image.new("RGB", (16, 16), (30, 30, 200)).save(style)
    link = tmp_path / "link.png"
    link.symlink_to(picture)  # the same file under another name
    before = fingerprint(tmp_path)
    fast = ["--steps", "1", "--quiet"]
    refused(capsys, ["prior", "denoise", str(picture), str(picture), *fast], "it is the input")
    refused(capsys, ["prior", "denoise", str(picture), str(tmp_path / "o.png"), "--log", str(picture), *fast])
    refused(capsys, ["stylize", str(picture), str(style), str(picture), "--steps", "1"], "it is the input")
    refused(capsys, ["stylize", str(picture), str(style), str(style), "--steps", "1"], "it is the input")
    refused(capsys, ["prior", "denoise", str(picture), str(link), *fast], "it is the input")
    assert fingerprint(tmp_path) == before


def test_make_drawings_never_writes_into_its_source(aligned_dataset, capsys):
    before = fingerprint(aligned_dataset)
    make = ["data", "make-drawings", "--size", "32"]
    refused(capsys, [*make, str(aligned_dataset), str(aligned_dataset)], "refusing")
    refused(capsys, [*make, str(aligned_dataset), str(aligned_dataset / "drawn")], "inside the input")
    refused(capsys, [*make, str(aligned_dataset / "val"), str(aligned_dataset)], "holds the input")
    refused(capsys, ["data", "make-edges", str(aligned_dataset / "val"), str(aligned_dataset / "val")])
    assert fingerprint(aligned_dataset) == before


def test_export_never_replaces_a_runs_checkpoint(tiny_run, studio_home, tmp_path, capsys):
    store = RunStore(studio_home)
    latest = store.latest_checkpoint(tiny_run)
    folder = latest.parent
    before = fingerprint(folder)
    refused(capsys, ["export", tiny_run, str(latest)], "refusing", str(latest))
    refused(capsys, ["export", tiny_run, str(folder / "small.safetensors")], "checkpoints")
    refused(capsys, ["export", str(latest), str(folder / "best.safetensors")], "checkpoints")
    assert fingerprint(folder) == before
    out = tmp_path / "small.safetensors"
    assert main(["export", tiny_run, str(out)]) == 0
    written = out.read_bytes()
    refused(capsys, ["export", tiny_run, str(out), "--fp32"], "exists", "--overwrite")
    assert out.read_bytes() == written
    assert main(["export", tiny_run, str(out), "--fp32", "--overwrite"]) == 0
    assert out.read_bytes() != written and not list(tmp_path.glob("*.tmp"))


def test_resume_refuses_an_export_in_a_checkpoints_place(tiny_run, studio_home, tmp_path, capsys):
    """What an older export did to a run: its latest checkpoint became the inference-only file."""
    store = RunStore(studio_home)
    latest = store.latest_checkpoint(tiny_run)
    assert main(["export", tiny_run, str(tmp_path / "small.safetensors")]) == 0
    shutil.copyfile(tmp_path / "small.safetensors", latest)
    events = store.events(tiny_run)
    refused(capsys, ["train", "--resume", tiny_run, "--max-steps", "4"], str(latest), "no training state")
    assert store.events(tiny_run) == events and store.get(tiny_run).status == "finished"
    with pytest.raises(UserError, match="no training state"):
        resumable_step(latest.with_name("step_00000009.safetensors"))  # no files at all


def test_resume_with_nothing_left_to_do_changes_nothing(tiny_run, studio_home, capsys):
    store = RunStore(studio_home)
    run, events, metrics = store.get(tiny_run), store.events(tiny_run), store.metrics(tiny_run)
    assert run.step == 2 and run.max_steps == 2
    refused(capsys, ["train", "--resume", tiny_run, "--max-steps", "1"], "at step 2", "--max-steps above 2")
    refused(capsys, ["train", "--resume", tiny_run], "at step 2 of 2", "nothing left to do")
    after = store.get(tiny_run)
    assert (after.status, after.step, after.max_steps, after.message) == ("finished", 2, 2, run.message)
    assert store.events(tiny_run) == events and store.metrics(tiny_run) == metrics


def test_a_run_held_by_another_writer_is_refused_and_the_lock_dies_with_its_process(
    tiny_run, studio_home, capsys
):
    store = RunStore(studio_home)
    folder, events = store.get(tiny_run).folder, store.events(tiny_run)
    with RunLock() as lock:  # another descriptor is another holder, even in this process
        lock.take(folder, tiny_run)
        refused(capsys, ["train", "--resume", tiny_run, "--max-steps", "3"], "being trained by pid")
    assert store.events(tiny_run) == events and store.get(tiny_run).status == "finished"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from engine.store.run_lock import RunLock; "
            "lock = RunLock(); lock.take(sys.argv[1], 'r'); print('held', flush=True); time.sleep(60)",
            str(folder),
        ],
        stdout=subprocess.PIPE,
        env=ENV,
    )
    assert holder.stdout.readline().strip() == b"held"
    with pytest.raises(UserError, match=f"pid {holder.pid}"):
        RunLock().take(folder, tiny_run)
    holder.kill()  # a crash: nothing is cleaned up, the OS drops the lock
    holder.wait()
    with RunLock() as lock:
        lock.take(folder, tiny_run)  # free again
    assert train(resume=tiny_run, max_steps=3) == tiny_run
    assert store.get(tiny_run).status == "finished" and store.get(tiny_run).step == 3


def test_a_save_cut_short_never_becomes_the_latest_checkpoint(tmp_path, monkeypatch):
    import torch

    nets, folder = {"G": torch.nn.Linear(2, 2)}, tmp_path / "checkpoints"
    for step in (1, 2):
        save_checkpoint(folder, step, nets, {"task": "pix2pix"}, {"rng": []})
    real, renamed = Path.replace, []

    def cut_after_one_rename(self, target):
        renamed.append(target)
        if len(renamed) == 2:
            raise KeyboardInterrupt  # a second Ctrl-C between the state's rename and the weights'
        return real(self, target)

    monkeypatch.setattr(Path, "replace", cut_after_one_rename)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(folder, 2, nets, {"task": "pix2pix"}, {"rng": []})  # step 2 saved again
    monkeypatch.undo()
    # step 2's old weights never pair with its new state: the latest whole checkpoint is step 1
    assert [step for step, _ in list_checkpoints(folder)] == [1]
    assert resumable_step(list_checkpoints(folder)[-1][1]) == 1
    remove_stale_temporaries(folder)  # what the next start does
    assert sorted(p.name for p in folder.iterdir()) == [
        "step_00000001.safetensors",
        "step_00000001.state.safetensors",
    ]


def train_command(home: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "engine", "train", *args],
        env={**ENV, "STUDIO_HOME": str(home)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def wait_for(condition, timeout: float = 90) -> None:
    deadline = time.time() + timeout
    while not condition():
        assert time.time() < deadline, "timed out"
        time.sleep(0.1)


@pytest.mark.slow
def test_two_resumes_started_together_make_one_writer(tiny_run, studio_home):
    store = RunStore(studio_home)
    both = [train_command(studio_home, "--resume", tiny_run, "--max-steps", "100000") for _ in range(2)]
    wait_for(lambda: any(p.poll() is not None for p in both))
    loser = next(p for p in both if p.poll() is not None)
    winner = next(p for p in both if p is not loser)
    output = loser.communicate()[0].decode()
    assert loser.returncode == 1 and "Traceback" not in output, output
    assert f"error: run {tiny_run} is" in output  # being trained by the other, or still running
    wait_for(lambda: store.get(tiny_run).step > 3)
    winner.send_signal(signal.SIGTERM)
    assert winner.wait(timeout=60) == 0
    kinds = [kind for _, kind, _ in store.events(tiny_run)]
    assert kinds.count("resumed") == 1 and store.get(tiny_run).status == "stopped"


# `python -m engine train` whose saves, once a first Ctrl-C has been seen, wait with their files
# written and not yet in place: the second Ctrl-C comes, as it does for a person, while a long
# save is under way
SLOW_SAVES_AFTER_CTRL_C = """
import pathlib, sys, time
import engine.store.checkpoints as checkpoints
from engine.training import recording
marker = pathlib.Path(sys.argv[1])
handle, fsync = recording.StopFlag._handle, checkpoints.fsync
def noted(self, signum, frame):
    handle(self, signum, frame)
    marker.touch()
def slow_fsync(path):
    if marker.exists() and path.suffix == ".tmp":
        time.sleep(60)
    fsync(path)
recording.StopFlag._handle, checkpoints.fsync = noted, slow_fsync
from engine.cli import main
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.slow
def test_a_second_ctrl_c_stops_at_once_with_the_run_stopped_and_its_checkpoints_whole(
    aligned_dataset, studio_home, tmp_path
):
    store, marker = RunStore(studio_home), tmp_path / "first-ctrl-c"
    args = [
        "--data",
        str(aligned_dataset),
        "--max-steps",
        "100000",
        "--batch-size",
        "2",
        "--checkpoint-every",
        "2",
    ]
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOW_SAVES_AFTER_CTRL_C, str(marker), "train", "pix2pix", *args, *TINY_FLAGS],
        env={**ENV, "STUDIO_HOME": str(studio_home)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    wait_for(lambda: store.list() and len(store.checkpoints(store.list()[0].id)) >= 1)
    run_id = store.list()[0].id
    with pytest.raises(UserError, match=f"pid {proc.pid}"):  # a new run's writer holds the lock
        RunLock().take(store.runs_dir / run_id, run_id)
    proc.send_signal(signal.SIGINT)  # stop at the next step, with a checkpoint ...
    folder = store.runs_dir / run_id / "checkpoints"
    wait_for(lambda: marker.exists() and any(folder.glob("*.state.tmp")))
    proc.send_signal(signal.SIGINT)  # ... and while that checkpoint is being written: stop now
    output = proc.communicate(timeout=60)[0].decode()
    assert proc.returncode == 130 and "Traceback" not in output, output
    run = store.get(run_id)
    assert run.status == "stopped" and run.message.startswith("interrupted at step"), run.message
    assert output.strip().splitlines()[-1] == f"interrupted: {run.message}"
    assert list(folder.glob("*.tmp"))  # the save cut short ...
    saved = list_checkpoints(folder)
    assert saved and all(is_intact(path) for _, path in saved)  # ... is none of the checkpoints
    step = resumable_step(store.latest_checkpoint(run_id))
    assert f"resume continues from step_{step:08d}.safetensors" in run.message
    assert train(resume=run_id, max_steps=step + 1) == run_id  # the lock went with the process
    assert store.get(run_id).status == "finished" and store.get(run_id).step == step + 1
    assert not list(folder.glob("*.tmp"))


def test_a_sigterm_while_the_run_sets_up_stops_it_cleanly(aligned_dataset, studio_home, monkeypatch):
    """A stop signal between the run's row and its first step (checkpointer, samples, loader)
    ends it "stopped" with a checkpoint, as one during training does; it used to kill the
    process and leave the run "running"."""
    import engine.training.loop as loop
    from engine.training.loop import TrainSettings
    from support.tiny import TINY_PIX2PIX

    real = loop.make_loader

    def signalled(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)  # as the studio's Stop would, mid set-up
        return real(*args, **kwargs)

    monkeypatch.setattr(loop, "make_loader", signalled)
    run_id = train(
        "pix2pix", TrainSettings(data=str(aligned_dataset), max_steps=50, batch_size=2), TINY_PIX2PIX
    )
    run = RunStore(studio_home).get(run_id)
    assert run.status == "stopped" and RunStore(studio_home).latest_checkpoint(run_id) is not None
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # the handler is given back
