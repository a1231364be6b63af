"""The Problems page: every card opens, a card finds its runs by name and shows their held-out
metrics and samples, and the catalogue's runs are valid launches."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from engine.store.runs import RunStore
from engine.tasks import get_task
from engine.training.loop import TrainSettings
from pages.course import PROBLEMS, VIEWS, answers, launch_arguments, problem, run_name
from support.app import open_page, parsed_by_the_child, recorded_launches


def test_every_card_opens_with_its_question_and_answer():
    at = open_page("problems")
    for item in PROBLEMS:
        at.selectbox(key="problems.choice").set_value(item.key).run()
        assert not at.exception, (item.key, [e.message for e in at.exception])
        assert [h.value for h in at.subheader] == [item.title]  # one card, drawn once
        text = " ".join(m.value for m in at.markdown)
        assert item.asks in text
        assert [e.label for e in at.expander] == ["What the answer shows"]
        launch_buttons = [b for b in at.button if b.label in ("Launch", "Launch again")]
        assert len(launch_buttons) == len(item.runs)


def test_catalogue_runs_are_valid_launches_of_known_presets():
    for item in PROBLEMS:
        assert set(item.views) <= set(VIEWS)
        for run in item.runs:
            settings, config = launch_arguments(item, run, "somewhere")
            TrainSettings(**settings)
            get_task(run.task).Config(**config)  # every override is a field of the task
            assert settings["name"] == f"problem {item.key}: {run.label}"
    assert problem("cufs-skips").runs[2].overrides["skips"] is False


def test_every_card_run_parses_in_the_background_process(monkeypatch):
    for item in PROBLEMS:
        for run in item.runs:
            settings, config = launch_arguments(item, run, "somewhere")
            assert parsed_by_the_child(monkeypatch, run.task, settings, config) == config, (
                item.key,
                run.label,
            )


def test_a_card_shows_its_runs_metrics_and_samples(studio_home: Path):
    item = problem("cufs-skips")
    store = RunStore()
    config = {"settings": {"data": "x"}, "task_config": {}, "loss_names": ["G_L1"], "visual_names": []}
    for i, preset in enumerate(item.runs[:2]):
        run = store.create_run("pix2pix", config, name=run_name(item, preset), max_steps=10)
        rows = [(s, "G_L1", 1.0 / s) for s in range(1, 11)]
        rows += [(10, "val_L1", 0.2 + i), (10, "val_SSIM", 0.5), (10, "val_FID", 150.0)]
        store.log_metric_rows(run.id, rows)
        store.set_status(run.id, "finished")
        store.log_eval(run.id, "/data/cufs", "test", {"L1": 0.3 + i, "SSIM": 0.6, "FID": 120.0, "count": 100})
        run.samples_dir.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (48, 16), "white").save(run.samples_dir / "step_00000010.png")
    at = open_page("problems")
    at.selectbox(key="problems.choice").set_value(item.key).run()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["run"]) == ["L1 only", "pix2pix (L1 + cGAN)"]
    assert list(table["L1"]) == pytest.approx([0.2, 1.2]) and set(table.columns) >= {"SSIM", "FID"}
    captions = [i.proto.imgs[0].caption for i in at.image]
    assert captions == ["L1 only · step 10", "pix2pix (L1 + cGAN) · step 10"]  # one grid per run
    assert [b.label for b in at.button][:3] == ["Launch again", "Launch again", "Launch"]
    full = at.dataframe[1].value  # the whole test split, from `eval`
    assert list(full["L1"]) == pytest.approx([0.3, 1.3]) and list(full["split"]) == ["test", "test"]
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]
    assert any("held-out L1" in t for t in titles) and any("L1" in t for t in titles)


def test_runs_trained_by_hand_answer_a_card_when_their_preset_matches():
    item = problem("cufs-skips")
    no_skips, l1_only = item.runs[2], item.runs[0]
    by_hand = {
        "settings": {"data": "/data/cufs"},
        "task_config": {"mode": "l1+cgan", "lambda_l1": 100.0, "skips": False},
    }
    assert answers(no_skips, "pix2pix", by_hand)
    assert not answers(l1_only, "pix2pix", by_hand)  # another mode
    assert not answers(no_skips, "pix2pix", {**by_hand, "settings": {"data": "/data/facades"}})
    assert not answers(no_skips, "cyclegan", by_hand)
    smaller = {**by_hand, "task_config": {**by_hand["task_config"], "ngf": 16, "crop_size": 64}}
    assert answers(no_skips, "pix2pix", smaller)  # the size is the budget's, not the method's
    for changed in ({"init_from": "default"}, {"hints": True}, {"lambda_vgg": 10.0}):
        other = {**by_hand, "task_config": {**by_hand["task_config"], **changed}}
        assert not answers(no_skips, "pix2pix", other), changed  # another method, not this run


def test_the_fashion_card_decodes_interpolations_of_each_latent_run(studio_home: Path, tmp_path: Path):
    from test_latent import draw

    from engine.training.loop import TrainSettings, train

    item = problem("fashion-latent")
    for kind in ("a", "b"):
        (tmp_path / "shapes" / kind).mkdir(parents=True)
        for i in range(4):
            draw(i, 32, kind).save(tmp_path / "shapes" / kind / f"{i}.png")
    settings = TrainSettings(
        data=str(tmp_path / "shapes"), max_steps=2, batch_size=4, sample_size=2, sample_every=2,
        checkpoint_every=2, name=run_name(item, item.runs[1]),
    )  # fmt: skip
    train("vae", settings, {"nf": 8, "latent_dim": 8})
    at = open_page("problems")
    at.selectbox(key="problems.choice").set_value(item.key).run()
    assert not at.exception, [e.message for e in at.exception]
    captions = [i.proto.imgs[0].caption for i in at.image]
    assert "VAE · step 2: seed 1 → seed 2" in captions
    strip = next(i for i in at.image if "seed 1" in i.proto.imgs[0].caption)
    assert strip.proto.imgs[0].url  # the decoded strip was sent to the page


def test_launch_starts_the_preset_run_under_its_problem_name(aligned_dataset: Path, monkeypatch):
    started = recorded_launches(monkeypatch)
    at = open_page("problems")
    at.selectbox(key="problems.choice").set_value("cufs-skips").run()
    at.text_input(key="problems.cufs-skips.cufs").set_value(str(aligned_dataset)).run()
    next(b for b in at.button if b.key == "problems.cufs-skips.U-Net without skips").click().run()
    assert not at.exception, [e.message for e in at.exception]
    task, settings, config = started[0]
    assert task == "pix2pix" and settings["data"] == str(aligned_dataset)
    assert settings["name"] == "problem cufs-skips: U-Net without skips" and settings["max_steps"] == 1500
    assert config["skips"] is False and config["mode"] == "l1+cgan" and config["crop_size"] == 128
    assert any("Launched U-Net without skips" in s.value for s in at.success)
