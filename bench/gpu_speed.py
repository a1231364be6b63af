"""Issue 24, target 8: pix2pix on a lent GPU, as one short prepared script.

Prints, with the device's name and the command line:
- training images/s of the official pix2pix network (unet_256, ngf 64, + the 70x70 PatchGAN,
  256 px) through the studio's own task (engine.tasks.pix2pix.Pix2Pix.train_step, as the
  trainer runs it: channels_last, fused Adam), at batch 1, 16 and 64, in bf16 autocast and in
  fp32 (the plain reference, same run); with --compile also bf16 under `torch.compile`
  (reported only if it compiles; compile time printed apart). Goal: >= 1500 img/s on one
  H100-class GPU;
- the live generator's latency: the bundled `default` alone, batch 1 at 256 px (p50/p95), and the
  whole sketch pipeline (preparation on the CPU, the model, the colour pull);
- data-parallel training (DDP, one process per GPU, NCCL) on every GPU the machine has, when it
  has more than one.

    python bench/gpu_speed.py [--batches 1,16,64] [--steps 30] [--compile]
    python bench/gpu_speed.py --dry-run   # the same code on the CPU at toy sizes (tests it runs)

The GPU is never required: without one the script says so and stops (exit 0), unless --dry-run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import torch

from engine.runtime.precision import Precision
from engine.tasks.pix2pix import Pix2Pix, Pix2PixConfig


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def make_task(device: torch.device, precision: str, ngf: int, compiled: bool = False) -> Pix2Pix:
    """The studio's pix2pix task as the trainer runs it (channels_last networks)."""
    torch.manual_seed(0)
    task = Pix2Pix(Pix2PixConfig(ngf=ngf), device, Precision(device, precision))
    for net in task.nets.values():
        net.to(memory_format=torch.channels_last)
        if compiled:
            net.compile()
    return task


def train_rate(
    task: Pix2Pix, batch: int, size: int, steps: int, device: torch.device, warmup: int = 3
) -> float:
    """Images/s of `steps` training steps on one fixed batch in device memory, after warm-ups."""
    data = {k: torch.rand(batch, 3, size, size, device=device) * 2 - 1 for k in ("A", "B")}
    for _ in range(warmup):
        task.train_step(data)
    sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        task.train_step(data)
    sync(device)
    return batch * steps / (time.perf_counter() - start)


def training_rows(args, device: torch.device) -> list[str]:
    rows = []
    ways = [("fp32 (reference)", "fp32", False), ("bf16", "bf16", False)]
    ways += [("bf16, torch.compile", "bf16", True)] if args.compile else []
    for name, precision, compiled in ways:
        for batch in args.batches:
            try:
                start = time.perf_counter()
                task = make_task(device, precision, args.ngf, compiled)
                rate = train_rate(task, batch, args.size, args.steps, device, args.warmup)
                setup = time.perf_counter() - start - batch * args.steps / rate
                extra = f"  (build, compile and warm-up {setup:.1f} s)" if compiled else ""
                rows.append(f"train {name:<22} batch {batch:>3}: {rate:9.1f} img/s{extra}")
            except Exception as err:  # noqa: BLE001 (out of memory, a compiler missing): say it, go on
                rows.append(f"train {name:<22} batch {batch:>3}: failed: {str(err).splitlines()[0][:120]}")
            finally:
                if device.type == "cuda":
                    torch.cuda.empty_cache()
    return rows


def latency_rows(args, device: torch.device) -> list[str]:
    """The bundled default on the device: the model alone and the whole sketch pipeline."""
    from PIL import Image, ImageDraw

    from engine.pipelines.sketch import SketchPipeline

    pipeline = SketchPipeline.load("default", device=device.type)
    x = (torch.rand(1, 3, 256, 256, device=device) * 2 - 1).contiguous(memory_format=torch.channels_last)
    hints = torch.zeros(1, 4, 256, 256, device=device) if pipeline.takes_hints else None  # no dab
    drawing = Image.new("RGBA", (256, 256), (0, 0, 0, 0))
    ImageDraw.Draw(drawing).line(
        [(30, 200), (30, 110), (90, 90), (220, 160), (235, 200), (30, 200)], (0, 0, 0, 255), 3
    )

    def model() -> None:
        pipeline.predictor.translate_tensor(x, hints)
        sync(device)

    rows = []
    for name, call in (("the model alone", model), ("the sketch pipeline", lambda: pipeline(drawing))):
        times = []
        for i in range(args.latency_runs + 5):
            start = time.perf_counter()
            call()
            if i >= 5:
                times.append((time.perf_counter() - start) * 1000)
        times.sort()
        p95 = times[int(0.95 * (len(times) - 1))]
        rows.append(
            f"latency `default`, {name:<20} p50 {statistics.median(times):7.2f} ms  p95 {p95:7.2f} ms"
        )
    return rows


def ddp_worker(rank: int, world: int, args, port: int, out) -> None:
    """One rank of the data-parallel row: the studio's task wrapped by the trainer's DDP wrapper."""
    from engine.training.distributed import ddp_wrapper, setup_distributed, training_device

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank))
    os.environ.update(WORLD_SIZE=str(world), LOCAL_RANK=str(rank))
    setup_distributed()
    device = training_device("cpu" if args.dry_run else "cuda", rank)
    task = make_task(device, "bf16" if device.type == "cuda" else "fp32", args.ngf)
    task.distribute(ddp_wrapper(device, world))
    rate = train_rate(task, args.batches[-1], args.size, args.steps, device, args.warmup)
    out.put((rank, rate))
    torch.distributed.destroy_process_group()


def ddp_row(args, world: int) -> str:
    import torch.multiprocessing as mp

    queue = mp.get_context("spawn").SimpleQueue()
    port = 29500 + os.getpid() % 1000
    mp.spawn(ddp_worker, args=(world, args, port, queue), nprocs=world, join=True)
    rates = dict(queue.get() for _ in range(world))
    return f"train DDP on {world} devices, batch {args.batches[-1]} per device: {sum(rates.values()):9.1f} img/s in all"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", default="1,16,64", type=lambda s: [int(b) for b in s.split(",")])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--latency-runs", type=int, default=50)
    parser.add_argument("--compile", action="store_true", help="also time bf16 under torch.compile")
    parser.add_argument("--dry-run", action="store_true", help="the CPU at toy sizes: checks the script runs")
    args = parser.parse_args()
    args.ngf, args.size, args.warmup = (4, 256, 1) if args.dry_run else (64, 256, 3)
    if args.dry_run:
        args.batches, args.steps, args.latency_runs = [1, 2], 1, 3
        device, world = torch.device("cpu"), 2
    elif not torch.cuda.is_available():
        print("no GPU here: this bench measures issue 24's GPU figures when a GPU machine is lent")
        return
    else:
        device, world = torch.device("cuda"), torch.cuda.device_count()
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU (dry run, toy sizes)"
    print(f"{name}; torch {torch.__version__}; python {' '.join(sys.argv)}", flush=True)
    for row in training_rows(args, device) + latency_rows(args, device):
        print(row, flush=True)
    if world > 1:
        print(ddp_row(args, world), flush=True)
    print("goal: >= 1500 img/s of unet_256 training on one H100-class GPU")


if __name__ == "__main__":
    main()
