"""Style sweeps: the engine writes a run (metrics, grid, curves); the Style lab page shows it.

Sweeps run the tiny random VGG of the test fixtures on 32 px results, so no pretrained file is needed.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PIL import Image

from engine.errors import UserError
from engine.store.runs import RunStore
from engine.style import examples as style_examples
from engine.style import sweep as style_sweep
from engine.style.examples import example_photos, example_style, write_examples
from engine.style.gatys import StyleConfig
from engine.style.sweep import (
    content_layer_points,
    read_sweep,
    run_sweep,
    style_weight_points,
    tv_weight_points,
)
from support.app import open_page
from support.style import TINY_LAYERS

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def tiny(tiny_vgg: str) -> StyleConfig:
    return StyleConfig(
        size=32, steps=3, levels=1, weights=tiny_vgg, precision="fp32", preview_every=0, **TINY_LAYERS
    )


def photo() -> Image.Image:
    return example_photos()["chelsea"]


def test_a_tiny_content_layer_sweep_is_saved_as_a_run(tiny):
    progress = []
    store = RunStore()
    points = content_layer_points(["relu1_2", "relu2_1"])
    run_id, results = run_sweep(
        photo(), example_style("mosaic"), points, "content_layer", tiny, store, name="layers",
        on_progress=lambda done, text: progress.append((done, text)),
    )  # fmt: skip
    run = store.get(run_id)
    assert (run.task, run.status, run.step, run.max_steps) == ("style-sweep", "finished", 2, 2)
    names = {(step, name) for step, name, _ in store.metrics(run_id)}
    assert {(1, "content_loss/relu1_2"), (2, "style_loss/relu2_1"), (2, "total_loss/relu2_1")} <= names
    assert progress[-1] == (1.0, "relu2_1: step 3/3")
    [(step, grid)] = store.samples(run_id)
    assert step == 2
    tile = results[0].image.size  # 32x21 results: content, style and two results in a row
    assert Image.open(grid).size == (4 * tile[0] + 3 * 2, tile[1] + 16)
    saved = read_sweep(store, run_id)
    assert [p.key for p in saved.points] == ["relu1_2", "relu2_1"]
    assert saved.finals["relu2_1"]["total"] == pytest.approx(results[1].losses["total"])
    assert len(saved.curves["relu1_2"]["style"]) == 3 and saved.grid == grid


def test_a_cancelled_sweep_is_stopped_and_a_broken_one_failed(tiny, tmp_path):
    store, cancel = RunStore(), threading.Event()
    points = style_weight_points([1.0, 30.0])
    assert points[1].overrides == {"style_weight": 30.0, "content_weight": 1.0}
    run_id, results = run_sweep(
        photo(), example_style("waves"), points, "style_weight", tiny, store,
        cancel=cancel, on_progress=lambda done, text: cancel.set(),
    )  # fmt: skip
    assert len(results) == 1 and store.get(run_id).status == "stopped"
    with pytest.raises(UserError):
        run_sweep(
            photo(), example_style("waves"), points, "style_weight", StyleConfig(weights=str(tmp_path / "no"))
        )
    failed = store.list(task="style-sweep")[0]
    assert failed.status == "failed" and "no VGG19 weight file" in failed.message
    with pytest.raises(ValueError, match="unknown VGG19 layer"):
        content_layer_points(["relu9_9"])


def test_examples_are_installed_photos_and_repeatable_paintings(tmp_path):
    assert set(example_photos()) == {"astronaut", "chelsea", "coffee", "rocket"}
    painted = style_examples.swirls(np.random.default_rng(0), 64)
    assert np.array_equal(
        np.asarray(painted), np.asarray(style_examples.swirls(np.random.default_rng(0), 64))
    )
    assert np.asarray(painted).std() > 20  # strokes, not a flat colour
    photos, styles = write_examples(tmp_path)
    names = [p.name for p in styles]  # the shipped paintings first, then the drawn patterns
    assert len(photos) == 4 and names[0] == "style_starry_night.png" and "style_swirls.png" in names
    assert max(Image.open(styles[0]).size) == 320 and Image.open(
        styles[names.index("style_swirls.png")]
    ).size == (256, 256)


def test_style_lab_page_on_an_empty_store():
    at = open_page("style_lab")
    assert not at.error and "No sweeps yet" in at.info[0].value
    assert len(at.image) == 2  # the default content and style examples


def test_style_lab_page_reopens_a_saved_sweep_and_runs_a_new_one(tiny, monkeypatch):
    run_id, _ = run_sweep(
        photo(), example_style("dots"), content_layer_points(["relu1_2"]), "content_layer", tiny
    )
    at = open_page("style_lab")
    assert at.selectbox(key="lab.saved").value == run_id
    assert len(at.get("plotly_chart")) == 3 and len(at.image) == 3  # two inputs + the grid
    monkeypatch.setattr(style_sweep, "sweep_config", lambda size, steps: tiny)
    at.multiselect(key="lab.layers").set_value(["relu1_2", "relu2_1"]).run()
    at.button(key="lab.run").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    newest = RunStore().list(task="style-sweep")[0]
    assert newest.id != run_id and newest.status == "finished" and newest.step == 2
    assert at.selectbox(key="lab.saved").value == newest.id


def test_tv_sweep_points_change_only_the_smoothness_weight():
    points = tv_weight_points([0.0, 100.0])
    assert [p.label for p in points] == ["TV 0", "TV 100"]
    assert [p.overrides for p in points] == [{"tv_weight": 0.0}, {"tv_weight": 100.0}]
