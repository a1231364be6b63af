"""Device choice and mixed precision, so tasks write one training step for every device."""

from __future__ import annotations

import contextlib
import ctypes
import functools
import json
import os
import platform
import sys
import time
from pathlib import Path

import torch

from engine.errors import UserError

PRECISIONS = ("auto", "fp32", "bf16", "fp16")


def pick_device(name: str = "auto") -> torch.device:
    """'auto' takes CUDA, then Apple's MPS, then the CPU."""
    if name != "auto":
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


@functools.cache
def cpu_has_bf16() -> bool:
    """True when the CPU computes bf16 natively (AVX512-BF16 or AMX); elsewhere bf16 is slower."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_precision(mode: str, device: torch.device) -> str:
    """'auto': bf16 on GPUs that have it, fp16 on older GPUs; on a CPU with native bf16 whichever
    of bf16 and fp32 a short calibration measured faster on this machine; else fp32."""
    if mode not in PRECISIONS:
        raise UserError(f"precision must be one of {PRECISIONS}, got {mode!r}")
    if mode != "auto":
        return mode
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if device.type == "cpu" and cpu_has_bf16():
        return fastest_cpu_precision()
    return "fp32"


@functools.cache
def cpu_info() -> dict[str, str]:
    """The first value of each field of /proc/cpuinfo (Linux); {} where there is none."""
    fields: dict[str, str] = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            name, _, value = line.partition(":")
            fields.setdefault(name.strip(), value.strip())
    except OSError:
        pass
    return fields


def cpu_model() -> str:
    return cpu_info().get("model name") or platform.processor() or platform.machine()


def cpu_generation() -> str:
    """'family F model M stepping S' of the first CPU (x86 Linux), '' where unknown. Virtual
    machines often name every AMD or Intel CPU alike ("AMD EPYC"): two generations that share
    a name can differ on bf16 by 2x, so a cached measurement must not pass from one to another."""
    fields = cpu_info()
    keys = ("cpu family", "model", "stepping")
    return " ".join(f"{key.split()[-1]} {fields[key]}" for key in keys if key in fields)


def calibration_file() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "image-studio" / "precision.json"


@functools.cache
def fastest_cpu_precision() -> str:
    """'bf16' or 'fp32', measured once per CPU model, torch version and thread count, then
    cached on disk: CPU flags do not tell (some CPUs with AVX512-BF16 run bf16 convolutions
    1.3-1.6x slower than fp32, others 1.7x faster)."""
    key = (
        f"{cpu_model()} ({cpu_generation()}) | torch {torch.__version__} | {torch.get_num_threads()} threads"
    )
    path = calibration_file()
    try:
        cached = json.loads(path.read_text())
    except (OSError, ValueError):
        cached = {}
    if key not in cached:
        cached[key] = measure_conv_precisions()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(cached, indent=1))
        except OSError:
            pass  # a read-only home still gets the measured answer for this process
    times = cached[key]
    return "bf16" if times["bf16"] < times["fp32"] else "fp32"


def measure_conv_precisions(repeats: int = 3) -> dict[str, float]:
    """Seconds per forward + backward of a small U-Net-like conv stack in each precision
    (channels_last, as the studio runs), interleaved so a busy neighbour slows both alike."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(8, 32, 4, 2, 1),
        torch.nn.LeakyReLU(0.2),
        torch.nn.Conv2d(32, 64, 4, 2, 1),
        torch.nn.BatchNorm2d(64),
        torch.nn.ReLU(),
        torch.nn.ConvTranspose2d(64, 32, 4, 2, 1),
        torch.nn.ReLU(),
        torch.nn.ConvTranspose2d(32, 3, 4, 2, 1),
    ).to(memory_format=torch.channels_last)
    x = torch.randn(2, 8, 128, 128).contiguous(memory_format=torch.channels_last)
    best = {"fp32": float("inf"), "bf16": float("inf")}
    for i in range(repeats + 1):
        for mode in best:
            start = time.perf_counter()
            with torch.autocast("cpu", torch.bfloat16, enabled=mode == "bf16"):
                out = net(x)
            out.float().square().mean().backward()
            if i:  # the first round warms up both
                best[mode] = min(best[mode], time.perf_counter() - start)
    return best


@functools.cache
def keep_large_buffers_mapped() -> bool:
    """Stop glibc from unmapping and re-faulting big tensors every step.

    By default glibc returns freed blocks over its (adaptive) mmap threshold to the kernel, so a
    256 px U-Net re-maps its large buffers on every forward (~25k page faults, +30 ms). Raising
    the mmap and trim thresholds, as MALLOC_MMAP_THRESHOLD_/MALLOC_TRIM_THRESHOLD_ would before
    start-up, keeps them. Linux/glibc only; a no-op elsewhere.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    return bool(libc.mallopt(m_mmap_threshold, 32 * 2**20)) and bool(
        libc.mallopt(m_trim_threshold, 2**31 - 1)
    )


class Precision:
    """autocast for forward passes; loss scaling for fp16 backward passes."""

    def __init__(self, device: torch.device, mode: str = "auto") -> None:
        self.device = device
        self.mode = resolve_precision(mode, device)
        self.dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[self.mode]
        self._scalers: dict[int, torch.amp.GradScaler] = {}

    def autocast(self):
        if self.mode == "fp32":
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def step(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer) -> None:
        """zero_grad, backward and step, scaling the loss when fp16 needs it."""
        optimizer.zero_grad(set_to_none=True)
        if self.mode != "fp16":
            loss.backward()
            optimizer.step()
            return
        scaler = self._scalers.setdefault(id(optimizer), torch.amp.GradScaler(self.device.type))
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
