"""Problems cards: their datasets are found where the README puts them and remembered, their
commands run, a card says loudly when its runs differ in budget and states what its runs show
from their own figures, and a launched run cannot be launched twice."""

from __future__ import annotations

import shlex
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from engine.store.runs import RunStore
from pages.course import problem, run_name
from support.app import open_page
from support.tiny import write_shapes_dataset


def open_card(key: str):
    at = open_page("problems")
    at.selectbox(key="problems.choice").set_value(key).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def launch_buttons(at) -> dict[str, object]:
    return {b.key.rsplit(".", 1)[-1]: b for b in at.button if b.label in ("Launch", "Launch again")}


@pytest.fixture
def nothing_found(monkeypatch, tmp_path):
    """No dataset anywhere (not even the development data beside the checkout)."""
    from engine.data import sources

    monkeypatch.setattr(sources, "search_roots", lambda: [tmp_path / "nowhere"])


def test_a_dataset_in_dot_datasets_fills_the_card_and_enables_launch(monkeypatch, tmp_path, nothing_found):
    from engine.data import sources

    shoes = write_shapes_dataset(tmp_path / "datasets" / "edges2shoes")
    monkeypatch.setattr(sources, "search_roots", lambda: [Path("datasets")])  # as the README names it
    monkeypatch.chdir(tmp_path)
    at = open_card("pix2pix-objective")
    assert Path(at.text_input(key="problems.pix2pix-objective.edges2shoes").value).resolve() == shoes
    assert [b.disabled for b in launch_buttons(at).values()] == [False, False]


def test_a_typed_folder_is_remembered_and_the_hints_are_commands_that_exist(tmp_path, nothing_found):
    at = open_card("cufs-skips")
    code = " ".join(c.value for c in at.code)
    assert "not downloadable" in code and "python -m engine data cufs" not in code
    assert all(b.disabled for b in launch_buttons(at).values())
    faces = write_shapes_dataset(tmp_path / "cufs")
    at.text_input(key="problems.cufs-skips.cufs").set_value(str(faces)).run()
    assert not any(b.disabled for b in launch_buttons(at).values())
    again = open_card("cufs-skips")  # a reload: the folder is still there
    assert again.text_input(key="problems.cufs-skips.cufs").value == str(faces)
    shoes = open_card("pix2pix-objective")
    assert "python -m engine data download edges2shoes" in " ".join(c.value for c in shoes.code)


def test_the_cards_train_commands_run_with_the_chosen_folder(monkeypatch, aligned_dataset):
    from engine.cli import cmd_train
    from engine.training import loop

    at = open_card("cufs-skips")
    at.text_input(key="problems.cufs-skips.cufs").set_value(str(aligned_dataset)).run()
    lines = [
        line for c in at.code for line in c.value.splitlines() if line.startswith("python -m engine train")
    ]
    assert len(lines) == 3
    trained = []
    monkeypatch.setattr(
        loop, "train", lambda task, settings, config, home=None: trained.append((settings, config))
    )
    assert cmd_train(shlex.split(lines[2])[4:]) == 0
    settings, config = trained[0]
    assert settings.data == str(aligned_dataset) and settings.max_steps == 1500
    assert settings.name == "problem cufs-skips: U-Net without skips"
    assert config["skips"] is False and config["crop_size"] == 128 and config["ngf"] == 32


def add_run(store: RunStore, label: str, steps: int, crop: int, ngf: int, fid: float, d: tuple) -> str:
    item = problem("pix2pix-objective")
    preset = next(p for p in item.runs if p.label == label)
    config = {
        "settings": {"data": "/data/edges2shoes", "max_steps": steps, "batch_size": 4},
        "task_config": {"mode": "l1" if label == "L1 only" else "l1+cgan", "crop_size": crop, "ngf": ngf},
        "loss_names": ["G_L1", "D"],
        "visual_names": [],
    }
    run = store.create_run("pix2pix", config, name=run_name(item, preset), max_steps=steps)
    rows = [(s, "G_L1", 0.3) for s in range(1, steps + 1)]
    rows += [(s, "D", d[0] if s <= steps // 2 else d[1]) for s in range(1, steps + 1)]
    rows += [(steps, "val_L1", 0.2), (steps, "val_FID", fid), (steps, "val_KID", fid / 1000)]
    store.log_metric_rows(run.id, rows)
    store.set_status(run.id, "finished")
    return run.id


def test_a_card_says_loudly_when_its_runs_differ_and_derives_its_answer_from_their_figures():
    store = RunStore()
    add_run(store, "L1 only", 1500, 128, 32, fid=120.0, d=(0.0, 0.0))
    add_run(store, "L1 + cGAN", 200, 256, 64, fid=150.0, d=(0.9, 0.1))
    at = open_card("pix2pix-objective")
    rows = " ".join(m.value for m in at.markdown)
    assert "**L1 only** · `pix2pix` · 1,500 steps, 128 px, ngf 32" in rows
    assert "**L1 + cGAN** · `pix2pix` · 200 steps, 256 px, ngf 64" in rows
    assert any("differ in budget" in w.value for w in at.warning)
    answer = " ".join(m.value for m in at.expander[0].markdown)
    assert "What the paper expects" in answer
    assert "FID (lower is better): L1 only 120, L1 + cGAN 150. Best here: **L1 only**" in answer
    assert "L1 + cGAN: D went from 0.9 to 0.1: it falls" in answer
    assert "L1 (lower is better): L1 only 0.2, L1 + cGAN 0.2. The same to three digits." in answer
    assert "hovers" not in answer and "differ in budget" in answer


def test_runs_of_the_same_budget_give_no_warning():
    store = RunStore()
    add_run(store, "L1 only", 300, 128, 32, fid=160.0, d=(0.0, 0.0))
    add_run(store, "L1 + cGAN", 300, 128, 32, fid=140.0, d=(0.7, 0.68))
    at = open_card("pix2pix-objective")
    assert not at.warning
    answer = " ".join(m.value for m in at.expander[0].markdown)
    assert "Best here: **L1 + cGAN**" in answer and "D went from 0.7 to 0.68: it stays level" in answer


def test_launch_again_is_disabled_while_the_launch_is_pending(monkeypatch, aligned_dataset):
    from engine.training import launch

    store = RunStore()
    item = problem("cufs-skips")
    config = {"settings": {"data": "/data/cufs"}, "task_config": {}, "loss_names": [], "visual_names": []}
    old = store.create_run("pix2pix", config, name=run_name(item, item.runs[2]), max_steps=10)
    store.set_status(old.id, "finished")
    process = SimpleNamespace(pid=1, returncode=None)
    process.poll = lambda: process.returncode
    fake = launch.LaunchedRun(process, Path("log"), ["python", "-m", "engine", "train"], time.time())
    monkeypatch.setattr(launch, "start_training", lambda *a, **k: fake)
    at = open_card("cufs-skips")
    at.text_input(key="problems.cufs-skips.cufs").set_value(str(aligned_dataset)).run()
    assert not at.exception, [e.message for e in at.exception]
    button = launch_buttons(at)["U-Net without skips"]
    assert button.label == "Launch again" and not button.disabled
    button.click().run()
    button = launch_buttons(at)["U-Net without skips"]
    assert button.disabled, "a second launch must wait for the first"
    assert any("starting up" in c.value for c in at.caption)
    process.returncode = 1  # the launch ended (it failed to start, say): launching is possible again
    at.run()
    assert not launch_buttons(at)["U-Net without skips"].disabled


def test_findings_compare_runs_only_as_they_were_all_scored():
    from engine.store.findings import metric_findings

    store = RunStore()
    a = add_run(store, "L1 only", 300, 128, 32, fid=160.0, d=(0.0, 0.0))
    b = add_run(store, "L1 + cGAN", 300, 128, 32, fid=140.0, d=(0.7, 0.68))
    runs = {"a": store.get(a), "b": store.get(b)}
    store.log_eval(a, "/data/x", "test", {"FID": 100.0, "L1": 0.1})  # only one run scored on the split
    assert "FID (lower is better): a 160, b 140. Best here: **b**." in metric_findings(store, runs)
    store.log_eval(b, "/data/x", "test", {"FID": 120.0, "L1": 0.2})
    lines = metric_findings(store, runs)
    assert "FID (lower is better): a 100, b 120. Best here: **a**." in lines
    assert lines[-1] == "(Scored on the whole test split.)"
