"""Mixed precision, so tasks write one training step for every device, and a record of why
'auto' chose its mode, so a run can say why it trained at the speed it did."""

from __future__ import annotations

import contextlib

import torch

from engine.errors import UserError
from engine.runtime.calibration import fastest_cpu_precision
from engine.runtime.device import cpu_has_bf16

PRECISIONS = ("auto", "fp32", "bf16", "fp16")


def choose_precision(mode: str, device: torch.device) -> tuple[str, str]:
    """(mode, why). 'auto': bf16 on GPUs that have it, fp16 on older GPUs; on a CPU with native
    bf16 whichever of bf16 and fp32 a calibration found clearly faster; else fp32."""
    if mode not in PRECISIONS:
        raise UserError(f"precision must be one of {PRECISIONS}, got {mode!r}")
    if mode != "auto":
        return mode, f"asked for with --precision {mode}"
    if device.type == "cuda":
        if torch.cuda.is_bf16_supported():
            return "bf16", "CUDA with bf16"
        return "fp16", "CUDA without bf16: fp16 with loss scaling"
    if device.type != "cpu":
        return "fp32", f"auto keeps fp32 on {device.type}"
    if not cpu_has_bf16():
        return "fp32", "CPU without native bf16 (no AVX512-BF16 or AMX)"
    return fastest_cpu_precision()


def resolve_precision(mode: str, device: torch.device) -> str:
    """The mode alone, for callers that only print or compare it."""
    return choose_precision(mode, device)[0]


class Precision:
    """autocast for forward passes; loss scaling for fp16 backward passes."""

    def __init__(self, device: torch.device, mode: str = "auto") -> None:
        self.device = device
        self.mode, self.reason = choose_precision(mode, device)
        self.dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[self.mode]
        self._scalers: dict[int, torch.amp.GradScaler] = {}

    def describe(self) -> str:
        """'bf16 (why)': what a run's start event records and `runs show` prints."""
        return f"{self.mode} ({self.reason})"

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
