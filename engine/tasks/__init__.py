"""One file per trainable method. By convention a module here is a task when it assigns `TASK`
(its `Task` subclass) at the top level; every other module (base, the shared conditional-GAN
step, the template, which names its class `EXAMPLE`) is a helper. The convention is read from
the source text, so listing the tasks imports none of them."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

from engine.errors import UserError
from engine.tasks.base import Task

TASK_LINE = re.compile(r"^TASK\s*=", re.MULTILINE)


def is_task_module(path: Path) -> bool:
    try:
        return bool(TASK_LINE.search(path.read_text(encoding="utf-8")))
    except OSError:
        return False


def task_names() -> list[str]:
    """The modules of this package (and of any folder added to its __path__) that define TASK."""
    return sorted(
        m.name
        for m in pkgutil.iter_modules(__path__)
        if not m.ispkg and is_task_module(Path(m.module_finder.path) / f"{m.name}.py")
    )


def get_task(name: str) -> type[Task]:
    if name not in task_names():
        raise UserError(f"unknown task {name!r}; available: {', '.join(task_names())}")
    return importlib.import_module(f"engine.tasks.{name}").TASK
