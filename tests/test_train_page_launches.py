"""The Train page's launch of every task reaches the trainer: the flags it writes for the
background process are the ones `python -m engine train` parses back into the same config."""

from __future__ import annotations

from types import SimpleNamespace

from engine.cli import cmd_train
from engine.tasks import task_names
from engine.training import launch
from support.app import open_page


def test_every_task_launched_from_the_train_page_parses_in_the_child(aligned_dataset, monkeypatch):
    launched = []

    def start(task, settings, config, home=None):
        flags = launch.config_flags(launch.TrainSettings, settings) + launch.config_flags(
            launch.get_task(task).Config, config
        )
        launched.append((task, config, flags))
        return SimpleNamespace(
            pid=1, log_path="log", run_id=None, started=0.0, process=None, exited=lambda: False
        )

    monkeypatch.setattr(launch, "start_training", start)
    monkeypatch.setattr(launch, "wait_for_new_run", lambda *args: None)
    trained = []
    monkeypatch.setattr(
        "engine.training.loop.train", lambda task, settings, config, home=None: trained.append(config)
    )
    at = open_page("train")
    for task in task_names():
        at.selectbox(key="train.task").set_value(task).run()
        at.text_input(key="train.data").set_value(str(aligned_dataset)).run()
        at.button(key="train.launch").click().run()
        assert not at.exception, (task, [e.message for e in at.exception])
        assert launched and launched[-1][0] == task, (task, [e.value for e in at.error])
        config, flags = launched[-1][1:]
        cmd_train([task, *flags])  # as the background process parses them (argparse exits on a stray flag)
        assert trained[-1] == config, task  # every field the page holds, back as it was
    assert len(trained) == len(task_names())


def test_the_lists_a_task_reads_from_its_data_are_not_flags():
    import pytest

    from engine.errors import UserError
    from engine.tasks.spade import SPADEConfig

    assert launch.config_flags(SPADEConfig, {"ngf": 8, "class_names": []}) == ["--ngf=8"]
    with pytest.raises(UserError, match="class_names: read from the training data"):
        launch.config_flags(SPADEConfig, {"class_names": ["wall", "window"]})
