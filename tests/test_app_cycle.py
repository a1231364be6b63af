"""Learn → Cycle consistency with a CycleGAN run, and the CycleGAN presets on the Train page."""

from __future__ import annotations

import pytest

from engine.training.loop import TrainSettings, train
from support.app import chart_titles, open_page
from support.tiny import TINY_CYCLEGAN, write_unaligned_dataset

pytestmark = pytest.mark.usefixtures("one_thread")


def test_the_cycle_lesson_shows_a_runs_reconstructions_and_losses(tmp_path, studio_home):
    at = open_page("learn")
    assert at.tabs[4].label == "Cycle consistency"
    assert at.selectbox(key="learn.cycle.model").options == ["default-cyclegan"]  # the bundled one
    data = write_unaligned_dataset(tmp_path / "shapes2fills")
    run_id = train(
        "cyclegan",
        TrainSettings(data=str(data), max_steps=2, batch_size=2, sample_size=2, sample_every=2),
        TINY_CYCLEGAN,
    )
    at = open_page("learn")
    assert not at.exception and not at.error
    tab = at.tabs[4]
    captions = [i.proto.imgs[0].caption for i in tab.image]
    assert captions[0].startswith("step 2: A | A→B | A→B→A | B | B→A | B→A→B")  # words, not variable names
    assert {"input", "CycleGAN A→B", "and back", "|back − input| × 4"} <= set(captions)
    assert "cycle and identity losses" in chart_titles(at)
    assert run_id in at.selectbox(key="learn.cycle.model").value


def test_the_train_page_offers_the_cyclegan_presets(studio_home):
    at = open_page("train")
    at.selectbox(key="train.task").set_value("cyclegan").run()
    presets = at.selectbox(key="train.preset.cyclegan").options
    assert any(p.startswith("edges → shoes without pairs") for p in presets)
    assert any(p.startswith("shoes ↔ handbags") for p in presets)
