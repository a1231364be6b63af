"""Start-up times: how long a one-shot command and `make studio` keep a person waiting.

Every figure is the median of fresh processes (nothing warm in Python, the files in the page
cache after the first run), printed beside its target and a plain reference measured in the
same run: the imports the command cannot avoid.

    (a) python -c "import torch"                         the floor of any command that runs a model
    (b) python -m engine translate --model default SKETCH OUT --sketch   (one bundled sketch)
    (c) python -m studio (what `make studio` runs) until the Gradio and the Streamlit URLs both
        answer HTTP 200, then stopped with SIGTERM as Ctrl-C would; its reference is
        python -c "import torch, gradio" (the Gradio process needs both)
    (d) python -m engine --help

    python bench/startup.py [--runs 3] [--studio-runs 1] [--make]

--make times `make studio` itself instead of `python -m studio` (the venv must be ready). Wall
times on a machine others are using are theirs as much as ours: the load average and the share
of the CPU other processes used are printed at the end, and each row also gives the CPU seconds
the command's own processes used (less disturbed by neighbours than the wall time).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from engine.runtime.calibration import machine_cpu_seconds
from engine.runtime.device import cpu_model
from studio.ports import pick_port

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
SKETCH = ROOT / "assets" / "examples" / "sketch_boot.png"
STUDIO_LIMIT = 180.0  # seconds before a studio that never answers counts as failed


def children_cpu() -> float:
    """CPU seconds used by this process's finished children."""
    times = os.times()
    return times.children_user + times.children_system


def run_once(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one fresh process, which must succeed."""
    cpu, start = children_cpu(), time.perf_counter()
    done = subprocess.run(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    if done.returncode:
        raise RuntimeError(f"{' '.join(command)} failed: {done.stderr.strip()[-2000:]}")
    return time.perf_counter() - start, children_cpu() - cpu


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return reply.status == 200
    except OSError:
        return False


def studio_once(command: list[str], env: dict[str, str], urls: list[str]) -> tuple[float, float]:
    """(seconds until every URL answers 200, CPU seconds of the studio's processes), then the
    studio is stopped with SIGTERM and must end by itself (its Streamlit child with it)."""
    cpu, start = children_cpu(), time.perf_counter()
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, start_new_session=True)
    waiting = list(urls)
    try:
        while waiting:
            if proc.poll() is not None:
                raise RuntimeError(f"{' '.join(command)} ended with {proc.returncode} before serving")
            if time.perf_counter() - start > STUDIO_LIMIT:
                raise RuntimeError(f"{waiting} did not answer within {STUDIO_LIMIT:.0f} s")
            waiting = [url for url in waiting if not answers(url)]
            time.sleep(0.05)
        served = time.perf_counter() - start
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # make's children too, as Ctrl-C in a terminal does
        proc.wait(timeout=60)
    return served, children_cpu() - cpu


def median_of(runs: int, once: Callable[[], tuple[float, float]]) -> tuple[float, float]:
    """Medians of (wall, CPU) over `runs` tries, after one untimed run that fills the page cache."""
    once()
    timings = [once() for _ in range(runs)]
    return statistics.median(t[0] for t in timings), statistics.median(t[1] for t in timings)


def row(
    name: str, measured: tuple[float, float], target: float | None, reference: tuple[float, float] | None
):
    wall, cpu = measured
    aim = f"<= {target:.1f} s {'met' if wall <= target else 'MISSED'}" if target else "-"
    ref = f"{reference[0]:6.2f} s" if reference else "-"
    print(f"{name:<34} {wall:6.2f} s  (cpu {cpu:5.2f} s)   target {aim:<16} reference {ref}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="fresh processes per one-shot figure")
    parser.add_argument("--studio-runs", type=int, default=1, help="studio starts timed")
    parser.add_argument("--make", action="store_true", help="time `make studio`, not python -m studio")
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="startup-bench-")
    env = {**os.environ, "STUDIO_HOME": home, "GRADIO_ANALYTICS_ENABLED": "False"}
    out = Path(home) / "out.png"
    print(f"CPU: {cpu_model()}, {os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f}", flush=True)
    machine, wall, own = machine_cpu_seconds(), time.perf_counter(), children_cpu()

    torch_only = median_of(args.runs, lambda: run_once([PY, "-c", "import torch"], env))
    row('python -c "import torch"', torch_only, None, None)
    translate = [PY, "-m", "engine", "translate", "--model", "default", str(SKETCH), str(out), "--sketch"]
    row(
        "python -m engine translate (1)",
        median_of(args.runs, lambda: run_once(translate, env)),
        2.5,
        torch_only,
    )
    helped = median_of(args.runs, lambda: run_once([PY, "-m", "engine", "--help"], env))
    started = median_of(args.runs, lambda: run_once([PY, "-c", "pass"], env))
    row("python -m engine --help", helped, None, started)
    print(f"{'':<34} (reference: python -c pass)")

    floor = median_of(args.runs, lambda: run_once([PY, "-c", "import torch, gradio"], env))
    gradio_port = pick_port("127.0.0.1", None, 7860, "--port")
    streamlit_port = pick_port("127.0.0.1", None, 8501, "--streamlit-port", (gradio_port,))
    options = ["--port", str(gradio_port), "--streamlit-port", str(streamlit_port)]
    if args.make:
        command = ["make", "--no-print-directory", "studio", f"ARGS={' '.join(options)}"]
    else:
        command = [PY, "-m", "studio", *options]
    urls = [f"http://127.0.0.1:{gradio_port}/", f"http://127.0.0.1:{streamlit_port}/"]
    timings = [studio_once(command, env, urls) for _ in range(args.studio_runs)]
    studio = statistics.median(t[0] for t in timings), statistics.median(t[1] for t in timings)
    row(f"{'make studio' if args.make else 'python -m studio'} (both URLs 200)", studio, 10.0, floor)
    print(f'{"":<34} (reference: python -c "import torch, gradio")')

    if machine is not None:
        spent = time.perf_counter() - wall
        others = (machine_cpu_seconds() - machine - (children_cpu() - own)) / (spent * (os.cpu_count() or 1))
        print(
            f"other processes used {max(others, 0):.0%} of the CPU meanwhile; load average {os.getloadavg()[0]:.2f}"
        )
    shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
