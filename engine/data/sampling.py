"""A resumable, shardable sample order: a pure function of (seed, position)."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import Sampler


class ResumableSampler(Sampler):
    """Endless stream of (index, augmentation seed), epoch after epoch.

    Epoch e is a permutation seeded by (seed, e); rank r of `world` takes every world-th
    entry. Starting at `start` (samples already consumed by this rank) reproduces the stream
    of an uninterrupted run exactly, which is what makes resume exact.
    """

    def __init__(self, size: int, seed: int = 0, start: int = 0, rank: int = 0, world: int = 1):
        self.size, self.seed, self.start, self.rank, self.world = size, seed, start, rank, world
        self.per_epoch = len(range(rank, size, world))

    def __iter__(self) -> Iterator[tuple[int, int]]:
        epoch, offset = divmod(self.start, self.per_epoch)
        while True:
            gen = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            order = torch.randperm(self.size, generator=gen)[self.rank :: self.world].tolist()
            for i in range(offset, self.per_epoch):
                yield order[i], (self.seed * 7_919 + epoch) * 1_000_003 + i * self.world + self.rank
            epoch, offset = epoch + 1, 0

    def __len__(self) -> int:  # an endless stream; a DataLoader needs some length
        return 2**62
