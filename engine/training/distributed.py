"""Data-parallel training under torchrun: process group, device per rank, DDP wrapping, and
agreeing on a stop so every rank leaves the loop at the same step."""

from __future__ import annotations

import os

import torch
import torch.distributed as dist

from engine.runtime.device import pick_device


def setup_distributed() -> tuple[int, int, int]:
    """(rank, world size, local rank); starts a process group when torchrun launched us."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return int(os.environ.get("RANK", "0")), world, int(os.environ.get("LOCAL_RANK", "0"))


def training_device(name: str, local_rank: int) -> torch.device:
    device = pick_device(name)
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    return device


def ddp_wrapper(device: torch.device, world: int):
    if world == 1:
        return lambda net: net

    def wrap(net: torch.nn.Module) -> torch.nn.Module:
        if device.type == "cuda":  # SyncBatchNorm needs GPUs; CPU ranks keep per-rank stats
            net = torch.nn.SyncBatchNorm.convert_sync_batchnorm(net)
            return torch.nn.parallel.DistributedDataParallel(net, device_ids=[device])
        return torch.nn.parallel.DistributedDataParallel(net)

    return wrap


def any_rank(flag: bool, device: torch.device) -> bool:
    """True on every rank when it is True on one (a stop asked of rank 0 stops all)."""
    value = torch.tensor([float(flag)], device=device if device.type == "cuda" else "cpu")
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def gather(obj, world: int) -> list:
    """obj from every rank, in rank order (one process: [obj])."""
    if world == 1:
        return [obj]
    found = [None] * world
    dist.all_gather_object(found, obj)
    return found


def broadcast(obj, world: int):
    """Rank 0's obj on every rank."""
    if world == 1:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]
