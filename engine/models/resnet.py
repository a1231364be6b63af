"""CycleGAN's ResNet generator (Johnson et al. 2016, as the official `ResnetGenerator`).

c7s1-ngf, two stride-2 downsamplings, `n_blocks` residual blocks at 1/4 size, two transposed
convolutions back up, c7s1-3 and tanh; reflection padding keeps borders free of the zero-padding
artefacts CycleGAN is known for. One `nn.Sequential` called `model`, laid out as the official
one, so an official `latest_net_G_A.pth` loads by key without conversion. Any input whose sides
are multiples of 4 works (the U-Net needs exactly its training size).
"""

from __future__ import annotations

import torch
from torch import nn

from engine.models.layers import conv_bias, init_weights, norm_layer


class ResnetBlock(nn.Module):
    """x + [pad, conv3, norm, relu, (dropout), pad, conv3, norm](x)."""

    def __init__(self, channels: int, norm: str, dropout: bool) -> None:
        super().__init__()
        bias = conv_bias(norm)
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, bias=bias),
            norm_layer(norm, channels),
            nn.ReLU(True),
        ]
        if dropout:
            layers.append(nn.Dropout(0.5))
        layers += [
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, bias=bias),
            norm_layer(norm, channels),
        ]
        self.conv_block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


class ResnetGenerator(nn.Module):
    """resnet_9blocks (256 px) or resnet_6blocks (128 px) of the official CycleGAN code; with
    `downsamplings=4` it is pix2pixHD's global generator (the same layout and keys)."""

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 3,
        ngf: int = 64,
        n_blocks: int = 9,
        norm: str = "instance",
        dropout: bool = False,
        downsamplings: int = 2,
    ) -> None:
        super().__init__()
        bias = conv_bias(norm)
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(in_channels, ngf, 7, bias=bias),
            norm_layer(norm, ngf),
            nn.ReLU(True),
        ]
        for i in range(downsamplings):
            width = ngf * 2**i
            layers += [
                nn.Conv2d(width, width * 2, 3, 2, 1, bias=bias),
                norm_layer(norm, width * 2),
                nn.ReLU(True),
            ]
        layers += [ResnetBlock(ngf * 2**downsamplings, norm, dropout) for _ in range(n_blocks)]
        for i in range(downsamplings):
            width = ngf * 2 ** (downsamplings - i)
            layers += [
                nn.ConvTranspose2d(width, width // 2, 3, 2, 1, output_padding=1, bias=bias),
                norm_layer(norm, width // 2),
                nn.ReLU(True),
            ]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, out_channels, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def resnet_settings(state: dict[str, torch.Tensor]) -> dict | None:
    """The ResnetGenerator kwargs an official state dict fits, or None when it is not one."""
    first = state.get("model.1.weight")
    if first is None or first.dim() != 4 or first.shape[-1] != 7:
        return None
    n_blocks = len({k.split(".")[1] for k in state if ".conv_block." in k})
    scalings = [  # the stride-2 convolutions and transposed convolutions around the blocks
        k
        for k, v in state.items()
        if k.count(".") == 2 and k.endswith(".weight") and v.dim() == 4 and v.shape[-1] == 3
    ]
    last = max(int(k.split(".")[1]) for k in state if k.startswith("model.") and k.endswith(".weight"))
    if "model.2.weight" not in state:  # instance norm: no parameters (old files: stale running stats)
        norm = "instance"
    else:
        norm = "batch" if "model.2.running_mean" in state else "instance-affine"
    return {
        "in_channels": first.shape[1],
        "out_channels": state[f"model.{last}.weight"].shape[0],
        "ngf": first.shape[0],
        "n_blocks": n_blocks,
        "norm": norm,
        "dropout": any(k.endswith("conv_block.6.weight") and v.dim() == 4 for k, v in state.items()),
        "downsamplings": len(scalings) // 2,
    }
