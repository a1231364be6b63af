"""Which device to run on, and what the CPU is: the calibration's cache is keyed by it."""

from __future__ import annotations

import functools
import platform
from pathlib import Path

import torch


def pick_device(name: str = "auto") -> torch.device:
    """'auto' takes CUDA, then Apple's MPS, then the CPU."""
    if name != "auto":
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def parse_cpuinfo(text: str) -> dict[str, str]:
    """The first value of each field: the first CPU's, since every CPU of a machine repeats them."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        name, _, value = line.partition(":")
        fields.setdefault(name.strip(), value.strip())
    return fields


@functools.cache
def cpu_info() -> dict[str, str]:
    """/proc/cpuinfo's fields (Linux); {} where there is none."""
    try:
        return parse_cpuinfo(Path("/proc/cpuinfo").read_text())
    except OSError:
        return {}


def cpu_model() -> str:
    return cpu_info().get("model name") or platform.processor() or platform.machine()


def cpu_generation() -> str:
    """'family F model M stepping S' of the first CPU (x86 Linux), '' where unknown. Virtual
    machines often name every AMD or Intel CPU alike ("AMD EPYC"): two generations that share
    a name can differ on bf16 by 2x, so a cached measurement must not pass from one to another."""
    fields = cpu_info()
    keys = ("cpu family", "model", "stepping")
    return " ".join(f"{key.split()[-1]} {fields[key]}" for key in keys if key in fields)


def cpu_has_bf16() -> bool:
    """True when the CPU computes bf16 natively (AVX512-BF16 or AMX); elsewhere bf16 is emulated
    and slower, so 'auto' does not even measure it."""
    flags = cpu_info().get("flags", "").split()
    return "avx512_bf16" in flags or "amx_bf16" in flags
