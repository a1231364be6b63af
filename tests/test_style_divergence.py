"""Gatys' L-BFGS never reports or continues from a diverged picture: a step that overshoots
(too large a step size here; at a fresh resolution in the studio) is taken back."""

from __future__ import annotations

import math

import pytest

from engine.style.gatys import StyleConfig, stylize_steps
from support.style import TINY_LAYERS, picture

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("lr", [3.0, 10.0])
def test_an_overshooting_step_is_taken_back(tiny_vgg, lr):
    cfg = StyleConfig(
        size=32, steps=20, coarse_steps=20, levels=2, weights=tiny_vgg, precision="fp32",
        style_weight=30, lr=lr, **TINY_LAYERS,
    )  # fmt: skip
    steps = list(stylize_steps(picture(1, 48), picture(2, 48), cfg))
    for size in ((16, 16), (32, 32)):  # each level (the coarse one may stop early once flat)
        totals = [p.total_loss for p in steps if p.size == size]
        assert all(math.isfinite(t) for t in totals)
        best = [min(totals[: i + 1]) for i in range(len(totals))]
        assert all(t <= 2 * b + 1e-6 for t, b in zip(totals[1:], best))  # without the guard: 1e15 and more
    fine = [p.total_loss for p in steps if p.size == (32, 32)]
    assert fine[-1] < fine[0]  # and it still makes progress
