"""Deep image prior: fit a random network to one corrupted picture and stop before it fits the
corruption (Ulyanov, Vedaldi, Lempitsky 2018).

The network's structure favours natural images, so it draws the picture long before it
draws the noise; early stopping denoises, and since holes and fine detail are never in the
loss, the same structure fills them. As in the paper, the noise code is jittered a little at
every step and the output is an exponential average of the drawings, which smooths the last
bits of noise. Steps stream out for live UIs; with a clean reference each carries the PSNR.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch

from engine.errors import UserError
from engine.flags import check_choices, knob
from engine.metrics import psnr
from engine.models.prior_net import PriorNet
from engine.prior.corruption import Corruption
from engine.runtime.allocator import keep_large_buffers_mapped
from engine.runtime.device import pick_device
from engine.runtime.precision import Precision
from engine.style.gatys import is_cancelled


@dataclass
class PriorConfig:
    """The paper's settings (Adam 0.01, a jittered code, averaging 0.99) scaled for a CPU: a
    quarter of its width, and a third of its jitter. On 256 px photos with sigma 25 the paper's
    jitter of 1/30 climbed too slowly for a CPU budget, and no jitter peaked earlier and then
    fell faster (README.md: Deep image prior). Denoising now uses that earlier peak (issue 24):
    no jitter and a shorter average (0.95) reach on astronaut at step 250 what the old settings
    reached at 400 (+3.9 dB), and chelsea peaks at 225 (+5.6 dB); -1 means the corruption's
    own value (CORRUPTION_DEFAULTS). bf16 autocast where the calibration found it faster: 1.37x
    less CPU a step on the EPYC, the same PSNR curve."""

    steps: int = knob(
        0, "optimiser steps; 0: the corruption's default (denoise 400, inpaint 600, upscale 500)"
    )
    channels: int = knob(32, "channels per level (the paper: 128, 16 times the compute)")
    levels: int = knob(5, "encoder-decoder levels")
    skip_channels: int = knob(4, "channels of each skip connection (0: a plain encoder-decoder)")
    code_channels: int = knob(32, "channels of the fixed noise code")
    lr: float = knob(0.01, "Adam learning rate")
    jitter: float = knob(
        -1.0, "std of the noise added to the code at every step (the paper: 1/30); -1: denoise 0, others 0.01"
    )
    average: float = knob(
        -1.0, "exponential averaging of the outputs (0: none); -1: denoise 0.95, others 0.99"
    )
    keep: str = knob(
        "average",
        "what to return: the averaged, the last or (with a reference) the best",
        ("average", "last", "best"),
    )
    log_every: int = knob(10, "measure PSNR against the reference every this many steps")
    preview_every: int = 25  # attach the current pictures every this many steps (0: only the last)
    precision: str = knob("auto", "autocast of the network's passes", ("auto", "fp32", "bf16", "fp16"))
    device: str = knob("auto", "auto, cpu, cuda, mps")
    seed: int = knob(0, "seed of the network and its code")

    def __post_init__(self) -> None:
        check_choices(self)
        if (
            min(self.channels, self.levels, self.code_channels) < 1
            or self.steps < 0
            or self.skip_channels < 0
        ):
            raise UserError("channels, levels and code channels must be at least 1; steps not negative")


# where the averaged output peaked on scikit-image's astronaut, chelsea and coffee at 256 px
DEFAULT_STEPS = {"denoise": 280, "inpaint": 600, "upscale": 500}
# (jitter, average) for -1; inpaint and upscale keep the values their step counts were found with
CORRUPTION_DEFAULTS = {"denoise": (0.0, 0.95), "inpaint": (0.01, 0.99), "upscale": (0.01, 0.99)}


@dataclass
class PriorProgress:
    """One step: the loss, PSNRs when a reference was given, and sometimes the pictures."""

    step: int
    total_steps: int
    loss: float
    psnr: float = math.nan  # of this step's drawing
    psnr_average: float = math.nan  # of the exponential average
    drawing: torch.Tensor | None = None  # (1, 3, H, W) in [0, 1]
    result: torch.Tensor | None = None  # what `keep` returns so far
    done: bool = False
    cancelled: bool = False


def psnr_db(x: torch.Tensor, reference: torch.Tensor) -> float:
    """PSNR in dB of one (1, 3, H, W) picture in [0, 1] (engine.metrics works on [-1, 1])."""
    return psnr(x * 2 - 1, reference * 2 - 1).item()


def padded_size(size: tuple[int, int], levels: int) -> tuple[int, int]:
    """Sides rounded up to a multiple of 2**levels, so every level halves evenly."""
    unit = 2**levels
    return tuple(math.ceil(side / unit) * unit for side in size)


def prior_steps(
    corruption: Corruption,
    config: PriorConfig | None = None,
    reference: torch.Tensor | None = None,
    cancel: threading.Event | Callable[[], bool] | None = None,
) -> Iterator[PriorProgress]:
    """Fit and yield after every step; the last item is `done` and carries the result.

    `reference` (1, 3, H, W) in [0, 1], the clean picture, turns on PSNR logging every
    `log_every` steps and makes keep="best" possible. `cancel` stops early (last item
    `cancelled`, still with the result so far).
    """
    cfg = config or PriorConfig()
    total = cfg.steps or DEFAULT_STEPS[corruption.kind]
    jitter, averaging = (
        given if given >= 0 else default
        for given, default in zip((cfg.jitter, cfg.average), CORRUPTION_DEFAULTS[corruption.kind])
    )
    if cfg.keep == "best" and reference is None:
        raise UserError("keep='best' needs a clean reference to measure against")
    height, width = corruption.output_size
    if reference is not None:
        if reference.shape[-2] < height or reference.shape[-1] < width:
            raise UserError(f"the reference must be at least {width}x{height} px")
        reference = reference[..., :height, :width]
    device = pick_device(cfg.device)
    amp = Precision(device, cfg.precision)
    keep_large_buffers_mapped()
    torch.manual_seed(cfg.seed)
    net = PriorNet(cfg.code_channels, cfg.channels, cfg.skip_channels, cfg.levels).to(device)
    net = net.to(memory_format=torch.channels_last)
    padded = padded_size((height, width), cfg.levels)
    code = 0.1 * torch.rand(1, cfg.code_channels, *padded, generator=torch.Generator().manual_seed(cfg.seed))
    code = code.to(device).contiguous(memory_format=torch.channels_last)
    corruption = Corruption(
        corruption.kind,
        corruption.observed.to(device),
        None if corruption.known is None else corruption.known.to(device),
        corruption.scale,
    )
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    drawing = average = best = None
    best_psnr = -math.inf
    item = PriorProgress(0, total, math.nan)
    for step in range(1, total + 1):
        if is_cancelled(cancel):
            item.done = item.cancelled = True
            item.result = pick(cfg.keep, drawing, average, best)
            yield item
            return
        jittered = code + jitter * channels_last_noise(code) if jitter else code
        with amp.autocast():
            drawing = net(jittered)[..., :height, :width].float()
        loss = corruption.loss(drawing)
        amp.step(loss, opt)
        drawing = corruption.finish(drawing.detach())
        if average is None or not averaging:
            average = drawing.clone()
        else:
            decay = min(averaging, (1 + step) / (10 + step))  # short memory early: forget the grey start
            average.mul_(decay).add_(drawing, alpha=1 - decay)
        item = PriorProgress(step, total, loss.item())
        if reference is not None and (step % cfg.log_every == 0 or step == total):
            item.psnr = psnr_db(drawing, reference)
            item.psnr_average = psnr_db(average, reference)
            if cfg.keep == "best":
                candidate, score = max((drawing, item.psnr), (average, item.psnr_average), key=lambda c: c[1])
                if score > best_psnr:
                    best_psnr, best = score, candidate.clone()
        item.done = step == total
        if item.done or (cfg.preview_every and step % cfg.preview_every == 0):
            item.drawing = drawing
            item.result = pick(cfg.keep, drawing, average, best)
        yield item


def channels_last_noise(like: torch.Tensor) -> torch.Tensor:
    """Gaussian noise shaped and laid out like a channels_last (N, C, H, W) tensor, drawn in
    (N, H, W, C) order, because randn_like on a channels_last tensor is several times slower."""
    n, c, h, w = like.shape
    return torch.randn(n, h, w, c, device=like.device, dtype=like.dtype).permute(0, 3, 1, 2)


def pick(keep: str, drawing: torch.Tensor | None, average: torch.Tensor | None, best: torch.Tensor | None):
    """The picture `keep` asks for; before any step there is none."""
    if keep == "best" and best is not None:
        return best
    return drawing if keep == "last" else average


def restore(
    corruption: Corruption,
    config: PriorConfig | None = None,
    reference: torch.Tensor | None = None,
    cancel: threading.Event | Callable[[], bool] | None = None,
) -> tuple[torch.Tensor, list[PriorProgress]]:
    """Run `prior_steps` to the end; returns the result and the logged steps (with PSNRs)."""
    log, item = [], None
    for item in prior_steps(corruption, config, reference, cancel):
        if not math.isnan(item.psnr):
            log.append(PriorProgress(item.step, item.total_steps, item.loss, item.psnr, item.psnr_average))
    return item.result, log
