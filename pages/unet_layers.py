"""The U-Net's layer table (name, tensor shapes, parameters) for the Learn page: teaching
material, so it lives beside the page (a helper module, not a page: app.py lists the pages).

Built by running the real `UNetGenerator` on the meta device with forward hooks: the numbers
are the network's own, at no memory cost even for ngf=64 at 1024 pixels.
"""

from __future__ import annotations

import torch
from torch import nn

from engine.errors import UserError
from engine.models.unet import UNetGenerator, depth_for_size


def describe_block(block: nn.Module) -> str:
    """'LeakyReLU, conv 4x4/2, BatchNorm': what a block does, in order."""
    parts = []
    for m in block.children():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            kind = "deconv" if isinstance(m, nn.ConvTranspose2d) else "conv"
            parts.append(f"{kind} {m.kernel_size[0]}x{m.kernel_size[1]}/{m.stride[0]}")
        elif not isinstance(m, nn.Identity):
            parts.append(type(m).__name__.removesuffix("2d"))
    return ", ".join(parts)


def unet_layer_table(
    size: int = 256,
    ngf: int = 64,
    depth: int | None = None,
    in_channels: int = 3,
    out_channels: int = 3,
    norm: str = "batch",
    dropout: bool = True,
) -> list[dict]:
    """One row per encoder, decoder and output block of the pix2pix U-Net.

    Keys: name ('down1 C64', 'up1 CD512', 'out C3'), input and output as (C, H, W) for one
    image, params, skip (the encoder output concatenated to this block's input, if any) and
    layers (what the block does). Shapes are per block: a decoder's output is concatenated
    with its skip before the next block.
    """
    depth = depth_for_size(size) if depth is None else depth
    if size % 2**depth:
        raise UserError(f"input size {size} must be a multiple of 2**depth = {2**depth}")
    with torch.device("meta"):
        net = UNetGenerator(in_channels, out_channels, ngf, depth, norm, dropout)
    blocks = [*net.encoders, *net.decoders, net.final]
    shapes: dict[int, tuple[tuple[int, ...], tuple[int, ...]]] = {}

    def record(index: int):
        def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            shapes[index] = (tuple(inputs[0].shape[1:]), tuple(output.shape[1:]))

        return hook

    handles = [b.register_forward_hook(record(i)) for i, b in enumerate(blocks)]
    try:
        net(torch.zeros(1, in_channels, size, size, device="meta"))
    finally:
        for handle in handles:
            handle.remove()

    rows = []
    for i, block in enumerate(blocks):
        has_dropout = any(isinstance(m, nn.Dropout) for m in block.modules())
        code = ("CD" if has_dropout else "C") + str(shapes[i][1][0])
        if i < depth:
            name, skip = f"down{i + 1} {code}", None
        elif i < 2 * depth - 1:
            k = i - depth + 1  # decoder number
            name, skip = f"up{k} {code}", (f"down{depth - k + 1}" if k > 1 else None)
        else:
            name, skip = f"out {code}", "down1"
        rows.append(
            {
                "name": name,
                "input": shapes[i][0],
                "output": shapes[i][1],
                "params": sum(p.numel() for p in block.parameters()),
                "skip": skip,
                "layers": describe_block(block),
            }
        )
    return rows
