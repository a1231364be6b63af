"""One file per trainable method; each defines `TASK`, a `Task` subclass. Found by name."""

from __future__ import annotations

import importlib
import pkgutil

from engine.tasks.base import Task


def task_names() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name != "base")


def get_task(name: str) -> type[Task]:
    if name not in task_names():
        raise ValueError(f"unknown task {name!r}; available: {', '.join(task_names())}")
    return importlib.import_module(f"engine.tasks.{name}").TASK
