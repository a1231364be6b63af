"""Losses shared by the tasks: GAN objectives and reconstruction terms."""

from __future__ import annotations

import torch
import torch.nn.functional as F

GAN_MODES = ("vanilla", "lsgan", "hinge")


def gan_loss(
    pred: torch.Tensor, real: bool, mode: str = "vanilla", for_discriminator: bool = True
) -> torch.Tensor:
    """Loss of a discriminator output (logits) against the real or fake label.

    vanilla: BCE with logits (the pix2pix cGAN loss); lsgan: least squares; hinge: the hinge
    loss for D and -D(x) for G.
    """
    pred = pred.float()
    if mode == "vanilla":
        target = torch.ones_like(pred) if real else torch.zeros_like(pred)
        return F.binary_cross_entropy_with_logits(pred, target)
    if mode == "lsgan":
        return F.mse_loss(pred, torch.full_like(pred, 1.0 if real else 0.0))
    if mode == "hinge":
        if not for_discriminator:
            return -pred.mean()
        return F.relu(1.0 - pred).mean() if real else F.relu(1.0 + pred).mean()
    raise ValueError(f"unknown GAN mode {mode!r}; choose one of {GAN_MODES}")


def l1_loss(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute error, computed in fp32 even under autocast."""
    return F.l1_loss(output.float(), target.float())
