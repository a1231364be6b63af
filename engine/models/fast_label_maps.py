"""pix2pixHD's and SPADE's generators rewritten for CPU inference, as `fast_inference` rewrites
the U-Net: the same photo (within bf16's rounding) in less time per call.

Under bf16 autocast the plain networks ran with the U-Net's costs: every conv's weight cast and
reordered on every call, instance norm in fp32 out of channels_last (a copy each way), and
pix2pixHD's reflection padding in fp32 between bf16 convs. The fast copy computes everything in
bf16 on channels_last with fast_inference's prepacked convs and norms; each SPADE modulates in
one addcmul (which also keeps its rounding to autocast's). Measured on the bundled facade
models (2-core EPYC, shared): pix2pixHD about 114 -> 84 ms, SPADE 250 -> 170 ms at best.
Fusing each SPADE's gamma and beta convs into one conv measured no faster, so they stay two.
`python bench/scene_latency.py` times the three scene models; tests/test_fast_label_maps.py
holds the outputs to the plain networks'.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from engine.models.fast_inference import DTYPES, fast_unet
from engine.models.pix2pixhd import LocalEnhancer
from engine.models.resnet import ResnetGenerator
from engine.models.spade import SPADE, SPADEGenerator


class FusedSPADE(nn.Module):
    """SPADE whose modulation is one addcmul (norm(x) * (1 + gamma) + beta in two passes over
    the activations, not three)."""

    def __init__(self, spade: SPADE) -> None:
        super().__init__()
        self.param_free_norm = spade.param_free_norm
        self.mlp_shared, self.mlp_gamma, self.mlp_beta = spade.mlp_shared, spade.mlp_gamma, spade.mlp_beta

    def forward(self, x: torch.Tensor, segmap: torch.Tensor) -> torch.Tensor:
        shared = self.mlp_shared(nn.functional.interpolate(segmap, size=x.shape[-2:], mode="nearest"))
        normalised = self.param_free_norm(x)
        return torch.addcmul(normalised + self.mlp_beta(shared), normalised, self.mlp_gamma(shared))


def fuse_spades(net: nn.Module) -> nn.Module:
    """A copy of `net` whose SPADE layers are FusedSPADE."""
    net = copy.deepcopy(net)
    for module in list(net.modules()):
        for name, child in module.named_children():
            if isinstance(child, SPADE):
                setattr(module, name, FusedSPADE(child))
    return net


def fast_label_map_generator(
    net: nn.Module, device: torch.device, dtype: torch.dtype, size: int, classes: int, z_dim: int = 0
) -> nn.Module | None:
    """The fast copy of a pix2pixHD (global or local) or SPADE generator served on the CPU in
    fp32 or bf16 (`dtype`), laid out for one `size`-pixel map of `classes` one-hot channels (and
    a `z_dim` style code), after one call (oneDNN builds its kernels then, not on a person's
    first stroke). It takes the map (and code) in `dtype`, channels_last. None where it does not
    apply (another network, a GPU, fp16, a CPU where oneDNN refuses the dtype)."""
    if not isinstance(net, ResnetGenerator | LocalEnhancer | SPADEGenerator):
        return None
    if device.type != "cpu" or dtype not in DTYPES:
        return None
    example = torch.zeros(1, classes, size, size).contiguous(memory_format=torch.channels_last)
    example[:, 0] = 1
    codes = [torch.zeros(1, z_dim)] if z_dim and isinstance(net, SPADEGenerator) and net.z_dim else []
    try:
        fast = fast_unet(fuse_spades(net.eval()), dtype, example, *codes)
        with torch.inference_mode():
            fast(example.to(dtype), *[code.to(dtype) for code in codes])
    except RuntimeError:  # e.g. no bf16 convolutions in this CPU's oneDNN
        return None
    return fast
