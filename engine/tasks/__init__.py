"""One file per trainable method; each defines `TASK`, a `Task` subclass. Found by name.

`template.py` is a commented example for adding a method, not a task of its own."""

from __future__ import annotations

import importlib
import pkgutil

from engine.errors import UserError
from engine.tasks.base import Task

NOT_TASKS = ("base", "conditional", "label_to_image", "template")


def task_names() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name not in NOT_TASKS)


def get_task(name: str) -> type[Task]:
    if name not in task_names():
        raise UserError(f"unknown task {name!r}; available: {', '.join(task_names())}")
    return importlib.import_module(f"engine.tasks.{name}").TASK
