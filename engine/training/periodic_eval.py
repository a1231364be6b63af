"""Held-out metrics during training (`--eval-every N`), so a run can be judged and its best
checkpoint picked by val KID rather than by its last step.

A task that translates images declares `eval_outputs(batch) -> {set name: (generated, target)}`;
every set is scored with L1, SSIM, FID and KID on the same fixed held-out subset. Target features
are computed once. Metric names are `val_L1`, `val_FID`, `val_KID` for the main set and
`val_<set>_<metric>` for the others (e.g. `val_drawn_KID` for drawing-style inputs).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch.utils.data import DataLoader, Subset

from engine.metrics import SSIM_WINDOW, fid_from_features, kid_from_features, l1_per_image, ssim

SELECT_BY = "val_KID"  # the metric that picks a run's best checkpoint (lower is better)


def metric_name(set_name: str, metric: str) -> str:
    return f"val_{set_name}_{metric}" if set_name else f"val_{metric}"


class PeriodicEval:
    """Scores a task on `size` fixed held-out items; call it with the task in eval mode."""

    def __init__(
        self,
        task,
        held_out,
        size: int = 50,
        batch_size: int = 10,
        inception: Callable[[torch.Tensor], np.ndarray] | None = None,
    ) -> None:
        if inception is None:
            from engine.metrics import InceptionFeatures

            inception = InceptionFeatures()
        picked = Subset(held_out, range(min(size, len(held_out))))
        self.loader = DataLoader(picked, batch_size=batch_size, generator=torch.Generator())
        self.task, self.inception = task, inception
        self.real_features: np.ndarray | None = None

    @torch.no_grad()
    def __call__(self) -> dict[str, float]:
        fakes: dict[str, list[np.ndarray]] = {}
        l1: dict[str, float] = {}
        similarity: dict[str, float] = {}
        reals, count = [], 0
        for batch in self.loader:
            for name, (fake, real) in self.task.eval_outputs(batch).items():
                real = real.to(fake.device)
                fakes.setdefault(name, []).append(self.inception(fake))
                l1[name] = l1.get(name, 0.0) + l1_per_image(fake, real).sum().item()
                if min(fake.shape[-2:]) >= SSIM_WINDOW:
                    score = ssim(fake.float(), real.float()).sum().item()
                    similarity[name] = similarity.get(name, 0.0) + score
            if self.real_features is None:
                reals.append(self.inception(batch["B"]))
            count += len(batch["B"])
        if self.real_features is None:
            self.real_features = np.concatenate(reals)
        results = {}
        for name, feats in fakes.items():
            fake = np.concatenate(feats)
            results[metric_name(name, "L1")] = l1[name] / count
            if name in similarity:
                results[metric_name(name, "SSIM")] = similarity[name] / count
            if count >= 2:
                results[metric_name(name, "FID")] = fid_from_features(fake, self.real_features)
                results[metric_name(name, "KID")] = kid_from_features(fake, self.real_features)[0]
        return results
