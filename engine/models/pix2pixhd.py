"""pix2pixHD's generators (Wang et al. 2018). The global generator is `ResnetGenerator` with
four downsamplings; the local enhancer doubles its resolution: a shallow front end on the
full-size input is added to the global generator's last features (computed on the input at
half size), then residual blocks and an upsampling finish at full size. Train the global one
first, then the enhancer from it (`--init-from`), as the paper does."""

from __future__ import annotations

import torch
from torch import nn

from engine.models.layers import conv_bias, init_weights, norm_layer
from engine.models.resnet import ResnetBlock, ResnetGenerator


class LocalEnhancer(nn.Module):
    """G2 around a global generator G1 of twice its width; keys model_global / model_downsample
    / model_upsample as in the official code."""

    def __init__(
        self,
        global_generator: ResnetGenerator,
        in_channels: int,
        ngf: int,
        n_blocks: int = 3,
        norm: str = "instance",
    ) -> None:
        super().__init__()
        head = list(global_generator.model)
        if not isinstance(head[-1], nn.Tanh):
            raise ValueError("the global generator must end in its output layer (pad, conv, tanh)")
        if head[-2].in_channels != 2 * ngf:
            raise ValueError(
                f"the global generator must be twice as wide ({2 * ngf}), not {head[-2].in_channels}"
            )
        self.model_global = nn.Sequential(*head[:-3])  # everything but the output layer
        bias = conv_bias(norm)
        self.model_downsample = init_weights(
            nn.Sequential(
                nn.ReflectionPad2d(3),
                nn.Conv2d(in_channels, ngf, 7, bias=bias),
                norm_layer(norm, ngf),
                nn.ReLU(True),
                nn.Conv2d(ngf, ngf * 2, 3, 2, 1, bias=bias),
                norm_layer(norm, ngf * 2),
                nn.ReLU(True),
            )
        )
        self.model_upsample = init_weights(
            nn.Sequential(
                *[ResnetBlock(ngf * 2, norm, False) for _ in range(n_blocks)],
                nn.ConvTranspose2d(ngf * 2, ngf, 3, 2, 1, output_padding=1, bias=bias),
                norm_layer(norm, ngf),
                nn.ReLU(True),
                nn.ReflectionPad2d(3),
                nn.Conv2d(ngf, 3, 7),
                nn.Tanh(),
            )
        )
        self.downsample = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        coarse = self.model_global(self.downsample(x))
        return self.model_upsample(self.model_downsample(x) + coarse)
