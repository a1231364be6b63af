"""WGAN-GP (Gulrajani et al. 2017): the Wasserstein critic loss and its gradient penalty.

Kept apart from engine.losses so the two can be merged by whoever owns that file:
`adversarial_loss` accepts every mode of `gan_loss` plus 'wgan-gp'.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from engine.losses import GAN_MODES, gan_loss

ALL_GAN_MODES = (*GAN_MODES, "wgan-gp")


def wgan_loss(pred: torch.Tensor, real: bool, for_discriminator: bool = True) -> torch.Tensor:
    """The critic maximises D(real) - D(fake): as losses, -D(real) and D(fake); G minimises -D(fake)."""
    pred = pred.float()
    if not for_discriminator:
        return -pred.mean()
    return -pred.mean() if real else pred.mean()


def adversarial_loss(
    pred: torch.Tensor, real: bool, mode: str, for_discriminator: bool = True
) -> torch.Tensor:
    """gan_loss for vanilla | lsgan | hinge, wgan_loss for wgan-gp."""
    if mode == "wgan-gp":
        return wgan_loss(pred, real, for_discriminator)
    if mode not in GAN_MODES:
        raise ValueError(f"unknown GAN mode {mode!r}; choose one of {ALL_GAN_MODES}")
    return gan_loss(pred, real, mode, for_discriminator)


def gradient_penalty(
    critic: Callable[[torch.Tensor], torch.Tensor],
    real: torch.Tensor,
    fake: torch.Tensor,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """mean over the batch of (||grad_x D(x)|| - 1)^2 at x = eps * real + (1 - eps) * fake.

    One eps ~ U(0, 1) per sample: the points lie on straight lines between real and fake
    images, where the optimal critic has unit gradient norm. The graph is kept
    (create_graph) so the penalty trains the critic.
    """
    eps = torch.rand(len(real), *[1] * (real.dim() - 1), generator=generator, device=real.device)
    points = (eps * real.detach().float() + (1 - eps) * fake.detach().float()).requires_grad_(True)
    out = critic(points).float()
    (grad,) = torch.autograd.grad(out.sum(), points, create_graph=True)
    return (grad.flatten(1).norm(2, dim=1) - 1).pow(2).mean()
