"""A model file's own description checked before anything is built from it: its task, its
config (every option known, of the right type and within its declared range) and its tensors
(every one there, of the right shape). A crafted or damaged file is one line naming the file
and what is wrong, never a traceback from deep inside a network."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch
from torch import nn

from engine.errors import UserError
from engine.flags import check_choices
from engine.tasks import get_task, task_names


def task_and_config(path: str | Path, meta: dict):
    """-> (the task type, its config) that the file's metadata describes."""
    task_name = meta.get("task")
    if not isinstance(task_name, str) or task_name not in task_names():
        raise UserError(f"{path}: its metadata names no task this studio has (task {task_name!r})")
    task = get_task(task_name)
    config = meta.get("config")
    if not isinstance(config, dict):
        raise UserError(f"{path}: its metadata has no config for its {task_name} model")
    known = {f.name for f in dataclasses.fields(task.Config)}
    unknown = sorted(set(config) - known)
    if unknown:
        raise UserError(
            f"{path}: unknown {task_name} config option(s) {', '.join(map(repr, unknown))} "
            "(a file from another version of the studio, or a crafted one)"
        )
    built = task.Config(**config)
    try:
        check_choices(built)
    except UserError as err:
        raise UserError(f"{path}: its config does not fit: {err}") from None
    return task, built


def load_networks(served: dict[str, nn.Module], nets: dict[str, dict[str, torch.Tensor]], path) -> None:
    """The file's weights into the networks its config describes, or one line saying which
    network or tensor is missing, extra or of another shape. Networks built on the meta device
    (engine.inference.loader) are given the file's tensors instead of copies."""
    for name, net in served.items():
        if name not in nets:
            raise UserError(f"{path} holds no weights for its network {name!r}")
        own, saved = net.state_dict(), nets[name]
        missing = sorted(set(own) - set(saved))
        extra = sorted(set(saved) - set(own))
        wrong = [k for k in own if k in saved and saved[k].shape != own[k].shape]
        for what, keys in (("lacks", missing), ("has unexpected", extra), ("has wrongly shaped", wrong)):
            if keys:
                shown = ", ".join(f"{name}.{k}" for k in keys[:3]) + (" ..." if len(keys) > 3 else "")
                raise UserError(f"{path} {what} tensor(s) {shown} ({len(keys)} in all); not loading it")
        # a network built on the meta device takes the file's tensors as they are (no copy)
        on_meta = any(t.is_meta for t in own.values())
        net.load_state_dict({k: v.float() for k, v in saved.items()}, assign=on_meta)
