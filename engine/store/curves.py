"""Loss curves for live plots: metric rows -> one series per loss, smoothing, incremental reads.

A poller keeps a `Curves` per run and asks the store only for the rows written after the last
one it read (`RunStore.metrics_after_row`), so a refresh costs what is new, not the run. Rows
are followed in the order they were written, not by step: held-out scores for step 200 are
written after step 200's losses (and often after step 201's), and must still be picked up.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

EVAL_PREFIX = "val_"  # held-out metrics logged by `train --eval-every` (engine.training.periodic_eval)
EVAL_TITLES = {
    "L1": "held-out L1 ↓",
    "SSIM": "held-out SSIM ↑",
    "FID": "held-out FID ↓",
    "KID": "held-out KID ↓",
}


class NewRows(NamedTuple):
    """What a poll reads: the run's number of (re)starts and the rows after a row id."""

    starts: int
    rows: list[tuple[int, int, str, float | None]]  # (row id, step, name, value), as written


class MetricSource(Protocol):
    def metrics_after_row(self, run_id: str, row: int = 0) -> NewRows: ...


@dataclass
class Series:
    steps: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)


@dataclass
class Curves:
    """Every loss of one run, the last row read, and how many times the run had (re)started."""

    series: dict[str, Series] = field(default_factory=dict)
    last_step: int = -1
    last_row: int = 0
    starts: int = 0

    def add(self, rows: Iterable[tuple[int, str, float | None]]) -> int:
        """Append (step, name, value) rows, each series kept in step order; returns how many."""
        count = 0
        for step, name, value in rows:
            series = self.series.setdefault(name, Series())
            value = math.nan if value is None else float(value)
            at = len(series.steps)
            while at and series.steps[at - 1] > step:  # a late row for an earlier step
                at -= 1
            series.steps.insert(at, int(step))
            series.values.insert(at, value)
            self.last_step = max(self.last_step, int(step))
            count += 1
        return count

    def poll(self, store: MetricSource, run_id: str) -> int:
        """Read the rows written since the last poll. A resume rewrites the steps after its
        checkpoint (their old rows go): when the run has started again, read it all anew."""
        new = store.metrics_after_row(run_id, self.last_row)
        if new.starts != self.starts:
            self.series.clear()
            self.last_step = -1
            new = store.metrics_after_row(run_id, 0)
            self.starts = new.starts
        if new.rows:
            self.last_row = new.rows[-1][0]
        return self.add((step, name, value) for _, step, name, value in new.rows)


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


def seconds_per_step(step_times: Iterable[tuple[int, float]]) -> float | None:
    """Wall time per step from (step, time it was first written) pairs of one process.

    The trainer writes its losses about once a second, so steps come in batches sharing one
    time: the pace runs from the end of the oldest batch to the end of the newest. None
    before two batches (or without steps between them)."""
    batch_end: dict[float, int] = {}
    for step, when in step_times:
        batch_end[when] = max(step, batch_end.get(when, step))
    if len(batch_end) < 2:
        return None
    (t_old, s_old), (t_new, s_new) = min(batch_end.items()), max(batch_end.items())
    return max(0.0, t_new - t_old) / (s_new - s_old) if s_new > s_old else None


def log_ticks(low: float, high: float, most: int = 8) -> list[float]:
    """Tick values for a log axis over [low, high] (both > 0) that read as plain numbers:
    1, 2, 5 times powers of ten, or only the powers (every n-th) over a wide range; [] when
    the range is too narrow for two such ticks (plotly's own linear-looking ticks do then)."""
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    for mantissas in ((1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 2, 5), (1,)):
        ticks = [m * 10.0**k for k in range(first, last + 1) for m in mantissas]
        ticks = [t for t in ticks if low * (1 - 1e-9) <= t <= high * (1 + 1e-9)]
        if len(ticks) <= most:
            return ticks if len(ticks) >= 2 else []
    stride = math.ceil(len(ticks) / most)
    return ticks[::stride]


def tick_label(value: float) -> str:
    """0.0001, 20, 5000, 1e+06: plain numbers, no SI prefixes (100µ) or mantissa-only digits."""
    return (
        f"{value:.6g}"
        if 1e-4 <= abs(value) < 1e6 or value == 0
        else f"{value:.0e}".replace("e-0", "e-").replace("e+0", "e+")
    )


def lone_value_range(values: Iterable[float], log: bool = False) -> list[float] | None:
    """An axis range for values that are all one number v, or None when they differ. Plotly
    would span v-1..v+1 (below zero for a loss); this is 0..2v (a decade either side, log)."""
    found = {v for v in values if math.isfinite(v) and (v > 0 or not log)}
    if len(found) != 1:
        return None
    (v,) = found
    if log:
        return [math.log10(v) - 1, math.log10(v) + 1]
    return [min(0.0, 2 * v), max(0.0, 2 * v)] if v else [-1.0, 1.0]


def lone_step_range(steps: Iterable[int]) -> list[float] | None:
    """An x range centred on the only step there is (plotly would span s-1..s+1 with
    fractional steps between), or None when there are several."""
    found = set(steps)
    if len(found) != 1:
        return None
    (step,) = found
    half = max(1.0, step / 2)
    return [step - half, step + half]
