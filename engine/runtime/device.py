"""Which device to run on, and what the CPU is: the calibration's cache is keyed by it."""

from __future__ import annotations

import functools
import platform
from pathlib import Path

import torch

from engine.errors import UserError


def pick_device(name: str = "auto") -> torch.device:
    """'auto' takes CUDA, then Apple's MPS, then the CPU; a device named must exist here."""
    if name != "auto":
        return check_device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def check_device(name: str) -> torch.device | None:
    """The device `name` names, refused in one line when it is not a device or not on this
    machine (`cuda` without a CUDA GPU); None for 'auto'."""
    if name == "auto":
        return None
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError):
        raise UserError(f"unknown device {name!r}: use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if not count:
            raise UserError(
                f"device {name!r}: this machine has no CUDA GPU that PyTorch can use; use cpu or auto"
            )
        if device.index is not None and device.index >= count:
            raise UserError(
                f"device {name!r}: this machine has {count} CUDA GPU(s), cuda:0 to cuda:{count - 1}"
            )
    elif device.type == "mps" and not (
        getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()
    ):
        raise UserError(f"device {name!r}: Apple's MPS is not available here; use cpu or auto")
    elif device.type not in ("cpu", "cuda", "mps"):
        raise UserError(f"device {name!r} is not supported: use auto, cpu, cuda, cuda:N or mps")
    return device


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
