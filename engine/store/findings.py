"""What a set of runs shows, in words computed from their stored figures, so that an answer
never states a comparison its own table or curves contradict.

Budgets (steps trained, image size, width, batch) say whether runs compare like for like;
`metric_findings` ranks the runs on each held-out metric they all have (a whole-split `eval`
where every run has one of the same split, else the last held-out evaluation during training,
never a mix of the two); `trend_findings`
says where a loss started and ended (falls, rises or stays level).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from engine.store.runs import Run, RunStore

METRICS = {"L1": "lower", "PSNR": "higher", "SSIM": "higher", "FID": "lower", "KID": "lower"}
EVAL_PREFIX = "val_"
LEVEL = 0.25  # a loss whose end is within 25 % of its start is called level
EDGE = 0.1  # the start and end of a curve: means over its first and last tenth


@dataclass(frozen=True)
class Budget:
    """What a run was given: steps trained, image side, generator width, batch."""

    steps: int
    size: int | None
    ngf: int | None
    batch: int | None

    def text(self) -> str:
        parts = [f"{self.steps:,} steps"]
        parts += [f"{self.size} px"] if self.size else []
        parts += [f"ngf {self.ngf}"] if self.ngf else []
        parts += [f"batch {self.batch}"] if self.batch else []
        return ", ".join(parts)


def planned_budget(settings: dict, task_config: dict) -> Budget:
    """The budget a launch asks for (its max_steps)."""
    size = task_config.get("crop_size") or task_config.get("image_size")
    return Budget(
        int(settings.get("max_steps") or 0), size, task_config.get("ngf"), settings.get("batch_size")
    )


def run_budget(run: Run) -> Budget:
    """The budget a run has had so far: the steps it trained, at its stored size."""
    planned = planned_budget(run.config.get("settings", {}), run.config.get("task_config", {}))
    return Budget(run.step, planned.size, planned.ngf, planned.batch)


def budget_warning(runs: dict[str, Run]) -> str | None:
    """A loud sentence when the runs differ in budget (None when they all match)."""
    budgets = {label: run_budget(run) for label, run in runs.items()}
    if len(set(budgets.values())) <= 1:
        return None
    listed = "; ".join(f"{label}: {budget.text()}" for label, budget in budgets.items())
    live = [label for label, run in runs.items() if run.status == "running"]
    still = f" ({', '.join(live)} still training)" if live else ""
    return (
        f"These runs differ in budget{still}: {listed}. Their figures do not compare like for like; "
        "launch the card's runs (or resume the shorter ones) for a fair comparison."
    )


def split_metrics(store: RunStore, run: Run) -> tuple[str, dict[str, float]] | None:
    """(the split's name, metric -> value) of the run's newest whole-split `eval`, or None."""
    evals = sorted(store.evals(run.id), key=lambda row: row[5])
    if not evals:
        return None
    _, data, split, _, _, _ = evals[-1]
    values = {name: value for _, d, s, name, value, _ in evals if (d, s) == (data, split)}
    return f"whole {split} split", {k: v for k, v in values.items() if k in METRICS}


def held_out_metrics(store: RunStore, run: Run) -> tuple[str, dict[str, float]]:
    """('held-out subset at step N', metric -> value): the last evaluation during training."""
    last: dict[str, tuple[int, float]] = {}
    for step, name, value in store.metrics(run.id):
        if name.startswith(EVAL_PREFIX) and name[len(EVAL_PREFIX) :] in METRICS:
            last[name[len(EVAL_PREFIX) :]] = (step, value)
    step = max((s for s, _ in last.values()), default=0)
    return f"held-out subset at step {step:,}", {k: v for k, (_, v) in last.items()}


def comparable_metrics(store: RunStore, runs: dict[str, Run]) -> dict[str, tuple[str, dict]]:
    """Every run scored the same way: a whole split when all have one of the same name, else
    the last held-out evaluation during training."""
    splits = {label: split_metrics(store, run) for label, run in runs.items()}
    if all(splits.values()) and len({found[0] for found in splits.values()}) == 1:
        return splits
    return {label: held_out_metrics(store, run) for label, run in runs.items()}


def metric_findings(store: RunStore, runs: dict[str, Run]) -> list[str]:
    """One sentence per metric every run has: each run's value and which is better."""
    if len(runs) < 2:
        return []
    scored = comparable_metrics(store, runs)
    names = [m for m in METRICS if all(m in values for _, values in scored.values())]
    found = []
    for metric in names:
        values = {label: scored[label][1][metric] for label in runs}
        better = min if METRICS[metric] == "lower" else max
        best = better(values, key=values.get)
        listed = ", ".join(f"{label} {number(v)}" for label, v in values.items())
        tied = len({number(v) for v in values.values()}) == 1
        verdict = "The same to three digits" if tied else f"Best here: **{best}**"
        found.append(f"{metric} ({METRICS[metric]} is better): {listed}. {verdict}.")
    sources = sorted({source for source, _ in scored.values()})
    if found:
        found.append(f"(Scored on the {' / '.join(sources)}.)")
    return found


def trend_findings(store: RunStore, runs: dict[str, Run], losses: tuple[str, ...]) -> list[str]:
    """Where each named loss started and ended in each run that logged it."""
    found = []
    for label, run in runs.items():
        series: dict[str, list[float]] = {}
        for _, name, value in store.metrics(run.id):
            if name in losses:
                series.setdefault(name, []).append(value)
        for name in losses:
            if len(series.get(name, [])) >= 4:
                start, end, word = trend(series[name])
                found.append(f"{label}: {name} went from {number(start)} to {number(end)}: it {word}.")
    return found


def trend(values: list[float]) -> tuple[float, float, str]:
    """(mean of the first tenth, mean of the last tenth, 'falls' / 'rises' / 'stays level')."""
    edge = max(1, int(len(values) * EDGE))
    start, end = statistics.fmean(values[:edge]), statistics.fmean(values[-edge:])
    scale = max(abs(start), 1e-12)
    if abs(end - start) <= LEVEL * scale:
        return start, end, "stays level"
    return start, end, "falls" if end < start else "rises"


def number(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
