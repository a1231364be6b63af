"""Checkpoints as safetensors: no pickle, and each file carries its own config.

`step_XXXXXXXX.safetensors` holds the networks (`G.encoders.0.0.weight`, ...) and, in its
metadata, the task name, the task config and the step, so loading never depends on flags.
`step_XXXXXXXX.state.safetensors` holds what an exact resume needs: optimizer and scheduler
states and every RNG, with the non-tensor parts as JSON in the metadata.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from engine.errors import UserError

FORMAT = "image-studio/1"
STEP_FILE = re.compile(r"step_(\d+)\.safetensors$")
BEST_CHECKPOINT = "best.safetensors"  # the weights that scored best on held-out data


def flatten_state(obj: Any, tensors: dict[str, torch.Tensor], prefix: str = "t") -> Any:
    """Replace every tensor in a nested dict/list with a reference; collect the tensors."""
    if isinstance(obj, torch.Tensor):
        key = f"{prefix}.{len(tensors)}"
        tensors[key] = obj.detach().cpu().contiguous()
        return {"__tensor__": key}
    if isinstance(obj, dict):
        return {
            "__dict__": [
                [flatten_state(k, tensors, prefix), flatten_state(v, tensors, prefix)] for k, v in obj.items()
            ]
        }
    if isinstance(obj, (list, tuple)):
        return [flatten_state(v, tensors, prefix) for v in obj]
    if isinstance(obj, np.ndarray):
        return flatten_state(torch.from_numpy(obj.copy()), tensors, prefix)
    return obj


def unflatten_state(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, dict) and "__tensor__" in obj:
        return tensors[obj["__tensor__"]]
    if isinstance(obj, dict) and "__dict__" in obj:
        return {unflatten_state(k, tensors): unflatten_state(v, tensors) for k, v in obj["__dict__"]}
    if isinstance(obj, list):
        return [unflatten_state(v, tensors) for v in obj]
    return obj


def rng_state() -> dict:
    state = {"torch": torch.get_rng_state(), "python": random.getstate(), "numpy": np.random.get_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy(), pos, has_gauss, cached))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_weights(
    path: Path, states: dict[str, dict[str, torch.Tensor]], meta: dict, dtype: torch.dtype | None = None
) -> None:
    """Write state dicts by network name with a metadata dict (task, config, step).
    `dtype` shrinks floating-point tensors (fp16 for bundled models)."""
    tensors = {}
    for name, state in states.items():
        for key, value in state.items():
            value = value.detach().cpu()
            if dtype is not None and value.is_floating_point():
                value = value.to(dtype)
            tensors[f"{name}.{key}"] = value.contiguous()
    save_file(tensors, str(path), metadata={"format": FORMAT, "meta": json.dumps(meta)})


def read_weights(path: str | Path) -> tuple[dict[str, dict[str, torch.Tensor]], dict]:
    """-> ({net name: state dict}, metadata). Raises a clear error for other files."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"no checkpoint at {path}")
    try:
        with safe_open(str(path), framework="pt") as f:
            header = f.metadata() or {}
            nets: dict[str, dict[str, torch.Tensor]] = {}
            for key in f.keys():
                name, _, rest = key.partition(".")
                nets.setdefault(name, {})[rest] = f.get_tensor(key)
    except Exception as err:  # safetensors raises its own error types
        raise UserError(f"{path} is not a safetensors checkpoint: {err}") from err
    if header.get("format") != FORMAT:
        raise UserError(f"{path} was not written by this studio (no '{FORMAT}' metadata)")
    try:
        meta = json.loads(header["meta"])
    except (KeyError, ValueError):
        meta = None
    if not isinstance(meta, dict):  # crafted or damaged: one line, not a KeyError
        raise UserError(f"{path}: its 'meta' metadata is missing or not a JSON object; not a studio model")
    return nets, meta


def save_checkpoint(folder: Path, step: int, nets: dict, meta: dict, resume_state: dict) -> Path:
    """Weights and resume state for one step: written to temp names, flushed to disk, then
    renamed, so a crash leaves either the whole checkpoint or a stale *.tmp, never half a one."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"step_{step:08d}.safetensors"
    tmp = path.with_suffix(".tmp")
    save_weights(tmp, {name: net.state_dict() for name, net in nets.items()}, {**meta, "step": step})
    tensors: dict[str, torch.Tensor] = {}
    skeleton = flatten_state(resume_state, tensors)
    state_tmp = folder / f"step_{step:08d}.state.tmp"
    save_file(tensors, str(state_tmp), metadata={"format": FORMAT, "state": json.dumps(skeleton)})
    for written in (tmp, state_tmp):
        fsync(written)
    path.unlink(missing_ok=True)  # an older save of this step: never pair its weights with new state
    state_tmp.replace(state_path(path))
    tmp.replace(path)  # the weights last: a checkpoint is listed once both files are whole
    fsync(folder)
    return path


def fsync(path: Path) -> None:
    """Flush a file (or a folder's entries) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def state_path(weights_path: Path) -> Path:
    return weights_path.with_name(weights_path.name.replace(".safetensors", ".state.safetensors"))


def is_intact(weights_path: Path) -> bool:
    """Both files of a checkpoint are there and their headers read (not truncated or empty)."""
    try:
        for path in (weights_path, state_path(weights_path)):
            with safe_open(str(path), framework="pt") as f:
                if f.metadata().get("format") != FORMAT:
                    return False
    except Exception:  # safetensors raises its own error types for broken files
        return False
    return True


def remove_stale_temporaries(folder: Path) -> list[Path]:
    """*.tmp files a crashed save left behind, and training states whose weights never landed
    (a save or a pruning cut short)."""
    if not folder.is_dir():
        return []
    states = folder.glob("step_*.state.safetensors")
    orphans = [p for p in states if not p.with_name(p.name.replace(".state", "")).exists()]
    stale = sorted([*folder.glob("*.tmp"), *orphans])
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def resumable_step(weights_path: Path) -> int:
    """The step a checkpoint continues from, read from its headers only. An inference-only file
    (an `export`) or one whose training state is missing is refused in one line naming it."""
    try:
        with safe_open(str(weights_path), framework="pt") as f:
            meta = json.loads((f.metadata() or {}).get("meta", "{}"))
        with safe_open(str(state_path(weights_path)), framework="pt") as f:
            has_state = "state" in (f.metadata() or {})
    except Exception:  # safetensors raises its own error types; a missing file is one too
        meta, has_state = {}, False
    if not has_state or "exported_from" in meta or not isinstance(meta.get("step"), int):
        raise UserError(
            f"{weights_path} holds no training state (an inference-only export, or its "
            f"{state_path(weights_path).name} is missing): it cannot be resumed from"
        )
    return meta["step"]


def load_resume_state(weights_path: Path) -> dict:
    with safe_open(str(state_path(weights_path)), framework="pt") as f:
        skeleton = json.loads(f.metadata()["state"])
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    return unflatten_state(skeleton, tensors)


def list_checkpoints(folder: Path) -> list[tuple[int, Path]]:
    """(step, path) of every complete checkpoint in a folder, oldest first."""
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := STEP_FILE.search(p.name))]
    return sorted(found)


def prune_checkpoints(folder: Path, keep: int) -> None:
    for _, path in list_checkpoints(folder)[:-keep] if keep > 0 else []:
        path.unlink(missing_ok=True)
        state_path(path).unlink(missing_ok=True)


def config_dict(config: Any) -> dict:
    return dataclasses.asdict(config) if dataclasses.is_dataclass(config) else dict(config)
