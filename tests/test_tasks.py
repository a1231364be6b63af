"""Tasks are found by convention and served by their kind: a new method is one file in
engine/tasks/, and a new kind one entry in engine.inference.kinds.KINDS."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest
import torch

from engine import tasks
from engine.errors import UserError
from engine.inference.kinds import KINDS, Kind, image_translating_kinds
from engine.inference.loader import load_model, load_predictor
from engine.store.runs import RunStore
from engine.training.loop import TrainSettings, train

TEMPLATE = Path(tasks.__file__).with_name("template.py")


def test_helper_modules_are_not_tasks_and_every_task_declares_a_served_kind():
    names = tasks.task_names()
    assert {"pix2pix", "cyclegan", "spade", "vae"} <= set(names)
    assert not {"base", "conditional", "label_to_image", "template"} & set(names)
    for name in names:
        task = tasks.get_task(name)
        assert task.kind in KINDS, f"{name} serves {task.kind!r}, which KINDS does not declare"
    assert set(image_translating_kinds()) == {"image-to-image", "unpaired"}
    with pytest.raises(UserError, match="unknown task 'template'"):
        tasks.get_task("template")


@pytest.fixture
def copied_template(tmp_path, monkeypatch) -> str:
    """The template copied as a user would (EXAMPLE renamed TASK) into a folder of the tasks
    package, with a kind of its own."""
    folder = tmp_path / "more_tasks"
    folder.mkdir()
    source = TEMPLATE.read_text().replace("EXAMPLE = TemplateTask", "TASK = TemplateTask")
    source = source.replace('name = "template"', 'name = "my_method"')
    source = source.replace('kind = "image-to-image"', 'kind = "regression"')
    (folder / "my_method.py").write_text(source)
    monkeypatch.setattr(tasks, "__path__", [*tasks.__path__, str(folder)])
    monkeypatch.delitem(sys.modules, "engine.tasks.my_method", raising=False)
    yield "my_method"
    sys.modules.pop("engine.tasks.my_method", None)
    importlib.invalidate_caches()


def test_a_copied_template_trains_and_a_new_kind_is_one_entry(copied_template, aligned_dataset, monkeypatch):
    assert copied_template in tasks.task_names()
    settings = TrainSettings(data=str(aligned_dataset), max_steps=2, batch_size=2, eval_every=2, eval_size=2)
    run_id = train(copied_template, settings, {"crop_size": 32, "load_size": 36, "ngf": 8})
    store = RunStore()
    assert store.get(run_id).config["loss_titles"] == {"G_L1": "generator L1 loss"}
    assert {"G_L1", "val_L1"} <= {name for _, name, _ in store.metrics(run_id)}
    with pytest.raises(UserError, match="cannot serve 'regression' models"):
        load_model(run_id)
    # one entry in KINDS and the loader serves the new kind; pickers of other kinds refuse it
    monkeypatch.setitem(KINDS, "regression", Kind("an image in, a regressed image out", lambda m: m))
    loaded = load_model(run_id)
    assert loaded.task.kind == "regression" and set(loaded.nets) == {"G"}
    assert loaded.nets["G"](torch.zeros(1, 3, 32, 32)).shape == (1, 3, 32, 32)
    with pytest.raises(UserError, match="regression"):
        load_predictor(run_id)


def test_unpaired_models_serve_the_generator_each_direction_names():
    from engine.tasks.cyclegan import CycleGAN

    assert CycleGAN.directions == {"AtoB": "G_A", "BtoA": "G_B"}
    assert set(CycleGAN.directions.values()) == set(CycleGAN.inference_networks)
