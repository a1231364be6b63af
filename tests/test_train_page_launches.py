"""The Train page's launch of every task reaches the trainer: the flags it writes for the
background process are the ones `python -m engine train` parses back into the same config."""

from __future__ import annotations

import pytest

from engine.errors import UserError
from engine.tasks import task_names
from engine.tasks.spade import SPADEConfig
from engine.training import launch
from support.app import open_page, parsed_by_the_child, recorded_launches


def test_every_task_launched_from_the_train_page_parses_in_the_child(aligned_dataset, monkeypatch):
    started = recorded_launches(monkeypatch)
    monkeypatch.setattr(launch, "wait_for_new_run", lambda *args: None)
    at = open_page("train")
    for task in task_names():
        at.selectbox(key="train.task").set_value(task).run()
        at.text_input(key="train.data").set_value(str(aligned_dataset)).run()
        at.button(key="train.launch").click().run()
        assert not at.exception, (task, [e.message for e in at.exception])
        assert started and started[-1][0] == task, (task, [e.value for e in at.error])
        _, settings, config = started[-1]
        assert parsed_by_the_child(monkeypatch, task, settings, config) == config, (
            task
        )  # every field, as it was
    assert len(started) == len(task_names())


def test_the_lists_a_task_reads_from_its_data_are_not_flags():
    assert launch.config_flags(SPADEConfig, {"ngf": 8, "class_names": []}) == ["--ngf=8"]
    with pytest.raises(UserError, match="class_names: read from the training data"):
        launch.config_flags(SPADEConfig, {"class_names": ["wall", "window"]})
