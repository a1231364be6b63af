"""The Train page before launch: sizes that finish in minutes on a CPU, an estimated time from a
measured pace (earlier runs of the same budget, else two timed steps, cached), and a dataset
folder that is proposed from where datasets live and remembered across visits."""

from __future__ import annotations

import json
import shlex
import time

import pytest
import torch

from engine.data.sources import get_command, local_datasets, search_roots
from engine.store.runs import RunStore
from engine.training.estimate import budget_key, estimate, pace_of_earlier_runs
from engine.training.presets import FULL, QUICK, sized_config, sized_settings
from support.app import open_page
from support.tiny import TINY_PIX2PIX, write_shapes_dataset

L1 = "problem set: L1 only"
CPU_ONLY = pytest.mark.skipif(torch.cuda.is_available(), reason="the quick size is the default on a CPU")


@CPU_ONLY
def test_the_l1_preset_opens_at_a_size_a_cpu_finishes_and_full_is_one_choice_away():
    at = open_page("train")
    at.selectbox(key="train.preset.pix2pix").set_value(L1).run()
    assert at.selectbox(key="train.size.pix2pix").value == QUICK
    sizes = {n: at.number_input(key=f"cfg.pix2pix.{n}").value for n in ("crop_size", "ngf", "ndf")}
    assert sizes == {"crop_size": 128, "ngf": 32, "ndf": 32}
    assert at.number_input(key="set.max_steps").value == 300
    assert at.selectbox(key="cfg.pix2pix.mode").value == "l1"  # the preset's objective is kept
    at.selectbox(key="train.size.pix2pix").set_value(FULL).run()
    assert at.number_input(key="cfg.pix2pix.crop_size").value == 256
    assert at.number_input(key="set.max_steps").value == 20000


def test_sizes_never_enlarge_a_preset_nor_resize_one_that_starts_from_a_checkpoint():
    spade = sized_config(
        "spade", "facades, reduced (as default-spade: ngf 16, hidden 32, style code 64)", QUICK
    )
    assert spade["ngf"] == 16 and spade["crop_size"] == 128
    looks = "looks from the bundled default (as trained here: L1 100, KL 0.1, GAN 0.1)"
    bicycle = sized_config("bicyclegan", looks, QUICK)
    assert bicycle["init_from"] == "default" and bicycle["crop_size"] == 256  # the default's depth
    assert sized_settings(QUICK)["max_steps"] < sized_settings(FULL)["max_steps"]


def log_paced_run(store: RunStore, task_config: dict, settings: dict, pace: float, steps: int = 40) -> str:
    """A finished run whose steps were logged `pace` seconds apart."""
    config = {"settings": settings, "task_config": task_config, "loss_names": ["G_L1"], "visual_names": []}
    run = store.create_run("pix2pix", config, max_steps=steps)
    start = time.time() - pace * steps - 10
    rows = [(s, "G_L1", 1.0, start + pace * s) for s in range(1, steps + 1)]
    store.log_rows(run.id, rows, [(start, "started", "")])
    store.set_status(run.id, "finished")
    return run.id


def test_the_estimate_uses_the_measured_pace_of_earlier_runs_of_the_same_size(aligned_dataset):
    store = RunStore()
    config, settings = (
        sized_config("pix2pix", L1, QUICK),
        {**sized_settings(QUICK), "data": str(aligned_dataset)},
    )
    log_paced_run(store, config, settings, pace=2.5)
    log_paced_run(store, {**config, "ngf": 64}, settings, pace=9.0)  # another size: not counted
    assert pace_of_earlier_runs(store, budget_key("pix2pix", config, settings)) == (pytest.approx(2.5), 1)
    rate = {**config, "lr": 1e-3, "lambda_l1": 10.0}  # rates and weights do not change a step's cost
    assert estimate(store, "pix2pix", rate, settings).total_seconds == pytest.approx(750)
    if torch.cuda.is_available():
        return
    at = open_page("train")
    at.selectbox(key="train.preset.pix2pix").set_value(L1).run()
    at.text_input(key="train.data").input(str(aligned_dataset)).run()
    shown = " ".join(i.value for i in at.info)
    assert "about 12 min for 300 steps at 2.50 s/step" in shown and "1 earlier run" in shown


def test_time_two_steps_measures_this_config_and_keeps_the_figure(aligned_dataset, studio_home):
    at = open_page("train")
    at.text_input(key="train.data").input(str(aligned_dataset))
    for name, value in TINY_PIX2PIX.items():
        at.number_input(key=f"cfg.pix2pix.{name}").set_value(value)
    at.number_input(key="set.batch_size").set_value(2).run()
    assert not at.info, "nothing measured yet"
    at.button(key="train.measure").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    shown = " ".join(i.value for i in at.info)
    assert "s/step" in shown and "2 steps timed here" in shown
    cached = json.loads((studio_home / "step_times.json").read_text())
    (seconds,) = [v for per_machine in cached.values() for v in per_machine.values()]
    assert 0 < seconds < 60
    again = open_page("train")  # a new visit: the figure is there without measuring again
    again.text_input(key="train.data").input(str(aligned_dataset))
    for name, value in TINY_PIX2PIX.items():
        again.number_input(key=f"cfg.pix2pix.{name}").set_value(value)
    again.number_input(key="set.batch_size").set_value(2).run()
    assert any("2 steps timed here" in i.value for i in again.info)


def test_the_train_page_proposes_a_dataset_found_here_and_remembers_a_typed_one(studio_home, tmp_path):
    shoes = write_shapes_dataset(studio_home / "datasets" / "edges2shoes")
    assert local_datasets()["edges2shoes"] == shoes  # $STUDIO_HOME/datasets is searched first
    at = open_page("train")
    assert at.text_input(key="train.data").value == str(shoes)
    assert not at.button(key="train.launch").disabled
    mine = write_shapes_dataset(tmp_path / "my-pairs")
    at.text_input(key="train.data").input(str(mine)).run()
    assert open_page("train").text_input(key="train.data").value == str(mine)  # after a reload
    at.text_input(key="train.data").input(str(tmp_path / "typo")).run()
    assert open_page("train").text_input(key="train.data").value == str(mine)  # a typo is not kept


def test_datasets_are_looked_for_where_the_readme_puts_them(studio_home, monkeypatch, tmp_path):
    extra = tmp_path / "extra"
    monkeypatch.setenv("STUDIO_DATASETS", str(extra))
    monkeypatch.chdir(tmp_path)
    roots = search_roots()
    assert roots[:3] == [studio_home / "datasets", extra, tmp_path / "datasets"]
    write_shapes_dataset(tmp_path / "datasets" / "facades")  # `--data datasets/facades`, as the README
    assert local_datasets()["facades"] == tmp_path / "datasets" / "facades"


def test_get_commands_run_and_cufs_is_not_offered_as_a_download(monkeypatch, tmp_path):
    from engine.cli.data import cmd_data
    from engine.data import sources

    fetched = []
    monkeypatch.setattr(
        sources, "download_dataset", lambda name, dest, **kw: fetched.append(name) or tmp_path
    )
    argv = shlex.split(get_command("edges2shoes"), comments=True)
    assert argv[:3] == ["python", "-m", "engine"] and cmd_data(argv[4:]) == 0
    assert fetched == ["edges2shoes"]
    assert get_command("cufs").startswith("#") and "not downloadable" in get_command("cufs")


def test_the_page_says_how_to_get_a_dataset_when_none_is_found(monkeypatch, tmp_path):
    from engine.data import sources

    monkeypatch.setattr(sources, "search_roots", lambda: [tmp_path / "nothing"])
    monkeypatch.setattr(sources, "_system_fashion_mnist", lambda: False)
    at = open_page("train")
    assert at.text_input(key="train.data").value == ""
    assert any(c.value.startswith("python -m engine data download edges2shoes") for c in at.code)
