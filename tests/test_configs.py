"""Config fields: declared one way (`knob`), and every task's choices held to however a run's
config arrives (a new run from the CLI or a script, the launcher, a resumed run's stored config)."""

import ast
import dataclasses
from pathlib import Path

import pytest

from engine.errors import UserError
from engine.flags import settable_fields
from engine.store.runs import RunStore
from engine.tasks import get_task, task_names
from engine.training.launch import config_flags
from engine.training.loop import TrainSettings, plan_run

ENGINE = Path(__file__).resolve().parents[1] / "engine"


def fields_with_choices(cls: type) -> list[dataclasses.Field]:
    """Those a person sets (a field the task fixes takes its default alone: test_distill)."""
    return [f for f in settable_fields(cls) if f.metadata.get("choices")]


def outside(field: dataclasses.Field) -> object:
    """A value of the field's type that is none of its choices."""
    choices = field.metadata["choices"]
    return max(choices) + 1 if isinstance(choices[0], int) else "no-such-choice"


def new_run(task: str, config: dict, **settings) -> None:
    plan_run(task, TrainSettings(data="unused", **settings), config, RunStore(), None, None)


def test_every_task_refuses_a_value_outside_a_fields_choices():
    checked = set()
    for task in task_names():
        config_type = get_task(task).Config
        for f in fields_with_choices(config_type):
            bad = outside(f)
            expected = f"{f.name} must be one of {f.metadata['choices']}, got {bad!r}"
            with pytest.raises(UserError) as started:
                new_run(task, {f.name: bad})
            with pytest.raises(UserError) as launched:
                config_flags(config_type, {f.name: bad})
            assert str(started.value) == str(launched.value) == expected, (task, f.name)
            for good in f.metadata["choices"]:
                new_run(task, {f.name: good})
            checked.add(task)
    assert {"pix2pix", "cyclegan", "dcgan", "spade", "vae"} <= checked  # the loops above ran


def test_train_settings_choices_are_held_to():
    for name, bad in (("precision", "fp8"), ("lr_policy", "cosine")):
        with pytest.raises(UserError, match=f"^{name} must be one of .*got '{bad}'$"):
            new_run("pix2pix", {}, **{name: bad})
        with pytest.raises(UserError, match=f"^{name} must be one of"):
            config_flags(TrainSettings, {name: bad})


def test_a_resumed_runs_stored_config_is_held_to_its_choices(monkeypatch):
    store = RunStore()
    stored = {"settings": dataclasses.asdict(TrainSettings(data="unused")), "task_config": {"norm": "layer"}}
    run = store.create_run("pix2pix", stored)
    store.set_status(run.id, "stopped")
    monkeypatch.setattr(RunStore, "latest_checkpoint", lambda self, run_id: Path("step_1.safetensors"))
    monkeypatch.setattr("engine.training.loop.resumable_step", lambda path: 1)  # a checkpoint at step 1
    with pytest.raises(UserError, match=r"^norm must be one of \('batch', .*got 'layer'$"):
        plan_run(None, None, None, store, run.id, None)


def metadata_fields(source: str) -> list[int]:
    """Lines of `field(..., metadata=...)` calls: config fields declared without `knob`."""
    return [
        node.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", getattr(node.func, "attr", None)) == "field"
        and any(k.arg == "metadata" for k in node.keywords)
    ]


def test_config_fields_with_help_or_choices_are_knobs():
    assert metadata_fields('x: int = field(default=1, metadata={"help": "h"})') == [1]  # the check finds one
    offenders = [
        f"{path.relative_to(ENGINE)}:{line}"
        for path in sorted(ENGINE.rglob("*.py"))
        if path.name != "flags.py"  # where knob makes them
        for line in metadata_fields(path.read_text())
    ]
    assert not offenders, "use engine.flags.knob: " + ", ".join(offenders)


def test_every_preset_at_every_size_is_a_config_a_new_run_accepts():
    from engine.training.presets import preset_names, size_names, sized_config

    for task in task_names():
        for preset in preset_names(task):
            for size in size_names():
                new_run(task, sized_config(task, preset, size))  # raises on a refused value
