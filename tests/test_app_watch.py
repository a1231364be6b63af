"""Watching a run in the Streamlit app: late held-out rows, a resumed run's curves, pace after a
resume, controls that follow the store, launch notes that go, and plots that read well."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.store import runs as runs_module
from engine.store.curves import Curves, Series
from engine.store.runs import RunStore
from engine.style.sweep import TASK as SWEEP_TASK
from engine.training.launch import LaunchedRun
from support.app import chart_titles, open_page

L1_ONLY = {
    "settings": {"data": "x", "eval_every": 100},
    "task_config": {"mode": "l1"},
    "loss_names": ["G_L1"],
}
CGAN = ["G_GAN", "G_L1", "D_real", "D_fake", "D"]


def l1_run(store: RunStore, steps: int = 3, name: str = "watched") -> str:
    run = store.create_run("pix2pix", {**L1_ONLY, "visual_names": []}, name=name, max_steps=1000)
    store.log_metric_rows(run.id, [(s, "G_L1", 1.0 / s) for s in range(1, steps + 1)])
    return run.id


def with_checkpoint(store: RunStore, run_id: str, step: int) -> None:
    folder = store.runs_dir / run_id / "checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"step_{step:08d}.safetensors").write_bytes(b"x")


def sleeper(log: Path, run_id: str | None = None, task: str = "pix2pix") -> LaunchedRun:
    """A launch whose process just waits (killed by the test)."""
    log.write_text("error: no dataset there\n")
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    command = [sys.executable, "-m", "engine", "train", task, "--data=x"]
    return LaunchedRun(process, log, command, time.time(), run_id)


# the curve poller ------------------------------------------------------------------------------
def test_held_out_rows_written_after_their_steps_losses_appear_while_watched(studio_home):
    store = RunStore()
    run_id = l1_run(store, steps=100)
    at = open_page("runs")
    assert any("first evaluation arrives" in c.value for c in at.caption)
    store.log_metric_rows(run_id, [(100, "val_L1", 0.4), (100, "val_KID", 0.05)])  # scored after
    at.run()
    assert chart_titles(at)[1:] == ["held-out L1 ↓", "held-out KID ↓"]
    assert not any("first evaluation arrives" in c.value for c in at.caption)
    store.log_metric_rows(run_id, [(101, "G_L1", 0.01)])
    at.run()
    series = at.session_state["curves"][run_id].series
    assert series["val_L1"].steps == [100] and series["G_L1"].steps[-2:] == [100, 101]


def test_a_resumed_run_is_read_anew_without_the_steps_it_rewrote(studio_home):
    store = RunStore()
    run_id = l1_run(store, steps=5)
    store.log_event(run_id, "started")
    curves = Curves()
    assert curves.poll(store, run_id) == 5
    store.forget_metrics_after(run_id, 3)  # the resume's checkpoint is at step 3
    store.log_event(run_id, "resumed")
    store.log_metric_rows(run_id, [(4, "G_L1", 0.7), (5, "G_L1", 0.6)])
    curves.poll(store, run_id)
    assert curves.series["G_L1"].steps == [1, 2, 3, 4, 5]
    assert curves.series["G_L1"].values[3:] == [0.7, 0.6]
    assert curves.poll(store, run_id) == 0


# pace ------------------------------------------------------------------------------------------
def test_pace_after_a_resume_counts_only_the_new_process(studio_home, monkeypatch):
    from pages.common import pace_text

    now = [1000.0]
    monkeypatch.setattr(runs_module.time, "time", lambda: now[0])
    store = RunStore()
    run = store.create_run("pix2pix", L1_ONLY, max_steps=300)
    store.log_event(run.id, "started")
    for step in range(1, 11):
        now[0] += 2.5
        store.log_metrics(run.id, step, {"G_L1": 1.0})
    now[0] += 3000.0  # idle, stopped, then resumed
    store.claim(run.id)
    store.log_event(run.id, "resumed")
    assert store.seconds_per_step(run.id) is None  # nothing of the new process yet
    for first in (11, 15, 19):  # flushed in batches of four steps, one time each
        now[0] += 10.0
        store.log_metric_rows(run.id, [(s, "G_L1", 1.0) for s in range(first, first + 4)])
    assert store.seconds_per_step(run.id) == pytest.approx(2.5)
    assert pace_text(store, store.get(run.id)) == "2.50 s/step · about 12 min left"


def test_time_left_reads_without_about_under():
    from pages.common import time_left_text

    assert time_left_text(20) == "under a minute left"
    assert time_left_text(3 * 60) == "about 3 min left"
    assert time_left_text(65 * 60) == "about 1 h 05 min left"


# controls --------------------------------------------------------------------------------------
def test_stop_shows_stopping_and_a_stopped_run_offers_resume(studio_home):
    store = RunStore()
    run_id = l1_run(store)
    with_checkpoint(store, run_id, 3)
    at = open_page("runs")
    at.button(key=f"runs.{run_id}.stop").click().run()
    assert store.stop_requested(run_id)
    stop = at.button(key=f"runs.{run_id}.stop")
    assert stop.label == "Stopping…" and stop.disabled
    store.set_status(run_id, "stopped")
    at.run()
    assert at.get("progress")[0].proto.text.startswith("stopped · step 3/1000")
    assert [p.proto.popover.label for p in at.get("popover")] == ["Resume from step 3…"]


def test_resume_waits_for_its_process_then_offers_stop(studio_home, monkeypatch, tmp_path):
    store = RunStore()
    run_id = l1_run(store)
    store.set_status(run_id, "stopped")
    with_checkpoint(store, run_id, 3)
    launch = sleeper(tmp_path / "log", run_id)
    monkeypatch.setattr("pages.common.resume_training", lambda *args: launch)
    try:
        at = open_page("runs")
        at.button(key=f"runs.{run_id}.resume").click().run()
        assert not at.get("popover"), "no second resume while ours starts"
        assert any(f"resuming in process {launch.pid}" in c.value for c in at.caption)
        store.claim(run_id)  # the process has taken the run over
        at.run()
        assert at.button(key=f"runs.{run_id}.stop").label == "Stop"
        assert at.get("progress")[0].proto.text.startswith("running")
    finally:
        launch.process.kill()


def test_a_launch_stops_saying_starting_once_its_run_is_in_the_store(studio_home, tmp_path):
    launch = sleeper(tmp_path / "log")
    try:
        at = open_page("train")
        at.session_state["launches"] = [launch]
        at.run()
        assert any(f"Process {launch.pid} is starting" in i.value for i in at.info)
        run_id = l1_run(RunStore())
        at.run()
        assert not any("is starting" in i.value for i in at.info)
        assert launch.run_id == run_id
    finally:
        launch.process.kill()


def test_a_launch_that_ends_without_a_run_says_why(studio_home, tmp_path):
    launch = sleeper(tmp_path / "log")
    at = open_page("runs")
    at.session_state["launches"] = [launch]
    at.run()  # seen starting
    launch.process.kill()
    launch.process.wait()
    at.run()
    assert [e.value for e in at.error] == [
        f"Process {launch.pid} ended before its run began: error: no dataset there"
    ]


# plots -----------------------------------------------------------------------------------------
def test_a_single_point_sits_at_its_step_on_a_positive_axis():
    from pages.common import loss_figure

    layout = loss_figure("held-out L1", [("clean", Series([200], [0.3]))], markers=True).layout
    assert list(layout.xaxis.range) == [100, 300] and list(layout.xaxis.tickvals) == [200]
    assert list(layout.yaxis.range) == [0, 0.6]
    many = loss_figure("L1", [("a", Series([1, 2], [0.5, 0.4]))]).layout
    assert many.xaxis.range is None and many.yaxis.range is None


def test_log_axes_are_ticked_with_plain_numbers():
    from engine.store.curves import log_ticks
    from pages.plots import value_axis

    wide = value_axis([1e-4, 0.03, 12.0], log=True)
    assert wide["ticktext"] == ["0.0001", "0.001", "0.01", "0.1", "1", "10"]
    assert value_axis([0.12, 0.6], log=True)["ticktext"] == ["0.2", "0.3", "0.4", "0.5", "0.6"]
    assert value_axis([3e-9, 2e6], log=True)["ticktext"][:2] == ["1e-8", "1e-6"]
    assert log_ticks(0.21, 0.28) == [] and value_axis([0.21, 0.28], log=True)["tickformat"] == ".3~g"


def test_the_style_lab_ticks_its_log_plots_with_plain_numbers(studio_home):
    store = RunStore()
    point = {"key": "relu2_1", "label": "relu2_1", "overrides": {"content_layer": "relu2_1"}}
    config = {"points": [point], "kind": "content_layer", "inputs": {"content": "a", "style": "b"}}
    run = store.create_run(SWEEP_TASK, config, name="a sweep", max_steps=1)
    store.log_metric_rows(
        run.id,
        [(1, "content_loss/relu2_1", 12.0), (1, "style_loss/relu2_1", 2e-4), (1, "total_loss/relu2_1", 12.0)],
    )
    curves = {"relu2_1": {"content": [30.0, 20.0, 12.0], "style": [1e-2, 1e-3, 2e-4]}}
    (run.folder / "sweep.json").write_text(json.dumps({"curves": curves}))
    store.set_status(run.id, "finished")
    at = open_page("style_lab")
    axes = {
        t: json.loads(c.proto.spec)["layout"]["yaxis"]
        for t, c in zip(chart_titles(at), at.get("plotly_chart"))
    }
    assert axes["final losses"]["ticktext"] == ["0.001", "0.01", "0.1", "1", "10"]
    assert axes["style loss while optimising"]["ticktext"] == [
        "0.0002",
        "0.0005",
        "0.001",
        "0.002",
        "0.005",
        "0.01",
    ]
    assert not any("µ" in t for axis in axes.values() for t in axis.get("ticktext", []))


def test_the_parts_toggle_shows_only_for_runs_with_parts(studio_home):
    store = RunStore()
    l1 = l1_run(store, name="l1 only")
    at = open_page("runs")
    assert "runs.parts" not in [t.key for t in at.toggle]
    cgan = store.create_run("pix2pix", {"loss_names": CGAN, "settings": {}}, name="cgan", max_steps=9)
    store.log_metric_rows(cgan.id, [(1, n, 0.5) for n in CGAN])
    at.run().selectbox(key="runs.pick").set_value(cgan.id).run()
    assert at.toggle(key="runs.parts").label == "D_real / D_fake"
    assert l1 != cgan.id


def test_compare_names_runs_and_rounds_figures(studio_home):
    store = RunStore()
    run_id = l1_run(store, name="my l1 run")
    store.set_status(run_id, "finished")
    store.log_eval(run_id, "shoes", "val", {"KID": 0.0123456789, "KID_std": 1e-16, "FID": 123.456789})
    at = open_page("compare")
    table = at.dataframe[0].value
    assert list(table["model"]) == ["my l1 run"]
    assert (table["KID"][0], table["KID_std"][0], table["FID"][0]) == (0.01235, 0.0, 123.5)


def test_home_counts_style_sweeps_apart_from_training_runs(studio_home):
    store = RunStore()
    store.set_status(l1_run(store), "finished")
    store.set_status(store.create_run(SWEEP_TASK, {}, name="a sweep", max_steps=1).id, "finished")
    metrics = {m.label: m.value for m in open_page("home").metric}
    assert metrics["training runs"] == "1" and metrics[":material/palette: style sweeps"] == "1"
    assert metrics[":material/check_circle: finished"] == "1"
