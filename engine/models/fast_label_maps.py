"""pix2pixHD's and SPADE's generators rewritten for CPU inference, as `fast_inference` rewrites
the U-Net: the same photo (within bf16's rounding) in less time per call.

Under bf16 autocast the plain networks ran with the U-Net's costs: every conv's weight cast and
reordered on every call, instance norm in fp32 out of channels_last (a copy each way), and
pix2pixHD's reflection padding in fp32 between bf16 convs. The fast copy computes everything in
bf16 on channels_last with fast_inference's prepacked convs and norms; each SPADE modulates in
one addcmul (which also keeps its rounding to autocast's). Fusing each SPADE's gamma and beta
convs into one conv measured no faster, so they stay two.

Most of SPADE's arithmetic at full size is in those gamma and beta convs, and they read the
label map alone. A person paints a scene a stroke at a time, so the SPADE copy keeps every
layer's gamma and beta of the last map (batch 1) and recomputes them only around the box where
the next map differs; the result is the same to the bit as computing them all.
Measured on the bundled facade models (2-core EPYC, shared, best of a dozen): pix2pixHD about
114 -> 84 ms, SPADE 250 -> 170 ms, and 120 ms (median 235 -> 147) for strokes of up to 60 px.
`python bench/scene_latency.py` times the three scene models; tests/test_fast_label_maps.py
holds the outputs to the plain networks'.
"""

from __future__ import annotations

import copy
import threading

import torch
import torch.nn.functional as F
from torch import nn

from engine.models.fast_inference import DTYPES, fast_unet
from engine.models.pix2pixhd import LocalEnhancer
from engine.models.resnet import ResnetGenerator
from engine.models.spade import SPADE, SPADEGenerator

Box = tuple[int, int, int, int]  # rows y0:y1, columns x0:x1 of the full-size map
EVERYWHERE = (0, 2**31, 0, 2**31)


class FusedSPADE(nn.Module):
    """SPADE whose modulation is one addcmul (norm(x) * (1 + gamma) + beta in two passes over
    the activations, not three) and which keeps its gamma and beta of the last map: they
    depend on the map alone, so for the next one only the rows and columns near `changed` (the
    box where the map changed, set by IncrementalSPADE before each call) are computed again."""

    def __init__(self, spade: SPADE) -> None:
        super().__init__()
        self.param_free_norm = spade.param_free_norm
        self.mlp_shared, self.mlp_gamma, self.mlp_beta = spade.mlp_shared, spade.mlp_gamma, spade.mlp_beta
        self.changed: Box | None = EVERYWHERE  # None: the same map as the last call's
        self.kept: tuple[torch.Tensor, torch.Tensor] | None = None

    def forward(self, x: torch.Tensor, segmap: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.modulation(segmap, x.shape[-2:])
        normalised = self.param_free_norm(x)
        return torch.addcmul(normalised + beta, normalised, gamma)

    def modulation(self, segmap: torch.Tensor, size: torch.Size) -> tuple[torch.Tensor, torch.Tensor]:
        kept, changed = self.kept, self.changed
        if kept is None or changed == EVERYWHERE or kept[0].shape[-2:] != size or len(segmap) != len(kept[0]):
            shared = self.mlp_shared(F.interpolate(segmap, size=size, mode="nearest"))
            self.kept = kept = (self.mlp_gamma(shared), self.mlp_beta(shared))
            return kept
        if changed is not None:
            self.update(segmap, size, changed)
        return kept

    def update(self, segmap: torch.Tensor, size: torch.Size, changed: Box) -> None:
        """Recompute the kept gamma and beta where `changed` reaches them: the rows and columns
        of this size whose nearest map pixel is in the box, 2 more (two 3x3 convs) each way."""
        (h, w), (full_h, full_w) = size, segmap.shape[-2:]
        y0, y1 = max(0, changed[0] * h // full_h - 2), min(h, -(-changed[1] * h // full_h) + 3)
        x0, x1 = max(0, changed[2] * w // full_w - 2), min(w, -(-changed[3] * w // full_w) + 3)
        # the map around them (2 more each way; zeros past the edges, as the convs pad)
        top, left, bottom, right = max(0, 2 - y0), max(0, 2 - x0), max(0, y1 + 2 - h), max(0, x1 + 2 - w)
        around = F.interpolate(segmap, size=size, mode="nearest")[
            ..., y0 - 2 + top : y1 + 2 - bottom, x0 - 2 + left : x1 + 2 - right
        ]
        shared = self.mlp_shared(F.pad(around, (left, right, top, bottom)))
        shared[..., :top, :] = 0  # past the map's edges the gamma and beta convs see zero padding
        shared[..., shared.shape[-2] - bottom :, :] = 0
        shared[..., :left] = 0
        shared[..., shared.shape[-1] - right :] = 0
        for kept, conv in zip(self.kept, (self.mlp_gamma, self.mlp_beta)):
            kept[..., y0:y1, x0:x1] = conv(shared)[..., 2:-2, 2:-2]


class IncrementalSPADE(nn.Module):
    """A SPADE generator (with FusedSPADE layers) that tells its layers where the map changed
    since its last call (batch 1), so that a stroke recomputes only its own region's gamma and
    beta (most of SPADE's arithmetic at full size). One call at a time: the layers keep state."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net
        self.layers = [m for m in net.modules() if isinstance(m, FusedSPADE)]
        self.last: torch.Tensor | None = None
        self.lock = threading.Lock()

    def changed(self, segmap: torch.Tensor) -> Box | None:
        last = self.last
        if last is None or last.shape != segmap.shape or len(segmap) != 1:
            return EVERYWHERE
        rows, columns = (segmap != last).any(1)[0].any(1), (segmap != last).any(1)[0].any(0)
        if not rows.any():
            return None
        y, x = rows.nonzero()[:, 0], columns.nonzero()[:, 0]
        return int(y[0]), int(y[-1]) + 1, int(x[0]), int(x[-1]) + 1

    def forward(self, segmap: torch.Tensor, *codes: torch.Tensor) -> torch.Tensor:
        with self.lock:
            changed = self.changed(segmap)
            for layer in self.layers:
                layer.changed = changed
            self.last = None  # a call that fails half way leaves no layer trusted
            photo = self.net(segmap, *codes)
            self.last = segmap.clone() if len(segmap) == 1 else None
            return photo


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
        if isinstance(net, SPADEGenerator):
            fast = IncrementalSPADE(fast)
        with torch.inference_mode():
            fast(example.to(dtype), *[code.to(dtype) for code in codes])
    except RuntimeError:  # e.g. no bf16 convolutions in this CPU's oneDNN
        return None
    return fast
