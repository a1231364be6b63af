"""U-Net generator latency per call on the CPU, before and after engine/models/fast_inference.py.

For each bundled model named, three ways to run the same generator on the same drawing, each
through `Predictor.translate_tensor` (hint channels, layout, the network, the fp32 result):
- before: the plain network under autocast (what the predictor ran until the fast copy);
- bf16 weights: the plain network with its weights cast to bf16 once (autocast still on);
- fast: the predictor's inference-only copy (prepacked bf16 weights, channels_last norms,
  the sub-pixel last layer).
They run interleaved in rounds (each round every way `--calls` times, the order rotated), so a
neighbour's load falls on all three; medians and 90th percentiles over all calls are printed
(and the fastest call, the least disturbed on a busy machine) with the CPU model, the threads,
the load average and the share of the CPU others used meanwhile. The drawings are the bundled example sketches with table looks as hints; the
largest and mean absolute difference of each way's output from `before` is printed too.

    python bench/generator_latency.py [--models default default-live] [--calls 20] [--rounds 5]
        [--threads N] [--precision bf16]
Run nothing else meanwhile: on 2 cores anything else distorts the numbers.
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import time
from pathlib import Path

import torch

from engine.data.images import image_to_tensor, load_image
from engine.inference.loader import load_predictor
from engine.inference.predictor import Predictor
from engine.models.fast_inference import fast_generator
from engine.pipelines.sketch import Look, SketchPipeline
from engine.runtime.calibration import machine_cpu_seconds
from engine.runtime.device import cpu_model

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "assets" / "examples").glob("sketch_*.png"))


def ways(model: str, precision: str) -> tuple[dict[str, Predictor], float]:
    """The three predictors of one model, and the seconds the fast copy took to build."""
    fast = load_predictor(model, precision=precision)
    before = Predictor(fast.net, fast.meta, fast.source, fast.device, precision, fast=False)
    start = time.perf_counter()  # what the fast copy adds to loading a model
    fast_generator(fast.net, fast.device, fast.precision.dtype, fast.size, fast.nz)
    built = time.perf_counter() - start
    net_bf16 = copy.deepcopy(fast.net).to(torch.bfloat16)
    cast = Predictor(net_bf16, fast.meta, fast.source, fast.device, precision, fast=False)
    return {"before": before, "bf16 weights": cast, "fast": fast}, built


def drawing_batch(predictor: Predictor) -> tuple[torch.Tensor, torch.Tensor | None]:
    pipeline = SketchPipeline.serving(predictor)
    x = torch.stack([image_to_tensor(pipeline.prepare(load_image(p)).edges) for p in EXAMPLES])
    hints = pipeline.look_hint_tensor([Look(seed=i) for i in range(len(x))], x, None)
    return x, hints if predictor.takes_hints else None


def time_ways(predictors: dict[str, Predictor], x, hints, calls: int, rounds: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in predictors}
    names = list(predictors)
    for name in names:  # warm-up: oneDNN builds its kernels on the first calls
        for _ in range(3):
            predictors[name].translate_tensor(x[:1], None if hints is None else hints[:1])
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            for i in range(calls):
                k = i % len(x)
                h = None if hints is None else hints[k : k + 1]
                start = time.perf_counter()
                predictors[name].translate_tensor(x[k : k + 1], h)
                times[name].append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["default", "default-live"])
    parser.add_argument("--calls", type=int, default=20, help="calls of each way per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--precision", default="bf16", choices=("bf16", "fp32"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    machine, wall, own = machine_cpu_seconds(), time.perf_counter(), sum(os.times()[:4])
    print(
        f"{cpu_model()}, threads {torch.get_num_threads()}, torch {torch.__version__}, "
        f"{args.precision}, batch 1, 256 px; load average {os.getloadavg()[0]:.2f}"
    )
    for model in args.models:
        predictors, built = ways(model, args.precision)
        x, hints = drawing_batch(predictors["before"])
        with torch.inference_mode():
            outs = {name: p.translate_tensor(x, hints) for name, p in predictors.items()}
        times = time_ways(predictors, x, hints, args.calls, args.rounds)
        base = statistics.median(times["before"])
        print(
            f"\n{model}: ms per call ({args.rounds} rounds x {args.calls} calls), fast copy built in {built:.2f} s"
        )
        print(
            f"  {'way':<14} {'median':>8} {'p90':>8} {'min':>8} {'vs before':>10} {'max diff':>9} {'mean diff':>10}"
        )
        for name, t in times.items():
            t = sorted(t)
            diff = (outs[name] - outs["before"]).abs()
            print(
                f"  {name:<14} {statistics.median(t):8.2f} {t[int(0.9 * (len(t) - 1))]:8.2f} {t[0]:8.2f} "
                f"{statistics.median(t) / base:9.2f}x {diff.max():9.4f} {diff.mean():10.5f}"
            )
    if machine is not None:
        others = (machine_cpu_seconds() - machine - (sum(os.times()[:4]) - own)) / (
            (time.perf_counter() - wall) * (os.cpu_count() or 1)
        )
        print(
            f"\nother processes used {max(others, 0):.0%} of the CPU meanwhile; "
            f"load average {os.getloadavg()[0]:.2f}"
        )


if __name__ == "__main__":
    main()
