"""How long a training configuration takes on this machine, said before it is launched.

A step's cost depends on the task, its sizes and switches (image size, widths, mode, norm...),
the batch and the precision, not on learning rates or loss weights: `budget_key` keeps just
those. The pace comes from what was measured, never from a guess:

1. earlier runs of the same budget in the run store (their wall time per logged step, which
   includes samples, held-out evaluations and checkpoints), else
2. a measurement cached for this budget and CPU/GPU in `$STUDIO_HOME/step_times.json`, made by
   `measure_step_seconds`: a few real steps of the chosen config on a small split of its data.
"""

from __future__ import annotations

import dataclasses
import json
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from engine.errors import UserError
from engine.flags import settable_fields
from engine.runtime.device import cpu_model
from engine.runtime.precision import Precision
from engine.store.runs import RunStore
from engine.tasks import get_task, task_names
from engine.training.distributed import training_device
from engine.training.loop import make_loader
from engine.training.settings import TrainSettings

CACHE_FILE = "step_times.json"
MIN_LOGGED_STEPS = 20  # a run's pace over fewer steps is mostly its start-up
RECENT_RUNS = 5
SETTINGS_IN_BUDGET = ("batch_size", "precision", "device")


@dataclass(frozen=True)
class Estimate:
    """Seconds per step, where that figure comes from, and the whole run's time (None when the
    step count is not known before the data is: training for epochs)."""

    seconds_per_step: float
    source: str  # says how it was measured, for the page to show
    steps: int  # 0: trained for epochs, unknown before the data is read

    @property
    def total_seconds(self) -> float | None:
        return self.seconds_per_step * self.steps if self.steps else None

    def text(self) -> str:
        """'about 4 min for 300 steps at 0.80 s/step (how it was measured)'."""
        pace = f"{self.seconds_per_step:.2f} s/step"
        if self.total_seconds is None:
            return f"{pace} ({self.source}); the step count follows from the epochs"
        return (
            f"about {duration_words(self.total_seconds)} for {self.steps:,} steps at {pace} ({self.source})"
        )


def duration_words(seconds: float) -> str:
    """'under a minute', '12 min', '5 h 03 min'."""
    minutes = round(seconds / 60)
    if minutes < 1:
        return "under a minute"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def budget_key(task: str, task_config: dict, settings: dict) -> str:
    """What sets a step's cost: the task, its int/bool/choice fields, batch, precision, device."""
    fields = {f.name: f for f in settable_fields(get_task(task).Config)}  # a run stores the fixed ones too
    kept = {
        name: value
        for name, value in sorted(task_config.items())
        if name in fields and _costs(fields[name], value)
    }
    kept.update({name: settings.get(name) for name in SETTINGS_IN_BUDGET})
    return json.dumps({"task": task, **kept}, sort_keys=True, default=str)


def _costs(field: dataclasses.Field, value) -> bool:
    """Sizes, counts and switches change a step's cost; rates, weights and paths do not."""
    if isinstance(value, bool | int):
        return True
    return isinstance(value, str) and bool(field.metadata.get("choices"))


def machine() -> str:
    """The processor a measurement was made on (a cached figure only holds there)."""
    if torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    return f"{cpu_model()}, {torch.get_num_threads()} threads"


def pace_of_earlier_runs(store: RunStore, key: str) -> tuple[float, int] | None:
    """(median seconds per step, how many runs) over the newest runs of the same budget."""
    paces = []
    for run in store.list():
        config = run.config
        if run.step < MIN_LOGGED_STEPS or run.task not in task_names():
            continue
        try:
            same = budget_key(run.task, config.get("task_config", {}), config.get("settings", {})) == key
        except (UserError, ValueError, TypeError):
            continue
        pace = store.seconds_per_step(run.id) if same else None
        if pace:
            paces.append(pace)
        if len(paces) == RECENT_RUNS:
            break
    return (statistics.median(paces), len(paces)) if paces else None


def cached_measurement(home: str | Path, key: str) -> float | None:
    return _read_cache(home).get(machine(), {}).get(key)


def remember_measurement(home: str | Path, key: str, seconds: float) -> None:
    cache = _read_cache(home)
    cache.setdefault(machine(), {})[key] = seconds
    path = Path(home) / CACHE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(cache, indent=1))


def _read_cache(home: str | Path) -> dict:
    try:
        found = json.loads((Path(home) / CACHE_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def measure_step_seconds(task: str, task_config: dict, settings: dict, steps: int = 2) -> float:
    """Seconds per training step of this config here: one warm-up step, then the median of
    `steps` timed ones (batch loading included), on the smaller held-out split when there is one."""
    train_settings = TrainSettings(**{**settings, "num_workers": 0})
    TaskType = get_task(task)
    config = TaskType.settle_config(TaskType.Config(**task_config), train_settings.data)
    device = training_device(train_settings.device, 0)
    model = TaskType(config, device, Precision(device, train_settings.precision))
    for net in model.nets.values():
        net.to(memory_format=torch.channels_last)
    data = _small_split(model, train_settings)
    batches = iter(make_loader(data, train_settings, 0, 0, 1, device))
    model.train_step(next(batches))  # the first step allocates: not timed
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        model.train_step(next(batches))
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _small_split(model, settings: TrainSettings):
    """The val (or test) split, with training's crops: as costly per step, quicker to open."""
    try:
        return model.make_dataset(settings.data, "val", train=True, skip_bad=True)
    except (UserError, OSError, ValueError):
        return model.make_dataset(settings.data, "train", train=True, skip_bad=True)


def estimate(store: RunStore, task: str, task_config: dict, settings: dict) -> Estimate | None:
    """The measured pace of this budget (earlier runs first, then a cached measurement) and the
    run's whole time; None when nothing was measured yet (`measure_step_seconds` does it)."""
    key = budget_key(task, task_config, settings)
    earlier = pace_of_earlier_runs(store, key)
    if earlier:
        pace, count = earlier
        source = f"measured pace of {count} earlier run{'s' if count > 1 else ''} of this size here"
    else:
        pace = cached_measurement(store.home, key)
        if pace is None:
            return None
        source = f"2 steps timed here on {machine()}; samples and evaluations add to it"
    return Estimate(pace, source, settings.get("max_steps") or 0)


def measure_and_remember(store: RunStore, task: str, task_config: dict, settings: dict) -> Estimate:
    """Time a few steps of this config now, keep the figure for its budget, return the estimate."""
    seconds = measure_step_seconds(task, task_config, settings)
    remember_measurement(store.home, budget_key(task, task_config, settings), seconds)
    found = estimate(store, task, task_config, settings)
    return found or Estimate(seconds, "timed just now", settings.get("max_steps") or 0)
