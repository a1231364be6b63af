"""CycleGAN training speed on this machine: images/s against a plain reference of the same
networks (two ResNet generators, two 70x70 PatchGANs, LSGAN, pools of 50, batch 1).

Reference: fp32, eager, NCHW, glibc's default allocator. Studio: allocator thresholds raised,
`auto` precision (bf16 only where a calibration measured it faster here), channels_last, as the
trainer runs. Both are measured in this process, reference first (the allocator change cannot be
undone); the ratio is studio/reference. Run nothing else meanwhile.

    python bench/cyclegan_speed.py [--size 256 --ngf 64 --blocks 9] [--steps 6]
"""

from __future__ import annotations

import argparse
import time

import torch

from engine.runtime.allocator import keep_large_buffers_mapped
from engine.runtime.device import cpu_model
from engine.runtime.precision import Precision, resolve_precision
from engine.tasks.cyclegan import CycleGAN, CycleGANConfig


def images_per_second(config: CycleGANConfig, steps: int, precision: str, channels_last: bool) -> float:
    torch.manual_seed(0)
    device = torch.device("cpu")
    task = CycleGAN(config, device, Precision(device, precision))
    if channels_last:
        for net in task.nets.values():
            net.to(memory_format=torch.channels_last)
    size = config.crop_size
    batch = {"A": torch.rand(1, 3, size, size) * 2 - 1, "B": torch.rand(1, 3, size, size) * 2 - 1}
    for _ in range(2):
        task.train_step(batch)
    start = time.perf_counter()
    for _ in range(steps):
        task.train_step(batch)
    return steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--ngf", type=int, default=64)
    parser.add_argument("--blocks", type=int, default=9)
    parser.add_argument("--steps", type=int, default=6)
    args = parser.parse_args()
    config = CycleGANConfig(crop_size=args.size, load_size=args.size, ngf=args.ngf, n_blocks=args.blocks)
    precision = resolve_precision("auto", torch.device("cpu"))
    print(
        f"{cpu_model()}, threads {torch.get_num_threads()}, torch {torch.__version__}, studio precision {precision}"
    )
    print(f"CycleGAN {args.size} px, ngf {args.ngf}, {args.blocks} blocks, batch 1")
    reference = images_per_second(config, args.steps, "fp32", False)
    keep_large_buffers_mapped()
    studio = images_per_second(config, args.steps, precision, True)
    print(
        f"{'training img/s':<20} reference {reference:.2f}  studio {studio:.2f}  ratio {studio / reference:.2f}x"
    )


if __name__ == "__main__":
    main()
