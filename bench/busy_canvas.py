"""The live canvas beside a training run: the default generator's call idle and busy.

For each policy of sharing the CPU, a "server" process (started with the policy's environment,
as the studio's entry point would be) loads the default sketch model and times its call on a
256 px drawing, a stroke every --gap seconds as a person draws. It starts a real training run
the way the studio's Train page does (engine.training.launch.start_training, the quick size of
the L1 + cGAN preset on --data) with the policy's CPU share, then alternates idle and busy
phases in one process: the run paused (SIGSTOP on its process group), then running. It prints
p50/p95 idle and busy, busy/idle (target: p50 at most 2x), the training's steps/s alone and
beside the drawing, and stops the run cleanly (SIGTERM: it checkpoints and ends). `studio` is
the policy the studio uses (engine/runtime/threads.py; the calls on the server's inference
thread); `passive` the studio's until session 12 (the server's idle threads sleep at once);
`plain` the one before that (normal priority, two threads each). With --browser (needs chromium) the idle/busy phases are strokes
on the live canvas in headless chromium instead (bench/sketch_latency.py's clock).

    python bench/busy_canvas.py [--policies studio,plain] [--rounds 4] [--calls 12]
        [--data ../shared/data/edges2shoes] [--browser]
Other processes on the machine disturb both phases; the interleaving spreads that over both.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from engine.runtime.threads import BACKGROUND, BRIEF_SPIN, FOREGROUND, QUIET_OPENMP, CpuShare


@dataclass(frozen=True)
class Policy:
    server_env: dict = field(default_factory=lambda: dict(BRIEF_SPIN))
    background: CpuShare = BACKGROUND


SAME_SESSION = CpuShare(nice=0)  # normal priority in the server's group
POLICIES = {  # the run: in the server's session (scheduling group) unless said
    "studio": Policy(),  # nice 19, as many threads as cores; the server spins ~1 ms
    "passive": Policy(dict(QUIET_OPENMP)),  # the studio's until session 12: the server's threads sleep
    "plain": Policy(background=FOREGROUND),  # before: normal priority, a session of its own
    "same": Policy(background=SAME_SESSION),  # normal priority (a kernel without session groups)
    "idle": Policy(background=CpuShare(idle_class=True)),  # SCHED_IDLE too
    "nice10": Policy(background=CpuShare(nice=10)),
    "own-19": Policy(background=CpuShare(session=True)),  # a session of its own, its group nice 19
    "1-thread": Policy(background=CpuShare(threads=1)),
    "split": Policy(background=CpuShare(nice=0, threads=1, cpus=(1,))),
    "spin": Policy({"OMP_WAIT_POLICY": "ACTIVE"}, SAME_SESSION),  # OpenMP threads spin, both
}


def percentiles(ms: list[float]) -> tuple[float, float]:
    ms = sorted(ms)
    return statistics.median(ms), ms[int(0.95 * (len(ms) - 1))]


def drawing_256():
    from PIL import Image, ImageDraw

    img = Image.new("RGBA", (256, 256), (0, 0, 0, 0))
    pen = ImageDraw.Draw(img)
    pen.line(
        [(30, 200), (30, 120), (90, 100), (150, 130), (220, 160), (235, 200), (30, 200)], (0, 0, 0, 255), 3
    )
    pen.line([(30, 180), (235, 180)], fill=(0, 0, 0, 255), width=3)
    return img


def calls_ms(pipeline, drawing, n: int, gap: float) -> list[float]:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        pipeline(drawing)
        times.append((time.perf_counter() - start) * 1000)
        time.sleep(gap)
    return times


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid`, all its threads (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Pace:
    """The run's steps/s and cores used over a stretch of time."""

    def __init__(self, store, run_id: str, pid: int) -> None:
        self.store, self.run_id, self.pid = store, run_id, pid
        self.step, self.cpu, self.start = store.get(run_id).step, cpu_seconds(pid), time.perf_counter()

    def done(self) -> tuple[float, float]:
        wall = time.perf_counter() - self.start
        return (self.store.get(self.run_id).step - self.step) / wall, (
            cpu_seconds(self.pid) - self.cpu
        ) / wall


def start_run(args, share: CpuShare, home: str):
    """As the Train page starts a quick L1 + cGAN run, but with no end (it is stopped)."""
    from engine.training.launch import start_training
    from engine.training.presets import QUICK, sized_config, sized_settings

    settings = {**sized_settings(QUICK), "data": args.data, "max_steps": 100000}
    config = sized_config("pix2pix", "problem set: L1 + cGAN, lambda 100", QUICK)
    return start_training("pix2pix", settings, config, home, share)


def stop_run(process: subprocess.Popen) -> None:
    """SIGCONT (it may be paused), SIGTERM (a clean stop with a checkpoint), SIGKILL after 180 s."""
    for sig in (signal.SIGCONT, signal.SIGTERM):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
    try:
        process.wait(180)  # at the lowest priority on a busy machine, its last step can take a while
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def serve(args) -> dict:
    """One policy, in this process (started with the policy's environment)."""
    import torch

    from engine.pipelines.sketch import SketchPipeline
    from engine.runtime.inference_thread import run_inference
    from engine.runtime.threads import describe
    from engine.store.runs import RunStore
    from engine.training.launch import wait_for_new_run

    policy = POLICIES[args.serve]
    pipeline, drawing = run_inference(SketchPipeline.load, "default"), drawing_256()
    run_inference(calls_ms, pipeline, drawing, 5, 0)  # warm-up, on the thread the studio uses
    url = None
    if args.browser:
        from studio.sketch import build_sketch_demo

        demo = build_sketch_demo({"default": "default"})
        demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
        url = demo.local_url

    def measure(n: int) -> list[float]:
        if url:
            from sketch_latency import browser_latencies

            return browser_latencies(url, n)[0]  # stroke -> the first new shoe
        return run_inference(calls_ms, pipeline, drawing, n, args.gap)

    with tempfile.TemporaryDirectory(prefix="busy-canvas-") as home:
        launched = start_run(args, policy.background, home)
        store, out = RunStore(home), {"idle": [], "busy": [], "beside": []}
        try:
            run = wait_for_new_run(store, launched.started, 300, "pix2pix", launched.process)
            if run is None:
                raise SystemExit(f"the training run did not start: {launched.log_tail(5)}")
            run_id, out["run"] = run.id, describe(launched.pid)
            time.sleep(args.settle)
            pace = Pace(store, run_id, launched.pid)
            time.sleep(args.alone_s)  # the run alone: its own pace
            out["alone"] = pace.done()
            for _ in range(args.rounds):
                os.killpg(launched.pid, signal.SIGSTOP)
                time.sleep(0.3)
                out["idle"] += measure(args.calls)
                os.killpg(launched.pid, signal.SIGCONT)
                time.sleep(1.0)
                pace = Pace(store, run_id, launched.pid)
                out["busy"] += measure(args.calls)
                out["beside"].append(pace.done())
        finally:
            stop_run(launched.process)
        out["run_exit"] = launched.process.returncode
        wait = (
            os.environ.get("OMP_WAIT_POLICY") or f"GOMP_SPINCOUNT {os.environ.get('GOMP_SPINCOUNT', 'unset')}"
        )
        out["server"] = f"{torch.get_num_threads()} threads, {wait}"
    return out


def run_policy(name: str, args) -> dict:
    """`serve` in a process of its own: OpenMP reads its environment once, at start-up."""
    env = {**os.environ, **POLICIES[name].server_env}  # the run inherits it: 'spin' spins there too
    argv = [sys.executable, __file__, "--serve", name, *sys.argv[1:]]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=1800)
    if done.returncode:
        raise SystemExit(f"policy {name} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(name: str, out: dict) -> str:
    idle, busy = percentiles(out["idle"]), percentiles(out["busy"])
    steps, cores = (statistics.mean(column) for column in zip(*out["beside"]))
    return (
        f"{name:<8} {idle[0]:7.1f} {idle[1]:7.1f} {busy[0]:8.1f} {busy[1]:8.1f} {busy[0] / idle[0]:6.2f}x"
        f" {'yes' if busy[0] <= 2 * idle[0] else 'NO':>4}   {out['alone'][0]:5.2f} ({out['alone'][1]:.1f})"
        f" {steps:5.2f} ({cores:.1f})   "
        f"server {out['server']}; run {out['run']} (exit {out['run_exit']})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policies", default="studio,plain", help=f"of {', '.join(POLICIES)}")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--calls", type=int, default=12, help="calls (or strokes) per phase")
    parser.add_argument("--gap", type=float, default=0.2, help="seconds between calls, as strokes come")
    parser.add_argument(
        "--data", default=str(Path(__file__).resolve().parents[2] / "shared/data/edges2shoes")
    )
    parser.add_argument("--settle", type=float, default=4.0, help="seconds after the run appears")
    parser.add_argument("--alone-s", type=float, default=8.0, help="seconds the run's own pace is timed")
    parser.add_argument("--browser", action="store_true", help="strokes in headless chromium")
    parser.add_argument("--serve", choices=tuple(POLICIES), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        print(json.dumps(serve(args)))
        return
    from engine.runtime.device import cpu_model

    names = args.policies.split(",")
    unknown = [n for n in names if n not in POLICIES]
    if unknown:
        raise SystemExit(f"unknown policy {unknown[0]!r}: one of {', '.join(POLICIES)}")
    what = "stroke -> shoe in chromium" if args.browser else "default generator call, 256 px drawing"
    print(f"{cpu_model()}, {os.cpu_count()} cores; {what}; load average before {os.getloadavg()[0]:.2f}")
    print(
        f"{'policy':<8} {'idle ms':>7} {'p95':>7} {'busy ms':>8} {'p95':>8} {'ratio':>7} {'<=2x':>4}   "
        f"run steps/s (cores) alone, beside"
    )
    for name in names:
        print(report(name, run_policy(name, args)), flush=True)


if __name__ == "__main__":
    main()
