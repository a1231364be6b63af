"""Training speed of the latent models: steps/s at 32 px, batch 64, default widths.

Each task's own train_step on a fixed random batch (no data loading, which is tensor
indexing for these datasets anyway), once per precision: fp32 and the trainer's 'auto' (bf16
autocast on CPUs with AVX512-BF16). On an idle 2-core CPU bf16 was 1.2-1.6x faster; while
another process computed it was 3-5x slower than fp32.
Run: `python bench/latent_speed.py [--precisions fp32,auto] [--steps 20]`.
On 2 shared cores the figures halve while anything else computes: run it alone.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch

from engine.runtime.device import pick_device
from engine.runtime.precision import Precision
from engine.tasks import get_task

MODELS = {
    "autoencoder (L2)": ("autoencoder", {}),
    "VAE (BCE + KL)": ("vae", {}),
    "DCGAN vanilla": ("dcgan", {}),
    "DCGAN WGAN-GP": ("dcgan", {"gan_mode": "wgan-gp"}),
    "DCGAN hinge + SN": ("dcgan", {"gan_mode": "hinge"}),
    "DCGAN conditional": ("dcgan", {"conditional": True, "num_classes": 10}),
}


def steps_per_second(
    task_name: str, overrides: dict, precision_mode: str, args: argparse.Namespace
) -> tuple[float, str]:
    device = pick_device(args.device)
    task_type = get_task(task_name)
    config = task_type.Config(**{"channels": 1, "image_size": args.size, **overrides})
    precision = Precision(device, precision_mode)
    task = task_type(config, device, precision)
    gen = torch.Generator().manual_seed(0)
    batch = {
        "image": torch.rand(args.batch, 1, args.size, args.size, generator=gen) * 2 - 1,
        "label": torch.randint(0, 10, (args.batch,), generator=gen),
    }
    for _ in range(args.warmup):
        task.train_step(batch)
    start = time.perf_counter()
    for _ in range(args.steps):
        task.train_step(batch)
    return args.steps / (time.perf_counter() - start), precision.mode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--size", type=int, default=32, choices=(32, 64))
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--precisions", default="fp32,auto", help="comma-separated")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    print(f"{args.size} px, batch {args.batch}, {torch.get_num_threads()} threads, torch {torch.__version__}")
    print(f"{'model':<20} {'precision':>9} {'steps/s':>8} {'images/s':>9}")
    for label, (task_name, overrides) in MODELS.items():
        for precision in args.precisions.split(","):
            rate, mode = steps_per_second(task_name, overrides, precision, args)
            print(f"{label:<20} {mode:>9} {rate:>8.2f} {rate * args.batch:>9.0f}", flush=True)


if __name__ == "__main__":
    main()
