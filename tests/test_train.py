"""The one trainer on pix2pix: losses, samples, checkpoints, exact resume, clean stops, evaluation
during training."""

import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from engine.errors import UserError
from engine.inference.loader import export_model
from engine.store.checkpoints import read_weights
from engine.store.runs import RunStore
from engine.training.loop import TrainSettings, train
from support.tiny import TINY_FLAGS, TINY_PIX2PIX


def settings(data, **kw) -> TrainSettings:
    base = dict(
        data=str(data), max_steps=6, batch_size=2, sample_size=2, sample_every=3, checkpoint_every=3, seed=1
    )
    return TrainSettings(**{**base, **kw})


def series(store: RunStore, run_id: str, name: str) -> list[float]:
    return [v for _, n, v in store.metrics(run_id) if n == name]


def test_cgan_run_logs_every_loss_each_step_and_writes_samples_and_checkpoints(aligned_dataset):
    run_id = train("pix2pix", settings(aligned_dataset), TINY_PIX2PIX)
    store = RunStore()
    run = store.get(run_id)
    assert run.status == "finished" and run.step == 6
    assert run.config["loss_names"] == ["G_GAN", "G_L1", "D_real", "D_fake", "D"]
    rows = store.metrics(run_id)
    for name in run.config["loss_names"]:
        assert [s for s, n, _ in rows if n == name] == [1, 2, 3, 4, 5, 6]
    samples = store.samples(run_id)
    assert [s for s, _ in samples] == [3, 6]
    from PIL import Image

    grid = Image.open(samples[-1][1])
    assert grid.size == (3 * 32 + 2 * 2, 2 * 32 + 2)  # input | output | target, 2 rows
    assert [s for s, _ in store.checkpoints(run_id)] == [3, 6]
    nets, meta = read_weights(store.latest_checkpoint(run_id))
    assert set(nets) == {"G", "D"} and meta["step"] == 6 and meta["config"]["ngf"] == 8


def test_l1_only_loss_falls(aligned_dataset):
    run_id = train(
        "pix2pix",
        settings(
            aligned_dataset,
            max_steps=60,
            batch_size=4,
            lr_policy="constant",
            sample_every=1000,
            checkpoint_every=1000,
        ),
        {**TINY_PIX2PIX, "mode": "l1", "lr": 1e-3},
    )
    store = RunStore()
    assert store.get(run_id).config["loss_names"] == ["G_L1"]
    l1 = series(store, run_id, "G_L1")
    assert len(l1) == 60
    assert sum(l1[-10:]) / 10 < 0.6 * sum(l1[:10]) / 10


def test_resume_continues_exactly_where_it_stopped(aligned_dataset):
    straight = train("pix2pix", settings(aligned_dataset, max_steps=6, lr_policy="constant"), TINY_PIX2PIX)
    first = train("pix2pix", settings(aligned_dataset, max_steps=3, lr_policy="constant"), TINY_PIX2PIX)
    resumed = train(resume=first, max_steps=6)
    assert resumed == first
    store = RunStore()
    assert store.get(first).status == "finished" and store.get(first).step == 6
    a, _ = read_weights(store.latest_checkpoint(straight))
    b, _ = read_weights(store.latest_checkpoint(first))
    for net in ("G", "D"):
        for key in a[net]:
            torch.testing.assert_close(a[net][key], b[net][key], rtol=0, atol=0, msg=f"{net}.{key}")
    assert series(store, first, "G_L1") == series(store, straight, "G_L1")
    kinds = [kind for _, kind, _ in store.events(first)]
    assert "resumed" in kinds


def start_training_process(data, home, *extra: str) -> tuple[subprocess.Popen, RunStore]:
    """`python -m engine train` in a child process, returned once it has trained a few steps."""
    cmd = [
        sys.executable,
        "-m",
        "engine",
        "train",
        "pix2pix",
        "--data",
        str(data),
        "--max-steps",
        "5000",
        "--batch-size",
        "2",
        *TINY_FLAGS,
        *extra,
    ]
    proc = subprocess.Popen(
        cmd, env={**os.environ, "STUDIO_HOME": str(home)}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    store = RunStore(home)
    deadline = time.time() + 60
    while time.time() < deadline and not (store.list() and store.list()[0].step >= 5):
        time.sleep(0.3)
    return proc, store


@pytest.mark.slow
def test_sigterm_stops_cleanly_and_the_run_resumes(aligned_dataset, studio_home):
    proc, store = start_training_process(aligned_dataset, studio_home, "--checkpoint-every", "100000")
    proc.send_signal(signal.SIGTERM)
    output = proc.communicate(timeout=60)[0].decode()
    assert proc.returncode == 0, output
    run = store.list()[0]
    assert run.status == "stopped", output
    stopped_at = run.step
    assert 5 <= stopped_at < 5000
    assert store.checkpoints(run.id)[-1][0] == stopped_at
    train(resume=run.id, max_steps=stopped_at + 3)
    run = store.get(run.id)
    assert run.status == "finished" and run.step == stopped_at + 3


@pytest.mark.slow
def test_sigterm_the_moment_the_run_appears_still_stops_it_cleanly(aligned_dataset, studio_home):
    """The Runs page's Stop right after Start: a SIGTERM as soon as the run's row exists (while
    the run takes its lock and sets up) ends it as "stopped", not killed and left "running"."""
    cmd = [sys.executable, "-m", "engine", "train", "pix2pix", "--data", str(aligned_dataset)]
    cmd += ["--max-steps", "5000", "--batch-size", "2", *TINY_FLAGS]
    proc = subprocess.Popen(
        cmd,
        env={**os.environ, "STUDIO_HOME": str(studio_home)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    store = RunStore(studio_home)
    deadline = time.time() + 60
    while time.time() < deadline and not store.list() and proc.poll() is None:
        time.sleep(0.005)
    proc.send_signal(signal.SIGTERM)
    output = proc.communicate(timeout=60)[0].decode()
    assert proc.returncode == 0, output
    run = store.list()[0]
    assert run.status == "stopped" and run.step < 5000, output


@pytest.mark.slow
def test_stop_request_from_the_store_stops_the_run(aligned_dataset, studio_home):
    proc, store = start_training_process(aligned_dataset, studio_home, "--mode", "l1")
    store.request_stop(store.list()[0].id)
    output = proc.communicate(timeout=60)[0].decode()
    assert proc.returncode == 0, output
    assert store.list()[0].status == "stopped"


def test_bad_dataset_path_is_a_clear_error(tmp_path):
    with pytest.raises(UserError, match="dataset folder not found"):
        train("pix2pix", settings(tmp_path / "missing"), TINY_PIX2PIX)


def test_losses_that_turn_nan_fail_the_run_and_keep_the_checkpoints_before(
    aligned_dataset, monkeypatch, capsys
):
    from engine.cli import main
    from engine.tasks.pix2pix import Pix2Pix

    real_step = Pix2Pix.train_step
    calls = []

    def blows_up(self, batch):
        calls.append(1)
        losses = real_step(self, batch)
        return {**losses, "G_L1": float("nan")} if len(calls) >= 3 else losses

    monkeypatch.setattr(Pix2Pix, "train_step", blows_up)
    flags = [
        "--data",
        str(aligned_dataset),
        "--max-steps",
        "6",
        "--batch-size",
        "2",
        "--checkpoint-every",
        "2",
    ]
    assert main(["train", "pix2pix", *flags, *TINY_FLAGS]) == 1
    assert "training diverged at step 3 (G_L1=nan)" in capsys.readouterr().err
    store = RunStore()
    run = store.list()[0]
    assert run.status == "failed" and "diverged" in run.message
    assert [step for step, _ in store.checkpoints(run.id)] == [2]


def test_bad_settings_are_refused_before_a_run_exists(aligned_dataset):
    for bad in (
        {"batch_size": 0},
        {"checkpoint_every": 0},
        {"max_steps": -1},
        {"eval_every": 2, "eval_size": 1},
    ):
        with pytest.raises(UserError, match="must be"):
            train("pix2pix", settings(aligned_dataset, **bad), TINY_PIX2PIX)
    assert RunStore().list() == []


def test_resume_refuses_a_live_run_and_skips_a_broken_checkpoint(aligned_dataset):
    store = RunStore()
    run_id = train("pix2pix", settings(aligned_dataset, max_steps=4, checkpoint_every=2), TINY_PIX2PIX)
    folder = store.runs_dir / run_id / "checkpoints"
    (folder / "step_00000004.safetensors").write_bytes(b"")  # a save cut short
    (folder / "step_00000005.tmp").write_bytes(b"partial")
    assert store.latest_checkpoint(run_id).name == "step_00000002.safetensors"
    store.claim(run_id)  # this (live) process holds the run
    with pytest.raises(UserError, match="still running"):
        train(resume=run_id, max_steps=6)
    store.set_status(run_id, "stopped")
    train(resume=run_id, max_steps=6)
    assert not (folder / "step_00000005.tmp").exists()
    steps = [s for s, n, _ in store.metrics(run_id) if n == "G_L1"]
    assert steps == [1, 2, 3, 4, 5, 6]  # steps 3-4 were recomputed, not listed twice
    assert store.get(run_id).status == "finished"


def test_stopping_an_unknown_run_is_an_error(capsys):
    from engine.cli import main

    assert main(["runs", "stop", "no-such-run"]) == 1
    assert "no run 'no-such-run'" in capsys.readouterr().err


def test_vgg_loss_and_two_scale_discriminator_are_logged_and_checkpointed(aligned_dataset):
    config = {**TINY_PIX2PIX, "lambda_vgg": 1.0, "d_scales": 2, "lambda_fm": 1.0}
    run_id = train("pix2pix", settings(aligned_dataset, max_steps=2, sample_every=2), config)
    store = RunStore()
    run = store.get(run_id)
    assert run.status == "finished"
    assert run.config["loss_names"] == ["G_GAN", "G_L1", "G_VGG", "G_FM", "D_real", "D_fake", "D"]
    assert all(v > 0 for v in series(store, run_id, "G_VGG"))
    nets, _ = read_weights(store.latest_checkpoint(run_id))
    assert {k.split(".")[1] for k in nets["D"]} == {"0", "1"}  # scales.0 and scales.1
    with pytest.raises(UserError, match="--d-scales must be 1 to 4"):
        train("pix2pix", settings(aligned_dataset), {**TINY_PIX2PIX, "d_scales": 0})


@pytest.mark.slow
def test_eval_during_training_records_metrics_and_exports_the_best(aligned_dataset, tmp_path):
    config = {**TINY_PIX2PIX, "hints": True, "drawing_aug": True}
    settings = TrainSettings(
        data=str(aligned_dataset), max_steps=4, batch_size=2, eval_every=2, eval_size=3, sample_every=2
    )
    run_id = train("pix2pix", settings, config)
    store = RunStore()
    rows = [(step, name) for step, name, _ in store.metrics(run_id) if name.startswith("val_")]
    for step in (2, 4):
        for name in ("val_L1", "val_SSIM", "val_FID", "val_KID", "val_drawn_KID", "val_hints_L1"):
            assert (step, name) in rows
    kid = {step: v for step, n, v in store.metrics(run_id) if n == "val_KID"}
    best = store.runs_dir / run_id / "checkpoints" / "best.safetensors"
    _, meta = read_weights(best)
    assert meta["scores"]["val_KID"] == pytest.approx(min(kid.values()))
    assert meta["step"] == min(kid, key=kid.get)
    out = export_model(run_id, tmp_path / "best.safetensors", best=True)
    nets, exported = read_weights(out)
    assert list(nets) == ["G"] and exported["step"] == meta["step"]
    assert any(kind == "best" for _, kind, _ in store.events(run_id))
