"""Loss curves for live plots: metric rows -> one series per loss, smoothing, incremental reads.

A poller keeps a `Curves` per run and asks the store only for rows newer than the last step
it saw (`RunStore.metrics(run_id, since_step)`), so a refresh costs what is new, not the run.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

EVAL_PREFIX = "val_"  # held-out metrics logged by `train --eval-every` (engine.training.periodic_eval)
EVAL_TITLES = {
    "L1": "held-out L1 ↓",
    "SSIM": "held-out SSIM ↑",
    "FID": "held-out FID ↓",
    "KID": "held-out KID ↓",
}


class MetricSource(Protocol):
    def metrics(self, run_id: str, since_step: int = -1) -> list[tuple[int, str, float]]: ...


@dataclass
class Series:
    steps: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)


@dataclass
class Curves:
    """Every loss of one run, plus the last step read."""

    series: dict[str, Series] = field(default_factory=dict)
    last_step: int = -1

    def add(self, rows: Iterable[tuple[int, str, float | None]]) -> int:
        """Append (step, name, value) rows; returns how many there were."""
        count = 0
        for step, name, value in rows:
            series = self.series.setdefault(name, Series())
            series.steps.append(int(step))
            series.values.append(math.nan if value is None else float(value))
            self.last_step = max(self.last_step, int(step))
            count += 1
        return count

    def poll(self, store: MetricSource, run_id: str) -> int:
        """Read only the rows after `last_step` (the trainer writes a step's losses together)."""
        return self.add(store.metrics(run_id, since_step=self.last_step))


def rows_to_series(rows: Iterable[tuple[int, str, float | None]]) -> dict[str, Series]:
    curves = Curves()
    curves.add(rows)
    return curves.series


def ema(values: Sequence[float], weight: float) -> list[float]:
    """TensorBoard's smoothing: a debiased exponential moving average.

    last = weight * last + (1 - weight) * v, divided by 1 - weight**n (n finite values so far),
    so the start is not pulled towards 0. Non-finite values pass through and are skipped.
    """
    if not 0.0 <= weight < 1.0:
        raise ValueError(f"smoothing weight must be in [0, 1), got {weight}")
    out, last, count = [], 0.0, 0
    for v in values:
        if not math.isfinite(v):
            out.append(v)
            continue
        last = last * weight + (1.0 - weight) * v
        count += 1
        out.append(last / (1.0 - weight**count))
    return out


def thin(steps: Sequence[int], values: Sequence[float], max_points: int = 2000) -> tuple[list, list]:
    """Every k-th point (always the last), so a long run stays quick to draw."""
    if len(steps) <= max_points:
        return list(steps), list(values)
    stride = math.ceil(len(steps) / max_points)
    keep = list(range(0, len(steps), stride))
    if keep[-1] != len(steps) - 1:
        keep.append(len(steps) - 1)
    return [steps[i] for i in keep], [values[i] for i in keep]


def plot_groups(loss_names: Sequence[str], with_parts: bool = True) -> list[tuple[str, list[str]]]:
    """One plot per loss; a part `X_y` joins X's plot when X is a loss too (D_real and D_fake
    with D), or is left out when `with_parts` is False. pix2pix: G_GAN | G_L1 | D."""
    groups: dict[str, list[str]] = {}
    for name in loss_names:
        head = name.split("_", 1)[0]
        if name != head and head in loss_names:
            if with_parts:
                groups.setdefault(head, []).append(name)
        else:
            groups.setdefault(name, []).insert(0, name)
    return list(groups.items())


def loss_title(name: str, titles: dict[str, str]) -> str:
    """'G_GAN: generator cGAN loss' with the titles a task declared (a run's config carries
    them as "loss_titles"), else the bare name."""
    return f"{name}: {titles[name]}" if name in titles else name


def eval_groups(names: Iterable[str]) -> list[tuple[str, list[str]]]:
    """Held-out metric series grouped by metric: ('KID', ['val_KID', 'val_drawn_KID', ...])."""
    groups: dict[str, list[str]] = {}
    for name in names:
        if name.startswith(EVAL_PREFIX):
            groups.setdefault(name.rsplit("_", 1)[-1], []).append(name)
    order = list(EVAL_TITLES)
    return sorted(groups.items(), key=lambda g: order.index(g[0]) if g[0] in order else len(order))


def eval_label(name: str) -> str:
    """'val_drawn_KID' -> 'drawn', 'val_KID' -> 'clean'."""
    middle = name[len(EVAL_PREFIX) :].rsplit("_", 1)[0] if name.count("_") > 1 else ""
    return middle or "clean"
