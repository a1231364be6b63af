"""The Runs and Compare pages: pace and ETA, checkpoint export for download, style sweeps kept
in the Style lab, comparable runs by default, single points drawn as markers."""

from __future__ import annotations

import pytest

from engine.store import runs as runs_module
from engine.store.curves import Series
from engine.store.runs import RunStore
from engine.style.sweep import TASK as SWEEP_TASK
from engine.training.loop import TrainSettings, train
from support.app import open_page
from support.tiny import TINY_PIX2PIX

CONFIG = {"settings": {"data": "x"}, "task_config": {}, "loss_names": ["G_L1"], "visual_names": []}


def finished_run(store: RunStore, task: str, name: str) -> str:
    run = store.create_run(task, CONFIG, name=name, max_steps=3)
    store.log_metric_rows(run.id, [(s, "G_L1", 1.0 / s) for s in (1, 2, 3)])
    store.set_status(run.id, "finished")
    return run.id


def test_pace_is_measured_from_the_step_times_and_gives_an_eta(studio_home, monkeypatch):
    from pages.common import pace_text

    now = [1000.0]
    monkeypatch.setattr(runs_module.time, "time", lambda: now[0])
    store = RunStore()
    run = store.create_run("pix2pix", CONFIG, max_steps=100)
    store.claim(run.id)
    assert store.seconds_per_step(run.id) is None and pace_text(store, store.get(run.id)) == ""
    for step in range(1, 11):
        now[0] += 2.0  # each logged step 2 s after the last
        store.log_metrics(run.id, step, {"G_L1": 1.0})
    assert store.seconds_per_step(run.id) == pytest.approx(2.0)
    store.log_metrics(run.id, 10, {"G_L1": 1.0})  # the step count moves with the metrics
    assert pace_text(store, store.get(run.id)) == "2.00 s/step · about 3 min left"


def test_a_finished_run_offers_its_model_for_download(aligned_dataset, studio_home):
    settings = TrainSettings(data=str(aligned_dataset), max_steps=2, batch_size=2, sample_size=2)
    run_id = train("pix2pix", settings, TINY_PIX2PIX)
    at = open_page("runs")
    at.button(key=f"runs.{run_id}.export").click().run()
    assert not at.exception and not at.error
    download = at.get("download_button")
    assert len(download) == 1 and f"{run_id}.safetensors" in download[0].proto.label
    captions = [c for image in at.get("image") for c in image.captions]
    assert any(c.endswith("input | output | target") for c in captions), captions  # not real_A | ...


def test_style_sweeps_stay_off_runs_and_compare_and_open_in_the_style_lab(studio_home):
    from pages.common import run_page, runs_table

    store = RunStore()
    trained = finished_run(store, "pix2pix", "trained")
    sweep = finished_run(store, SWEEP_TASK, "a sweep")
    at = open_page("runs")
    assert at.selectbox(key="runs.pick").options == [
        f"trained · pix2pix · finished · started {when(store, trained)}"
    ]
    at.query_params["run"] = sweep  # a sweep's link opens the Style lab
    at.run()
    assert at.title[0].value == "Style lab" and at.selectbox(key="lab.saved").value == sweep
    at = open_page("compare")
    assert at.multiselect(key="compare.runs").value == [trained]
    assert run_page(store.get(sweep)) == f"style_lab?sweep={sweep}"
    assert runs_table([store.get(sweep)])[0]["open"] == f"style_lab?sweep={sweep}"


def when(store: RunStore, run_id: str) -> str:
    from pages.common import when as format_time

    return format_time(store.get(run_id).created)


def test_compare_starts_with_the_newest_runs_of_one_task(studio_home):
    store = RunStore()
    finished_run(store, "vae", "a vae")
    first, second = finished_run(store, "pix2pix", "one"), finished_run(store, "pix2pix", "two")
    at = open_page("compare")
    assert at.multiselect(key="compare.runs").value == [second, first]


def test_a_single_point_is_drawn_as_a_marker():
    from pages.common import loss_figure

    fig = loss_figure("loss", [("one", Series([5], [0.3])), ("many", Series([1, 2], [0.5, 0.4]))], 0.6)
    modes = {trace.name: trace.mode for trace in fig.data}
    assert modes["one"] == "lines+markers" and modes["many"] == "lines"
