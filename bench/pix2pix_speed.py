"""pix2pix speed on this machine: training images/s (batch 1 and 4) and generator latency.

Each figure is measured for the plain reference configuration the official implementation
runs (fp32, eager, NCHW, glibc's default allocator) and for the studio's
(allocator thresholds raised, `auto` precision: bf16 autocast only where a calibration measured
it faster on this CPU, channels_last for training and inference, fused Adam, as the trainer and predictors
run, and the U-Net's innermost convolutions as matrix products, see engine/models/small_maps.py),
each side in a process of its own (the allocator change cannot be undone inside one), the
two side by side; with --repeat N, N pairs in alternating order, and the ratio studio/reference
is printed from the medians, with each pair's own ratio, and the CPU model. Network: unet_256 (ngf 64) + the 70x70
PatchGAN, 256 px, the official defaults. Training is timed twice: on in-memory batches (the
compute alone), and end to end from JPEG files as a user's run reads them: the reference the
official way (PIL decode, resize to 286, random crop and flip per item, 4 loader workers), the
studio with its dataset cache (decoded once when the run starts; that one-off cost is printed
apart) and its resumable sampler. The files are generated A|B JPEGs of edges2shoes' size, so
the bench needs no dataset.

    python bench/pix2pix_speed.py [--steps 8] [--latency-runs 30] [--ngf 64] [--precision auto]
        [--repeat 1]
Run nothing else meanwhile: on 2 cores anything else distorts the numbers. The studio's precision
comes from the calibration (engine/runtime/calibration.py), as a run's does, and is printed with
the reason (measured now, cached, or fp32 because the CPU was busy while measuring);
--precision fp32 or bf16 times that precision instead. The load average and the share of the
CPU other processes used during the whole bench are printed at the end: figures taken while
others used much of the CPU are not the machine's.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from engine.data.datasets import AlignedDataset
from engine.data.sampling import ResumableSampler
from engine.models import small_maps
from engine.runtime.allocator import keep_large_buffers_mapped
from engine.runtime.calibration import machine_cpu_seconds
from engine.runtime.device import cpu_model
from engine.runtime.precision import Precision, choose_precision
from engine.tasks.pix2pix import Pix2Pix, Pix2PixConfig


def make_task(precision: str, ngf: int, studio: bool) -> Pix2Pix:
    """The studio's task as the trainer runs it, or the official configuration: NCHW weights and
    torch's default (multi-tensor, unfused) Adam."""
    torch.manual_seed(0)
    device = torch.device("cpu")
    task = Pix2Pix(Pix2PixConfig(ngf=ngf), device, Precision(device, precision))
    for name, net in task.nets.items():
        if studio:  # as engine.training.loop does
            net.to(memory_format=torch.channels_last)
        else:
            task.optimizers[name] = torch.optim.Adam(net.parameters(), 2e-4, betas=(0.5, 0.999))
    return task


def train_images_per_second(batch: int, steps: int, precision: str, ngf: int, channels_last: bool) -> float:
    task = make_task(precision, ngf, channels_last)
    data = {"A": torch.rand(batch, 3, 256, 256) * 2 - 1, "B": torch.rand(batch, 3, 256, 256) * 2 - 1}
    for _ in range(2):  # warm-up
        task.train_step(data)
    start = time.perf_counter()
    for _ in range(steps):
        task.train_step(data)
    return batch * steps / (time.perf_counter() - start)


def write_pairs(folder: Path, count: int) -> Path:
    """A|B JPEGs of 512x256, smooth enough to compress like photos."""
    rng = np.random.default_rng(0)
    ramp = np.linspace(0, 255, 512, dtype=np.float32)
    for i in range(count):
        pixels = ramp[None, :, None] * rng.uniform(0.3, 1.0, (256, 1, 3)) + rng.normal(0, 8, (256, 512, 3))
        Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).save(folder / f"{i}_AB.jpg", quality=90)
    return folder


class OfficialAligned(Dataset):
    """The official pix2pix AlignedDataset's per-item work: decode, split, resize, crop, flip."""

    def __init__(self, folder: Path) -> None:
        self.paths = sorted(folder.glob("*.jpg"))

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> dict:
        ab = Image.open(self.paths[index]).convert("RGB")
        w, h = ab.size
        a, b = ab.crop((0, 0, w // 2, h)), ab.crop((w // 2, 0, w, h))
        x, y = np.random.randint(0, 286 - 256 + 1, 2)
        flip = np.random.rand() > 0.5
        out = {}
        for key, half in (("A", a), ("B", b)):
            half = half.resize((286, 286), Image.BICUBIC).crop((x, y, x + 256, y + 256))
            if flip:
                half = half.transpose(Image.FLIP_LEFT_RIGHT)
            pixels = torch.from_numpy(np.asarray(half, dtype=np.float32) / 255).permute(2, 0, 1)
            out[key] = (pixels - 0.5) / 0.5  # torchvision's ToTensor + Normalize(0.5, 0.5)
        return out


def train_from_files_images_per_second(
    folder: Path, batch: int, steps: int, precision: str, ngf: int, studio: bool
) -> tuple[float, float]:
    """(images/s over `steps` steps after two warm-up steps, seconds spent before the first step)."""
    start = time.perf_counter()
    task = make_task(precision, ngf, studio)
    if studio:
        dataset = AlignedDataset(folder, load_size=286, crop_size=256, train=True)
        sampler = ResumableSampler(len(dataset), 0, 0, 0, 1)
        loader = DataLoader(dataset, batch_size=batch, sampler=sampler, num_workers=0)
    else:
        loader = DataLoader(OfficialAligned(folder), batch_size=batch, shuffle=True, num_workers=4)
    batches = iter(loader)
    setup = time.perf_counter() - start
    timed = None
    for i in range(steps + 2):
        if i == 2:
            timed = time.perf_counter()
        try:
            data = next(batches)
        except StopIteration:
            batches = iter(loader)
            data = next(batches)
        task.train_step(data)
    return batch * steps / (time.perf_counter() - timed), setup


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


def measure_side(side: str, args: argparse.Namespace, files: Path) -> dict:
    """One side's figures, in this process: the reference (fp32, eager, NCHW, glibc's allocator,
    the library's convolutions) or the studio's configuration."""
    precision, why = "fp32", "the official configuration"
    if side == "studio":  # the allocator change cannot be undone inside a process: a process each
        keep_large_buffers_mapped()
        precision, why = choose_precision(args.precision, torch.device("cpu"))
    else:
        small_maps.SMALL_MAP = 0
    studio = side == "studio"
    return {
        "precision": f"{precision} ({why})",
        "b1": train_images_per_second(1, args.steps, precision, args.ngf, studio),
        "b4": train_images_per_second(4, args.steps, precision, args.ngf, studio),
        "files": train_from_files_images_per_second(files, 4, args.steps, precision, args.ngf, studio),
        "latency": latency_ms(args.latency_runs, precision, studio, args.ngf),
    }


def run_side(side: str, files: Path) -> dict:
    argv = [sys.executable, __file__, *sys.argv[1:], "--side", side, "--files", str(files)]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"the {side} side failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def row(name: str, ref: list[float], ours: list[float], digits: int = 2) -> str:
    """Medians over the repeats, and each repeat's own ratio (the two sides ran next to each other)."""
    r, o = statistics.median(ref), statistics.median(ours)
    each = ", ".join(f"{b / a:.2f}" for a, b in zip(ref, ours))
    return f"{name:<34} {r:>10.{digits}f} {o:>10.{digits}f} {o / r:>6.2f}x   ({each})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--latency-runs", type=int, default=30)
    parser.add_argument("--ngf", type=int, default=64)
    parser.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16"), help="the studio's")
    parser.add_argument("--repeat", type=int, default=1, help="reference/studio pairs, alternating order")
    parser.add_argument("--side", choices=("reference", "studio"), help=argparse.SUPPRESS)
    parser.add_argument("--files", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(torch.get_num_threads())
    if args.side:
        print(json.dumps(measure_side(args.side, args, args.files)))
        return
    machine, wall, own = machine_cpu_seconds(), time.perf_counter(), sum(os.times()[:4])
    print(
        f"{cpu_model()}, threads {torch.get_num_threads()}, torch {torch.__version__}, ngf {args.ngf}, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    files = write_pairs(Path(tempfile.mkdtemp(prefix="pix2pix-bench-")), 4 * (args.steps + 2))
    sides: dict[str, list[dict]] = {"reference": [], "studio": []}
    for i in range(args.repeat):  # each pair in turn, so a neighbour's load falls on both
        for side in ("reference", "studio") if i % 2 == 0 else ("studio", "reference"):
            sides[side].append(run_side(side, files))
    ref, ours = sides["reference"], sides["studio"]
    print("studio precision: " + "; ".join(sorted({s["precision"] for s in ours})))
    print(f"\n{'figure':<34} {'reference':>10} {'studio':>10} {'ratio':>7}   (each pair)")
    for b in (1, 4):
        print(row(f"training img/s, batch {b}", [s[f"b{b}"] for s in ref], [s[f"b{b}"] for s in ours]))
    print(
        row(
            "training img/s, batch 4, from files", [s["files"][0] for s in ref], [s["files"][0] for s in ours]
        )
    )
    print(
        row("  setup before step 1, s", [s["files"][1] for s in ref], [s["files"][1] for s in ours], 1)
        + "  cache decode"
    )
    for i, name in enumerate(("p50", "p95")):
        lat = ([s["latency"][i] for s in ref], [s["latency"][i] for s in ours])
        print(row(f"generator latency {name}, ms (b1)", *lat, 1))
    if machine is not None:
        # os.times: this process and its ended children (each side, and the reference's loader workers)
        others = (machine_cpu_seconds() - machine - (sum(os.times()[:4]) - own)) / (
            (time.perf_counter() - wall) * (os.cpu_count() or 1)
        )
        print(
            f"other processes used {max(others, 0):.0%} of the CPU meanwhile; load average {os.getloadavg()[0]:.2f}"
        )


if __name__ == "__main__":
    main()
