"""Whether this CPU trains faster in bf16 or fp32.

CPU flags do not tell (some CPUs with AVX512-BF16 run bf16 convolutions slower than fp32, others
much faster), so it is measured. The answer is cached on disk, and a cached answer is read by
every later run: a measurement taken while other processes competed for the cores once cached
the wrong one (bf16 "3.3x slower" on a CPU where it is 1.5x faster). So the two precisions are
timed in alternating rounds, and a decision is kept only when one of them won clearly in most
rounds while this process had its cores to itself (it got its threads' CPU time, and other
processes used little of the machine meanwhile: on a virtual machine two cores may be one
core's hyperthreads). A cached verdict that was measured under load (an older version's) is
measured again. Anything less trains in fp32, the safe default: exact, and never much slower
than expected, whereas bf16 runs 1.3-1.6x slower than fp32 on some CPUs with AVX512-BF16;
the question is left to the next process.
"""

from __future__ import annotations

import datetime
import functools
import json
import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from engine.runtime.device import cpu_generation, cpu_model

ROUNDS = 12  # fp32/bf16 pairs timed after the warm-up
WARM_UP_ROUNDS = 2  # the first passes build oneDNN kernels and allocate: they time set-up
BUDGET_S = 1.2  # it runs when training starts: no pass starts after this (warm-up included)
MIN_ROUNDS = 8  # fewer (a slow or busy CPU) decide nothing
MARGIN = 1.15  # a round counts for a precision only when it was at least this many times faster
AGREEMENT = 0.75  # a decision is kept when one precision won at least this share of the rounds
MIN_CPU_SHARE = 0.85  # below this share of its threads' CPU time, other processes competed
MAX_OTHERS_SHARE = 0.2  # above this share of the machine's CPU time used by others, it was busy


@dataclass(frozen=True)
class ConvTimings:
    """One calibration: seconds of (fp32, bf16) per round, the share of its threads' CPU time
    this process got while measuring (about 1 when no other process competed for the cores), and
    the share of the whole machine's CPU time other processes used meanwhile (0 when idle)."""

    rounds: tuple[tuple[float, float], ...]
    cpu_share: float
    others_share: float = 0.0

    def speedups(self) -> list[float]:
        """How many times faster bf16 was than fp32, per round."""
        return [fp32 / bf16 for fp32, bf16 in self.rounds]

    def median_speedup(self) -> float:
        return statistics.median(self.speedups()) if self.rounds else 1.0


@dataclass(frozen=True)
class Verdict:
    mode: str
    keep: bool  # clear enough to cache for later processes
    reason: str


def compared(speedup: float) -> str:
    """'bf16 measured 1.6x faster than fp32' (or slower), from bf16's speed-up over fp32."""
    if speedup >= 1:
        return f"bf16 measured {speedup:.1f}x faster than fp32"
    return f"bf16 measured {1 / speedup:.1f}x slower than fp32"


def judge(timings: ConvTimings) -> Verdict:
    """The precision that was at least MARGIN faster in AGREEMENT of at least MIN_ROUNDS rounds
    on an uncontended CPU, to keep; else fp32 for this process only."""
    n, speedup = len(timings.rounds), timings.median_speedup()
    if n < MIN_ROUNDS:  # a slow or busy CPU: too few rounds to tell a margin from noise
        got = f", this process got {timings.cpu_share:.0%} of its threads' CPU time" if n else ""
        return Verdict(
            "fp32",
            False,
            f"unclear: only {n} calibration rounds in {BUDGET_S:g} s (CPU slow or busy{got}); fp32, not cached",
        )
    if timings.cpu_share < MIN_CPU_SHARE:
        return Verdict(
            "fp32",
            False,
            f"CPU busy while measuring: this process got {timings.cpu_share:.0%} of its threads' CPU "
            f"time, {compared(speedup)}; fp32, not cached",
        )
    if timings.others_share > MAX_OTHERS_SHARE:
        return Verdict(
            "fp32",
            False,
            f"CPU busy while measuring: other processes used {timings.others_share:.0%} of the "
            f"machine's CPU time, {compared(speedup)}; fp32, not cached",
        )
    bf16_won = sum(s >= MARGIN for s in timings.speedups())
    fp32_won = sum(s <= 1 / MARGIN for s in timings.speedups())
    for mode, won in (("bf16", bf16_won), ("fp32", fp32_won)):
        if won >= AGREEMENT * n:
            return Verdict(mode, True, f"{compared(speedup)} on this CPU")
    return Verdict(
        "fp32",
        False,
        f"unclear margin: {compared(speedup)}, by {MARGIN:g}x or more in only "
        f"{max(bf16_won, fp32_won)} of {n} rounds; fp32, not cached",
    )


def calibration_file() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "image-studio" / "precision.json"


def calibration_key() -> str:
    """What the answer depends on: the CPU (name and generation), torch's kernels, the threads."""
    return (
        f"{cpu_model()} ({cpu_generation()}) | torch {torch.__version__} | {torch.get_num_threads()} threads"
    )


def read_saved(path: Path) -> dict:
    try:
        saved = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return saved if isinstance(saved, dict) else {}


def write_saved(path: Path, saved: dict) -> bool:
    """Write through a temporary file, so a process reading meanwhile never sees half a file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}")
        partial.write_text(json.dumps(saved, indent=1))
        os.replace(partial, path)
    except OSError:
        return False
    return True


def cached_choice(entry: object) -> tuple[str, str] | None:
    """(mode, why) from a cache entry; None for an entry that is not a clean verdict: older
    versions' bare times, and verdicts measured under load (too little CPU time for this
    process, others busy, too few rounds), as an earlier version cached. Those are measured again."""
    try:
        mode, speedup, date = entry["choice"], float(entry["bf16_speedup"]), entry["date"]
        clean = (
            float(entry["cpu_share"]) >= MIN_CPU_SHARE
            and float(entry.get("others_share", 0.0)) <= MAX_OTHERS_SHARE
            and int(entry["rounds"]) >= MIN_ROUNDS
        )
        if mode in ("bf16", "fp32") and clean:
            return mode, f"{compared(speedup)} on this CPU, cached {date}"
    except (KeyError, TypeError, ValueError, ZeroDivisionError, AttributeError):
        pass
    return None


@functools.cache
def fastest_cpu_precision() -> tuple[str, str]:
    """('bf16' or 'fp32', why), decided once per process: from the cache when an earlier process
    measured a clear answer on this CPU, else measured now and cached only when clear."""
    key, path = calibration_key(), calibration_file()
    cached = cached_choice(read_saved(path).get(key))
    if cached:
        return cached
    timings = measure_conv_precisions()
    verdict = judge(timings)
    if not verdict.keep:
        return "fp32", verdict.reason
    fp32_s, bf16_s = (statistics.median(column) for column in zip(*timings.rounds))
    saved = read_saved(path)  # re-read: another process may have written meanwhile
    saved[key] = {
        "choice": verdict.mode,
        "bf16_speedup": round(timings.median_speedup(), 3),
        "fp32_s": round(fp32_s, 5),
        "bf16_s": round(bf16_s, 5),
        "rounds": len(timings.rounds),
        "cpu_share": round(timings.cpu_share, 3),
        "others_share": round(timings.others_share, 3),
        "date": datetime.date.today().isoformat(),
    }
    stored = "cached" if write_saved(path, saved) else "not cached (the cache file could not be written)"
    return verdict.mode, f"{verdict.reason}, measured now and {stored}"


def conv_stack() -> torch.nn.Module:
    """A small U-Net-like stack (channels_last, as the studio trains)."""
    return torch.nn.Sequential(
        torch.nn.Conv2d(8, 32, 4, 2, 1),
        torch.nn.LeakyReLU(0.2),
        torch.nn.Conv2d(32, 64, 4, 2, 1),
        torch.nn.BatchNorm2d(64),
        torch.nn.ReLU(),
        torch.nn.ConvTranspose2d(64, 32, 4, 2, 1),
        torch.nn.ReLU(),
        torch.nn.ConvTranspose2d(32, 3, 4, 2, 1),
    ).to(memory_format=torch.channels_last)


def time_pass(net: torch.nn.Module, x: torch.Tensor, mode: str) -> float:
    """Seconds of one forward + backward in `mode`."""
    start = time.perf_counter()
    with torch.autocast("cpu", torch.bfloat16, enabled=mode == "bf16"):
        out = net(x)
    out.float().square().mean().backward()
    return time.perf_counter() - start


def passes_before(
    deadline: float, net: torch.nn.Module, x: torch.Tensor, modes: tuple[str, ...]
) -> list[float] | None:
    """Seconds of a pass in each of `modes`, or None when the deadline came first: checked before
    every pass, since on a contended CPU one pass can take a good part of the budget."""
    seconds = []
    for mode in modes:
        if time.perf_counter() > deadline:
            return None
        seconds.append(time_pass(net, x, mode))
    return seconds


def measure_conv_precisions(rounds: int = ROUNDS, budget_s: float = BUDGET_S) -> ConvTimings:
    """Rounds of one fp32 and one bf16 pass, the order alternating so neither always runs on the
    other's warm caches; a busy neighbour then slows both alike, and shows in the CPU share."""
    with torch.random.fork_rng(devices=[]):  # the caller's seeded RNG stays as it was
        torch.manual_seed(0)
        net = conv_stack()
        x = torch.randn(2, 8, 128, 128).contiguous(memory_format=torch.channels_last)
        deadline = time.perf_counter() + budget_s
        passes_before(deadline, net, x, ("fp32", "bf16") * WARM_UP_ROUNDS)
        measured: list[tuple[float, float]] = []
        wall, cpu, machine = time.perf_counter(), time.process_time(), machine_cpu_seconds()
        while len(measured) < rounds:
            order = ("fp32", "bf16") if len(measured) % 2 == 0 else ("bf16", "fp32")
            seconds = passes_before(deadline, net, x, order)
            if seconds is None:
                break
            by_mode = dict(zip(order, seconds))
            measured.append((by_mode["fp32"], by_mode["bf16"]))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        machine = machine_cpu_seconds() - machine if machine is not None else cpu
    share = cpu / (wall * torch.get_num_threads()) if measured else 0.0
    others = max(0.0, machine - cpu) / (wall * (os.cpu_count() or 1)) if measured else 0.0
    return ConvTimings(tuple(measured), share, others)


def machine_cpu_seconds() -> float | None:
    """CPU seconds every process has used since boot (Linux /proc/stat; steal time counts, a
    virtual machine's neighbours'); None where there is no such file."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
        user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[1:9])
    except (OSError, ValueError):
        return None
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")
