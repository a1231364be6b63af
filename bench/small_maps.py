"""Where the U-Net's convolutions should run as matrix products: forward + backward time of
each stride-2 4x4 conv and transposed conv of a 256 px unet_256 (batch 4), on oneDNN and on
the matmul path of engine/models/small_maps.py, in fp32 and bf16 autocast, per input side.
SMALL_MAP is the largest side where the matmul path wins.

    python bench/small_maps.py [--repeats 8]
Run nothing else meanwhile.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from engine.models import small_maps
from engine.models.small_maps import SmallMapConv2d, SmallMapConvTranspose2d
from engine.runtime.allocator import keep_large_buffers_mapped
from engine.runtime.device import cpu_model

# (kind, in channels, out channels, input side) as in unet_256 at ngf 64
LAYERS = [
    ("conv", 512, 512, 16),
    ("conv", 512, 512, 8),
    ("conv", 512, 512, 4),
    ("conv", 512, 512, 2),
    ("deconv", 512, 512, 1),
    ("deconv", 1024, 512, 2),
    ("deconv", 1024, 512, 4),
    ("deconv", 1024, 512, 8),
    ("deconv", 1024, 256, 16),
    ("deconv", 512, 128, 32),
]


def median_ms(layer: nn.Module, side: int, channels: int, bf16: bool, matmul: bool, repeats: int) -> float:
    """Median forward + backward time (input and weight gradients) of one layer."""
    small_maps.SMALL_MAP = 64 if matmul else 0
    x = torch.randn(4, channels, side, side).contiguous(memory_format=torch.channels_last)
    x.requires_grad_()
    times = []
    for i in range(repeats + 2):
        start = time.perf_counter()
        with torch.autocast("cpu", torch.bfloat16, enabled=bf16):
            out = layer(x)
        out.float().sum().backward()
        if i >= 2:
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=8)
    args = parser.parse_args()
    keep_large_buffers_mapped()
    print(f"{cpu_model()}, threads {torch.get_num_threads()}, torch {torch.__version__}, batch 4")
    print(f"\n{'layer':<24} {'precision':<9} {'oneDNN ms':>10} {'matmul ms':>10} {'ratio':>7}")
    for kind, c_in, c_out, side in LAYERS:
        Layer = SmallMapConv2d if kind == "conv" else SmallMapConvTranspose2d
        torch.manual_seed(0)
        # oneDNN gets the channels_last weight the studio trains with; the matmul path its plain one
        library = nn.Conv2d if kind == "conv" else nn.ConvTranspose2d
        plain = library(c_in, c_out, 4, 2, 1, bias=False).to(memory_format=torch.channels_last)
        small = Layer(c_in, c_out, 4, 2, 1, bias=False).to(memory_format=torch.channels_last)
        for precision in ("fp32", "bf16"):
            bf16 = precision == "bf16"
            ours = median_ms(small, side, c_in, bf16, True, args.repeats)
            theirs = median_ms(plain, side, c_in, bf16, False, args.repeats)
            name = f"{kind} {c_in}->{c_out} @{side}"
            print(f"{name:<24} {precision:<9} {theirs:>10.1f} {ours:>10.1f} {theirs / ours:>6.2f}x")


if __name__ == "__main__":
    main()
