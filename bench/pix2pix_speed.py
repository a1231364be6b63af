"""pix2pix speed on this machine: training images/s (batch 1 and 4) and generator latency.

Each figure is measured twice in one process: first the plain reference configuration the
official implementation runs (fp32, eager, NCHW, glibc's default allocator), then the studio's
(allocator thresholds raised, `auto` precision: bf16 autocast only where a calibration measured
it faster on this CPU, channels_last for training and inference, as the trainer and predictors
run), and the ratio studio/reference is printed with the CPU model. Network: unet_256 (ngf 64) + the 70x70
PatchGAN, 256 px, the official defaults. Training is timed on in-memory batches (the studio's
trainer decodes the dataset once into a uint8 cache, so data loading is not in its loop).

    python bench/pix2pix_speed.py [--steps 8] [--latency-runs 30] [--ngf 64]
Run nothing else meanwhile: on 2 cores anything else distorts the numbers.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from engine.precision import Precision, cpu_model, keep_large_buffers_mapped, resolve_precision
from engine.tasks.pix2pix import Pix2Pix, Pix2PixConfig


def train_images_per_second(batch: int, steps: int, precision: str, ngf: int, channels_last: bool) -> float:
    torch.manual_seed(0)
    device = torch.device("cpu")
    task = Pix2Pix(Pix2PixConfig(ngf=ngf), device, Precision(device, precision))
    if channels_last:  # as engine.training.loop does
        for net in task.nets.values():
            net.to(memory_format=torch.channels_last)
    data = {"A": torch.rand(batch, 3, 256, 256) * 2 - 1, "B": torch.rand(batch, 3, 256, 256) * 2 - 1}
    for _ in range(2):  # warm-up
        task.train_step(data)
    start = time.perf_counter()
    for _ in range(steps):
        task.train_step(data)
    return batch * steps / (time.perf_counter() - start)


def latency_ms(runs: int, precision: str, channels_last: bool, ngf: int) -> tuple[float, float]:
    from engine.models.unet import UNetGenerator

    torch.manual_seed(0)
    net = UNetGenerator(ngf=ngf, depth=8).eval()
    x = torch.rand(1, 3, 256, 256) * 2 - 1
    if channels_last:
        net, x = net.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
    amp = Precision(torch.device("cpu"), precision)
    times = []
    with torch.inference_mode():
        for i in range(runs + 3):
            start = time.perf_counter()
            with amp.autocast():
                net(x)
            if i >= 3:
                times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--latency-runs", type=int, default=30)
    parser.add_argument("--ngf", type=int, default=64)
    args = parser.parse_args()
    torch.set_num_threads(torch.get_num_threads())
    studio_precision = resolve_precision("auto", torch.device("cpu"))
    print(
        f"{cpu_model()}, threads {torch.get_num_threads()}, torch {torch.__version__}, "
        f"studio precision {studio_precision} (auto), ngf {args.ngf}"
    )

    # reference first: the allocator change cannot be undone inside a process
    ref = {b: train_images_per_second(b, args.steps, "fp32", args.ngf, False) for b in (1, 4)}
    ref_lat = latency_ms(args.latency_runs, "fp32", False, args.ngf)
    keep_large_buffers_mapped()
    ours = {b: train_images_per_second(b, args.steps, studio_precision, args.ngf, True) for b in (1, 4)}
    ours_lat = latency_ms(args.latency_runs, studio_precision, True, args.ngf)

    print(f"\n{'figure':<34} {'reference':>10} {'studio':>10} {'ratio':>7}")
    for b in (1, 4):
        print(
            f"{f'training img/s, batch {b}':<34} {ref[b]:>10.2f} {ours[b]:>10.2f} {ours[b] / ref[b]:>6.2f}x"
        )
    for i, name in enumerate(("p50", "p95")):
        print(
            f"{f'generator latency {name}, ms (b1)':<34} {ref_lat[i]:>10.1f} {ours_lat[i]:>10.1f} "
            f"{ours_lat[i] / ref_lat[i]:>6.2f}x"
        )


if __name__ == "__main__":
    main()
