"""Start and resume training in a child process, so a UI never trains inside its own process.

The child is `python -m engine train ...` in a process group of its own (Ctrl-C in the UI's
terminal, or the UI ending, does not stop it), with stdout and stderr in `$STUDIO_HOME/logs/`.
It creates its run in the store once its data is loaded; `wait_for_new_run` finds it there. It
runs in the background's share of the CPU (engine.runtime.threads.BACKGROUND: lowest priority
in the UI's session, idle OpenMP threads sleeping), so the studio's live demos stay responsive
while it trains, and it trains at full speed while they are idle.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import shlex
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from engine.data.image_folders import FASHION_MNIST
from engine.data.images import IMAGE_EXTENSIONS
from engine.errors import UserError
from engine.flags import check_choices, check_fixed, flag, settable_fields
from engine.runtime.threads import BACKGROUND, CpuShare, describe
from engine.store.runs import Run, RunStore, default_home
from engine.tasks import get_task
from engine.training.loop import TrainSettings

NAMED_DATASETS = (FASHION_MNIST,)  # `--data NAME` datasets that are not folders


@dataclass
class LaunchedRun:
    """A training process this process started, and where its output goes."""

    process: subprocess.Popen
    log_path: Path
    command: list[str]
    started: float
    run_id: str | None = None  # known at once on resume; for a new run, once it appears
    priority: str = ""  # how it shares the CPU: 'session group nice 0, nice 19, SCHED_OTHER, cores 0,1'

    @property
    def pid(self) -> int:
        return self.process.pid

    def exited(self) -> bool:
        return self.process.poll() is not None

    def log_tail(self, lines: int = 20) -> str:
        return read_log_tail(self.log_path, lines)


def config_flags(cls: type, values: dict) -> list[str]:
    """CLI flags for fields of a config dataclass, as `engine.flags` parses them back:
    `lambda_l1=100` -> `--lambda-l1=100`, bools -> `--dropout` / `--no-dropout`."""
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise UserError(f"unknown {cls.__name__} option(s): {', '.join(unknown)}")
    check_choices(cls(**{k: v for k, v in values.items() if v is not None}))  # here, not in the child
    check_fixed(cls, values)
    settable = {f.name for f in settable_fields(cls)}
    read_from_data = sorted(
        name for name, value in values.items() if name not in settable and isinstance(value, list) and value
    )
    if read_from_data:
        raise UserError(f"{', '.join(read_from_data)}: read from the training data, not given")
    flags = []
    for name, value in values.items():
        if value is None or name not in settable:  # fixed ones at their defaults (checked), empty lists
            continue
        if isinstance(value, bool):
            flags.append(flag(name) if value else "--no-" + flag(name)[2:])
        else:
            flags.append(f"{flag(name)}={value}")  # '=' keeps values like '-x' from looking like flags
    return flags


def launch_command(task: str, settings: dict, task_config: dict | None = None) -> str:
    """The `python -m engine train` line that trains what `start_training` would with these
    values (only what differs from the defaults), for a person to run in a shell."""
    task_type = get_task(task)
    plain = {**dataclasses.asdict(TrainSettings()), **_defaults(task_type.Config)}
    chosen = {k: v for k, v in settings.items() if k != "data" and v != plain.get(k)}
    changed = {k: v for k, v in (task_config or {}).items() if k not in plain or v != plain[k]}
    flags = config_flags(TrainSettings, {"data": settings.get("data") or "DATA", **chosen})
    return shlex.join(
        ["python", "-m", "engine", "train", task, *flags, *config_flags(task_type.Config, changed)]
    )


def settled_changes(task: str, task_config: dict, data: str) -> dict[str, tuple]:
    """Fields the task sets itself when the run starts (`settle_config`: a student cut out of its
    teacher takes the teacher's size and norm), as {name: (given, trained with)}; {} when the
    config or the data cannot tell yet (the launch then says why)."""
    task_type = get_task(task)
    try:
        given = task_type.Config(**task_config)
        settled = task_type.settle_config(given, data)
    except (UserError, ValueError, TypeError, OSError):
        return {}
    changes = {
        f.name: (getattr(given, f.name), getattr(settled, f.name)) for f in settable_fields(task_type.Config)
    }
    return {name: pair for name, pair in changes.items() if pair[0] != pair[1]}


def _defaults(cls: type) -> dict:
    return {f.name: f.default for f in dataclasses.fields(cls) if f.default is not dataclasses.MISSING}


def dataset_problem(folder: str | Path) -> str | None:
    """Why `folder` cannot be a dataset (missing, not a folder, no images), or None if it can."""
    if not str(folder).strip():
        return "enter the dataset folder"
    if str(folder) in NAMED_DATASETS:
        return None
    path = Path(folder).expanduser()
    if not path.exists():
        return f"dataset folder not found: {path}"
    if not path.is_dir():
        return f"not a folder: {path}"
    if not _has_images(path):
        return f"no images in {path} (expected e.g. DIR/train/*.jpg with A|B side by side)"
    return None


def _has_images(folder: Path, depth: int = 3, budget: int = 20000) -> bool:
    """An image within `depth` levels (DIR/train/A/x.jpg is 3). Gives up looking, saying yes,
    after `budget` entries: a wrong folder like / must not stall the page that asks."""
    level, seen = [folder], 0
    for _ in range(depth):
        below = []
        for current in level:
            try:
                entries = list(os.scandir(current))
            except OSError:
                continue
            for entry in entries:
                seen += 1
                if entry.is_file() and Path(entry.name).suffix.lower() in IMAGE_EXTENSIONS:
                    return True
                if entry.is_dir():
                    below.append(entry.path)
            if seen > budget:
                return True
        level = below
    return False


def start_training(
    task: str,
    settings: dict,
    task_config: dict | None = None,
    home: str | Path | None = None,
    share: CpuShare = BACKGROUND,
) -> LaunchedRun:
    """`python -m engine train TASK --flags...` in the background (`share`: its priority and
    threads, by default below the studio's demos); returns at once."""
    task_type = get_task(task)  # unknown task: UserError naming the ones there are
    problem = dataset_problem(settings.get("data", ""))
    if problem:
        raise UserError(problem)
    if settings["data"] not in NAMED_DATASETS:  # a folder: the child may start elsewhere
        settings = {**settings, "data": str(Path(settings["data"]).expanduser().resolve())}
    flags = config_flags(TrainSettings, settings) + config_flags(task_type.Config, task_config or {})
    return _spawn(["train", task, *flags], home, task, share)


def resume_training(
    run_id: str, home: str | Path | None = None, max_steps: int | None = None, share: CpuShare = BACKGROUND
) -> LaunchedRun:
    """Continue a stopped, failed or finished run from its last checkpoint (to `max_steps`)."""
    store = RunStore(home)
    run = store.get(run_id)  # unknown run: UserError naming the store
    if run.status == "running":
        raise UserError(f"run {run_id} is still running")
    if store.latest_checkpoint(run_id) is None:
        raise UserError(f"run {run_id} has no checkpoint to resume from")
    flags = [f"--resume={run_id}"] + ([f"--max-steps={max_steps}"] if max_steps else [])
    launch = _spawn(["train", *flags], home, run_id, share)
    launch.run_id = run_id
    return launch


def start_command(
    args: list[str], home: str | Path | None = None, label: str = "command", share: CpuShare = BACKGROUND
) -> LaunchedRun:
    """Another `python -m engine ...` command (e.g. `loss-study --score`, which scores runs) in
    the background, as training is: its own process group, a log, the background's CPU share."""
    return _spawn(args, home, label, share)


def _spawn(args: list[str], home: str | Path | None, label: str, share: CpuShare) -> LaunchedRun:
    home = (Path(home) if home else default_home()).expanduser().resolve()
    logs = home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log_path = logs / f"{label}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}.log"
    command = [sys.executable, "-m", "engine", *args, f"--home={home}"]
    env = {
        **share.env(),  # OpenMP's settings must be in place before the child's torch starts
        "PYTHONUNBUFFERED": "1",
        "TQDM_MININTERVAL": os.environ.get("TQDM_MININTERVAL", "10"),  # a log, not a terminal
    }
    started = time.time()
    with open(log_path, "w") as log:
        log.write(" ".join(command) + "\n")
        log.flush()
        process = subprocess.Popen(
            command,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            **share.popen_options(),
        )
    # at once, while the child's Python is still importing: every thread it makes inherits it
    problems = share.apply(process.pid)
    if problems:
        print(f"training process {process.pid}: could not set {'; '.join(problems)}", file=sys.stderr)
    # reap the child when it ends, so no zombie is left behind while the UI lives on
    threading.Thread(target=process.wait, daemon=True).start()
    return LaunchedRun(process, log_path, command, started, priority=describe(process.pid))


def wait_for_new_run(
    store: RunStore,
    since_time: float,
    timeout: float = 30.0,
    task: str | None = None,
    process: subprocess.Popen | None = None,
    poll: float = 0.25,
) -> Run | None:
    """The first run created at or after `since_time`; None after `timeout`, or as soon as
    `process` has exited without creating one (its log says why)."""
    deadline = time.monotonic() + timeout
    while True:
        exited = process is not None and process.poll() is not None  # before looking: no race
        found = [r for r in store.list(task) if r.created >= since_time]
        if found:
            return min(found, key=lambda r: r.created)
        if exited or time.monotonic() >= deadline:
            return None
        time.sleep(poll)


def read_log_tail(path: str | Path, lines: int = 20) -> str:
    """The last lines of a log ('' if it is not there yet); progress-bar redraws become lines."""
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(_split_lines(text)[-lines:])


def last_error(path: str | Path) -> str:
    """The last non-empty line of a log: for a failed launch, the message without a traceback."""
    found = [line for line in _split_lines(read_log_tail(path, 200)) if line.strip()]
    return found[-1].strip() if found else "the training process ended without output"


def _split_lines(text: str) -> list[str]:
    return [part for line in text.splitlines() for part in line.split("\r")]
