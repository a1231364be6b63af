"""Checkpoints of a run: restore everything a resume needs (weights, optimizers, schedules, RNG),
save it every N steps (rotating, a few kept), and keep the best-scoring weights apart."""

from __future__ import annotations

import math
from pathlib import Path

import torch

from engine.errors import UserError, disk_full_is_one_line
from engine.store.checkpoints import (
    BEST_CHECKPOINT,
    load_resume_state,
    prune_checkpoints,
    read_weights,
    remove_stale_temporaries,
    rng_state,
    save_checkpoint,
    save_weights,
    set_rng_state,
)
from engine.training.distributed import gather
from engine.training.periodic_eval import SELECT_BY


class TrainingDiverged(UserError):
    """Losses or weights became NaN/inf: the run is marked failed and its last checkpoints kept."""


def restore(task, schedulers: dict, checkpoint: Path | None, rank: int) -> int:
    """Load a checkpoint into the task and its schedules; returns the step to continue from."""
    if checkpoint is None:
        return 0
    nets, meta = read_weights(checkpoint)
    missing = [name for name in task.nets if name not in nets]
    if missing:  # e.g. an inference-only export put in the run's place
        raise UserError(f"{checkpoint} has no {', '.join(missing)} weights: it cannot be resumed from")
    for name, net in task.nets.items():
        net.load_state_dict(nets[name])
    state = load_resume_state(checkpoint)
    for name, opt in task.optimizers.items():
        load_optimizer_state(opt, state["optimizers"][name])
    for name, sched in schedulers.items():
        sched.load_state_dict(state["schedulers"][name])
    task.load_extra_state(state.get("task", {}))
    set_rng_state(state["rng"][min(rank, len(state["rng"]) - 1)])
    return int(meta["step"])


def load_optimizer_state(optimizer, state: dict) -> None:
    """The saved moments and hyperparameters, keeping this process's kernel choice (fused or
    not): that is how the machine runs Adam, not part of the run. Checkpoints store moments
    contiguous; a fused kernel walks them in the weight's memory order (channels_last here), so
    they get the weight's layout back, or the resumed run would drift."""
    kernels = [{k: group.get(k) for k in ("fused", "foreach")} for group in optimizer.param_groups]
    optimizer.load_state_dict(state)
    for group, kernel in zip(optimizer.param_groups, kernels):
        group.update(kernel)
        for param in group["params"]:
            moments = optimizer.state.get(param, {})
            for key, value in moments.items():
                if torch.is_tensor(value) and value.shape == param.shape and value.stride() != param.stride():
                    moments[key] = torch.empty_like(param, dtype=value.dtype).copy_(value)


class Checkpointer:
    """Writes a run's checkpoints; every rank calls `save` (their RNG states are gathered)."""

    def __init__(self, task, schedulers: dict, folder: Path, meta: dict, keep: int, rank: int, world: int):
        self.task, self.schedulers, self.folder, self.meta = task, schedulers, folder, meta
        self.keep, self.rank, self.world = keep, rank, world
        self.best_score = best_selection_score(folder)
        if rank == 0:
            remove_stale_temporaries(folder)

    def save(self, step: int) -> Path | None:
        states = gather(rng_state(), self.world)  # each rank continues its own random stream
        if self.rank != 0:
            return None
        broken = [
            n for n, net in self.task.nets.items() if not all(p.isfinite().all() for p in net.parameters())
        ]
        if broken:  # never let bad weights push the last good checkpoints out
            raise TrainingDiverged(
                f"the weights of {', '.join(broken)} are NaN/inf at step {step}; not saved"
            )
        resume_state = {
            "optimizers": {k: o.state_dict() for k, o in self.task.optimizers.items()},
            "schedulers": {k: s.state_dict() for k, s in self.schedulers.items()},
            "rng": states,
            "task": self.task.extra_state(),
        }
        resume = f"; the checkpoints before it are kept: free some space, then train --resume {self.meta.get('run')}"
        with disk_full_is_one_line(f"checkpoint {step} to {self.folder}", resume, self.clean):
            path = save_checkpoint(self.folder, step, self.task.nets, self.meta, resume_state)
        prune_checkpoints(self.folder, self.keep)
        return path

    def clean(self) -> None:
        """What a save cut short by a full disk left (its *.tmp files)."""
        remove_stale_temporaries(self.folder)

    def keep_if_best(self, step: int, scores: dict[str, float]) -> bool:
        """Save the weights as the run's best when they beat every earlier evaluation."""
        if scores.get(SELECT_BY, math.inf) >= self.best_score:
            return False
        self.best_score = scores[SELECT_BY]
        with disk_full_is_one_line(f"the best checkpoint to {self.folder}", cleanup=self.clean):
            save_best(self.folder, self.task.nets, {**self.meta, "step": step, "scores": scores})
        return True


def best_selection_score(folder: Path) -> float:
    """The score of the run's best checkpoint so far (inf if none): a resumed run keeps it."""
    path = folder / BEST_CHECKPOINT
    if not path.is_file():
        return math.inf
    return float(read_weights(path)[1].get("scores", {}).get(SELECT_BY, math.inf))


def save_best(folder: Path, nets: dict, meta: dict) -> None:
    """The weights that scored best so far, beside the rotating checkpoints (never pruned)."""
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / (BEST_CHECKPOINT + ".tmp")
    save_weights(tmp, {name: net.state_dict() for name, net in nets.items()}, meta)
    tmp.replace(folder / BEST_CHECKPOINT)
