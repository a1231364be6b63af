"""pix2pix's loss study card (issue 26): the table is built from stored FCN-score evals (ours
beside the paper's, missing rows as "—"), its reading states only what the figures show, the
README's markdown carries the paper's figures, and the card renders, launches its runs (the FCN
a `segment` run) and scores the finished runs in the background."""

from __future__ import annotations

import shlex
from pathlib import Path
from types import SimpleNamespace

import pytest

from engine.cli import main
from engine.fcn_score import GROUND_TRUTH, record_fcn_score
from engine.loss_study import (
    FCN_PRESET,
    MISSING,
    PAPER,
    WAYS,
    Row,
    Table,
    build_tables,
    markdown,
    preset_name,
    reading,
    table_rows,
    unscored,
)
from engine.metrics_segmentation import CLASS_ACC, CLASS_IOU, PIXEL_ACC
from engine.store.runs import RunStore
from engine.training.presets import LOSS_STUDY_MODES, LOSS_STUDY_SETTINGS, PRESETS, preset_config
from pages.course import problem
from support.app import open_page, recorded_launches

FACADES = "/data/facades"
KEY = "pix2pix-loss-study"


def stored_run(store: RunStore, task: str, preset: str, data: str = FACADES, status: str = "finished"):
    """A run as the trainer stores it: the preset's config, on `data`, at the study's budget."""
    settings = {"data": data, **LOSS_STUDY_SETTINGS}
    run = store.create_run(task, {"settings": settings, "task_config": preset_config(task, preset)})
    store.log_metric_rows(run.id, [(LOSS_STUDY_SETTINGS["max_steps"], "G_L1", 0.1)])
    store.set_status(run.id, status)
    return run


def scores(pixel: float, cls: float = 0.1, iou: float = 0.05) -> dict[str, float]:
    return {PIXEL_ACC: pixel, CLASS_ACC: cls, CLASS_IOU: iou, "count": 106.0}


def test_the_presets_and_settings_are_the_ones_the_study_trains():
    assert FCN_PRESET in PRESETS["segment"] and LOSS_STUDY_SETTINGS["max_steps"] == 800
    for way, direction in WAYS.items():
        for label, mode in LOSS_STUDY_MODES.items():
            config = PRESETS["pix2pix"][preset_name(label, way)]
            assert (config["mode"], config["direction"]) == (mode, direction)


def test_the_table_is_built_from_stored_evals(studio_home: Path):
    store = RunStore()
    fcn = stored_run(store, "segment", FCN_PRESET)
    old_l1 = stored_run(store, "pix2pix", preset_name("L1", "labels → photo"))
    record_fcn_score(old_l1.id, FACADES, "test", fcn.id, scores(0.9))
    l1 = stored_run(store, "pix2pix", preset_name("L1", "labels → photo"))  # newer: this one counts
    record_fcn_score(l1.id, FACADES, "test", fcn.id, scores(0.31, 0.12, 0.07))
    cgan = stored_run(store, "pix2pix", preset_name("L1+cGAN", "labels → photo"))
    record_fcn_score(cgan.id, FACADES, "test", "another-fcn", scores(0.5))  # another FCN's: not ours
    record_fcn_score(cgan.id, "/data/cityscapes", "test", fcn.id, scores(0.6))  # another dataset
    stored_run(store, "pix2pix", preset_name("GAN", "labels → photo"), status="running")  # unfinished
    stored_run(store, "pix2pix", preset_name("cGAN", "labels → photo"), data="/data/maps")
    back = stored_run(store, "pix2pix", preset_name("L1", "photo → labels"))
    record_fcn_score(back.id, FACADES, "test", None, scores(0.7, 0.3, 0.2))  # decoded by colour
    record_fcn_score(None, FACADES, "test", fcn.id, scores(0.77, 0.4, 0.3))

    to_photo, to_labels = build_tables(store)
    assert (to_photo.way, to_photo.scored_by, to_labels.scored_by) == (
        "labels → photo",
        f"FCN {fcn.id}",
        "label colours",
    )
    rows = {row.label: row for row in to_photo.rows}
    assert list(rows) == [*LOSS_STUDY_MODES, GROUND_TRUTH]
    assert rows["L1"].run.id == l1.id and rows["L1"].ours == pytest.approx((0.31, 0.12, 0.07))
    assert rows["L1+cGAN"].run.id == cgan.id and rows["L1+cGAN"].ours is None  # run found, not scored
    assert rows["GAN"].run is None and rows["cGAN"].run is None
    assert rows[GROUND_TRUTH].ours == pytest.approx((0.77, 0.4, 0.3))
    assert rows["L1"].paper == PAPER["labels → photo"]["L1"] == (0.42, 0.15, 0.11)
    assert next(r for r in to_labels.rows if r.label == "L1").ours == pytest.approx((0.7, 0.3, 0.2))
    assert GROUND_TRUTH not in [r.label for r in to_labels.rows]

    shown = {row["loss"]: row for row in table_rows(to_photo)}
    assert shown["L1"]["per-pixel acc. (ours)"] == "0.31" and shown["L1"]["per-pixel acc. (paper)"] == "0.42"
    assert shown["GAN"]["class IoU (ours)"] == MISSING and shown["GAN"]["class IoU (paper)"] == "0.01"
    back_rows = {row["loss"]: row for row in table_rows(to_labels)}
    assert back_rows["GAN"]["per-pixel acc. (paper)"] == MISSING  # the paper has no GAN row this way
    # the rows a finished run lacks figures for are what "Score with the FCN" runs
    assert unscored([to_photo, to_labels], "FACADES") == [
        [
            "eval",
            cgan.id,
            "--data",
            "FACADES",
            "--split",
            "test",
            "--direction",
            "BtoA",
            "--fcn-score",
            "--fcn",
            fcn.id,
        ]
    ]
    assert build_tables(store, fcn="another-fcn")[0].rows[4].ours == pytest.approx((0.5, 0.1, 0.05))


def table(figures: dict[str, float | None], way: str = "labels → photo") -> Table:
    paper = PAPER[way]
    rows = [
        Row(
            label, None, None if figures.get(label) is None else (figures[label], 0.1, 0.05), paper.get(label)
        )
        for label in [*LOSS_STUDY_MODES, GROUND_TRUTH]
    ]
    return Table(way, "x", tuple(rows))


def test_the_reading_states_a_clear_ordering_that_matches_the_paper():
    lines = reading(
        table({"L1": 0.40, "GAN": 0.10, "cGAN": 0.50, "L1+GAN": 0.60, "L1+cGAN": 0.64, GROUND_TRUTH: 0.8})
    )
    text = "\n".join(lines)
    assert lines[0] == "By per-pixel accuracy: L1+cGAN 0.64 > L1+GAN 0.60 > cGAN 0.50 > L1 0.40 > GAN 0.10."
    assert "The same ordering as the paper's" in text and "Unlike the paper" not in text
    assert "GAN alone (unconditional) scored lowest: 0.10, below L1 0.40" in text
    assert "L1 (0.40) is below L1+cGAN (0.64), as in the paper (0.42 vs 0.66)." in text
    assert (
        "The real photos score 0.80 through this FCN; the best generator here, L1+cGAN, reaches 0.64, 80% of it; paper: 0.66, 82% of 0.80."
        in text
    )
    assert "closer than 0.01 are called about equal" in text


def test_the_reading_never_claims_an_order_the_figures_do_not_show():
    near = reading(table({"L1": 0.503, "GAN": 0.498, "cGAN": 0.500, "L1+GAN": 0.501, "L1+cGAN": 0.505}))
    text = "\n".join(near)
    assert ">" not in near[0] and near[0].count("≈") == 4
    assert "The same ordering" not in text and "scored lowest" not in text and "is below" not in text
    assert (
        "About equal here, apart in the paper" in text and "No pair is ordered against the paper's." in text
    )
    assert (
        "no clear collapse" in text and "L1 (0.50) is about equal to L1+cGAN (0.51), unlike the paper" in text
    )
    # a clear reversal is said as one, and GAN not lowest is said too
    flipped = "\n".join(reading(table({"L1": 0.7, "GAN": 0.5, "cGAN": 0.3, "L1+cGAN": 0.6})))
    assert "Unlike the paper: L1 above cGAN (0.70 vs 0.30; paper 0.42 vs 0.57)" in flipped
    assert "GAN alone did not score lowest: cGAN did (0.30 vs GAN 0.50)." in flipped
    assert "L1 (0.70) is above L1+cGAN (0.60), unlike the paper" in flipped
    # photo -> labels: the paper has L1 above L1+cGAN, so the same relation here agrees with it
    back = "\n".join(reading(table({"L1": 0.8, "cGAN": 0.6, "L1+cGAN": 0.7}, "photo → labels")))
    assert "L1 (0.80) is above L1+cGAN (0.70), as in the paper (0.86 vs 0.83)." in back
    assert "The same ordering as the paper's" in back
    assert reading(table({"L1": 0.4}))[0].startswith("Too few rows scored to compare (1 of 5)")


def test_the_markdown_has_the_paper_figures_and_dashes_for_missing_rows():
    text = markdown([table({"L1": 0.45, "L1+cGAN": 0.61}), table({}, "photo → labels")])
    assert "| loss | per-pixel acc. (ours) | per-pixel acc. (paper) |" in text
    assert "| L1 | 0.45 | 0.42 | 0.10 | 0.15 | 0.05 | 0.11 |" in text
    assert "| GAN | — | 0.22 | — | 0.05 | — | 0.01 |" in text
    assert "| ground truth | — | 0.80 | — | 0.26 | — | 0.21 |" in text
    assert "| L1 | — | 0.86 | — | 0.42 | — | 0.35 |" in text and "**photo → labels**" in text
    assert "- L1 (0.45) is below L1+cGAN (0.61), as in the paper" in text


def test_the_cli_prints_the_table_from_the_store(studio_home: Path, capsys):
    store = RunStore()
    fcn = stored_run(store, "segment", FCN_PRESET)
    run = stored_run(store, "pix2pix", preset_name("cGAN", "labels → photo"))
    record_fcn_score(run.id, FACADES, "test", fcn.id, scores(0.555, 0.2, 0.15))
    assert main(["loss-study"]) == 0
    out = capsys.readouterr().out
    assert "| cGAN | 0.56 | 0.57 | 0.20 | 0.22 | 0.15 | 0.16 |" in out and f"scored by FCN {fcn.id}" in out
    assert "Too few rows scored" in out


def open_card(key: str = KEY):
    at = open_page("problems")
    at.selectbox(key="problems.choice").set_value(key).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_the_card_shows_the_table_and_reading_from_the_store(studio_home: Path):
    store = RunStore()
    fcn = stored_run(store, "segment", FCN_PRESET)
    for label, pixel in (("L1", 0.40), ("GAN", 0.10), ("L1+cGAN", 0.62)):
        run = stored_run(store, "pix2pix", preset_name(label, "labels → photo"))
        record_fcn_score(run.id, FACADES, "test", fcn.id, scores(pixel))
    at = open_card()
    item = problem(KEY)
    assert [r.task for r in item.runs] == ["segment"] + ["pix2pix"] * 10
    frames = [d.value for d in at.dataframe]
    assert list(frames[0]["loss"]) == [*LOSS_STUDY_MODES, GROUND_TRUTH]
    assert list(frames[0]["per-pixel acc. (ours)"]) == ["0.40", "0.10", MISSING, MISSING, "0.62", MISSING]
    assert list(frames[0]["per-pixel acc. (paper)"]) == ["0.42", "0.22", "0.57", "0.64", "0.66", "0.80"]
    text = " ".join(m.value for m in at.markdown)
    assert "By per-pixel accuracy: L1+cGAN 0.62 > L1 0.40 > GAN 0.10." in text
    assert "These runs differ in budget" not in " ".join(w.value for w in at.warning)  # the FCN is no rival
    code = " ".join(c.value for c in at.code)
    assert (
        "--fcn-score --ground-truth --fcn FCN_RUN" in code and "python -m engine loss-study --score" in code
    )
    assert "python -m engine train segment" in code and "--mode=gan " in code


def test_the_cards_fcn_launches_as_a_segment_run(tmp_path: Path, monkeypatch):
    from engine.cli import cmd_train
    from engine.training import loop
    from support.tiny import write_label_dataset

    started = recorded_launches(monkeypatch)
    facades = write_label_dataset(tmp_path / "facades", "aligned")
    at = open_card()
    at.text_input(key=f"problems.{KEY}.facades").set_value(str(facades)).run()
    next(b for b in at.button if b.key == f"problems.{KEY}.FCN (segments the photos)").click().run()
    assert not at.exception, [e.message for e in at.exception]
    task, settings, config = started[0]
    assert task == "segment" and settings["batch_size"] == 4 and settings["max_steps"] == 1500
    assert config["crop_size"] == 128 and settings["name"] == f"problem {KEY}: FCN (segments the photos)"
    next(b for b in at.button if b.key == f"problems.{KEY}.GAN (photo → labels)").click().run()
    task, settings, config = started[1]
    assert (task, config["mode"], config["direction"], settings["batch_size"]) == (
        "pix2pix",
        "gan",
        "AtoB",
        1,
    )
    # the card's train line for the FCN parses as the CLI's own
    trained = []
    monkeypatch.setattr(
        loop, "train", lambda task, settings, config, home=None: trained.append((task, config))
    )
    line = next(
        x for c in at.code for x in c.value.splitlines() if x.startswith("python -m engine train segment")
    )
    assert cmd_train(shlex.split(line)[4:]) == 0 and trained[0][1]["crop_size"] == 128


def test_score_with_the_fcn_scores_the_finished_runs_in_the_background(
    studio_home: Path, monkeypatch, tmp_path
):
    from engine.training import launch

    store = RunStore()
    fcn = stored_run(store, "segment", FCN_PRESET)
    stored_run(store, "pix2pix", preset_name("L1", "labels → photo"))  # finished, not scored
    spawned = []

    def fake_command(args, home=None, label="command", share=None):
        spawned.append(args)
        return SimpleNamespace(
            pid=2, log_path="log", exited=lambda: False, process=SimpleNamespace(returncode=None)
        )

    monkeypatch.setattr(launch, "start_command", fake_command)
    at = open_card()
    at.text_input(key=f"problems.{KEY}.facades").set_value(str(tmp_path)).run()
    # the run and the real photos (the table has a run to compare with them now)
    assert any("rows lacking their FCN-score: 2" in c.value for c in at.caption)
    at.button(key="problems.loss_study.score").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert spawned == [["loss-study", "--score", str(tmp_path), "--fcn", fcn.id]]
    assert at.button(key="problems.loss_study.score").disabled  # while it scores


@pytest.mark.slow
def test_loss_study_score_scores_tiny_runs_and_fills_the_table(
    studio_home: Path, tmp_path: Path, capsys, one_thread
):
    """End to end: runs trained (tiny) with the study's presets, scored by `loss-study --score`
    through `eval --fcn-score`, appear in the table with the figures the evals stored."""
    import shutil

    from engine.training.loop import TrainSettings, train
    from support.tiny import write_label_dataset

    data = write_label_dataset(tmp_path / "facades", "aligned")
    shutil.copytree(data / "val", data / "test")  # the study scores the test split
    tiny = {"load_size": 36, "crop_size": 32, "ngf": 8, "ndf": 8}  # sizes: not the method
    settings = TrainSettings(data=str(data), max_steps=2, batch_size=2, sample_size=2, seed=0)
    fcn = train("segment", settings, {"load_size": 36, "crop_size": 32, "ngf": 8})
    to_photo = train(
        "pix2pix", settings, {**preset_config("pix2pix", preset_name("L1", "labels → photo")), **tiny}
    )
    to_labels = train(
        "pix2pix", settings, {**preset_config("pix2pix", preset_name("L1", "photo → labels")), **tiny}
    )
    assert main(["loss-study", "--score", str(data)]) == 0
    out = capsys.readouterr().out
    assert (
        f"$ python -m engine eval {to_photo} --data {data} --split test --direction BtoA --fcn-score --fcn {fcn}"
        in out
    )
    assert (
        f"$ python -m engine eval {to_labels} --data {data} --split test --direction AtoB --fcn-score" in out
    )
    store = RunStore()
    stored = {model: value for model, _, _, name, value, _ in store.evals() if name == PIXEL_ACC}
    to_photo_table, to_labels_table = build_tables(store)
    rows = {row.label: row for row in to_photo_table.rows}
    assert rows["L1"].run.id == to_photo and rows["L1"].ours[0] == pytest.approx(stored[to_photo])
    assert rows[GROUND_TRUTH].ours[0] == pytest.approx(stored[GROUND_TRUTH])
    assert to_labels_table.rows[0].ours[0] == pytest.approx(stored[to_labels])
    assert f"| L1 | {stored[to_photo]:.2f} | 0.42 |" in out
    assert unscored([to_photo_table, to_labels_table], str(data)) == []  # nothing left to score
