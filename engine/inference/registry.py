"""Every model a UI may offer for a kind: the bundled ones of that kind and the finished runs
whose task serves it. UIs filter by kind, never by task name."""

from __future__ import annotations

from engine.errors import UserError
from engine.store.models import bundled_models
from engine.store.runs import RunStore
from engine.tasks import get_task, task_names


def task_kind(task: str) -> str | None:
    """The kind a task serves, or None for a task this install does not have."""
    return get_task(task).kind if task in task_names() else None


def available_models(kind: str, home: str | None = None) -> dict[str, str]:
    """Label -> model for a kind: the installed bundled models, then the finished runs whose task
    serves that kind (a UI never guesses from task names)."""
    models = {name: name for name in bundled_models(kind)}
    for run in RunStore(home).list():
        if run.status == "finished" and task_kind(run.task) == kind:
            label = run.name if run.name and run.name != run.id else run.id
            models[f"{label} ({run.id})" if label != run.id else run.id] = run.id
    return models


def choose_model(models: dict[str, str], name: str) -> str:
    """The model a UI may load for `name`: one of `models` (label -> model), named by its label
    (what a dropdown sends, so no server path ever reaches the page) or by its model itself."""
    if name in models:
        return models[name]
    if name in models.values():
        return name
    raise UserError(f"unknown model {name!r}: pick one from the list")
