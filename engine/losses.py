"""Losses shared by the tasks: GAN objectives and reconstruction terms."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from engine.errors import UserError

GAN_MODES = ("vanilla", "lsgan", "hinge", "wgan-gp")
# modes that need nothing but the loss itself (wgan-gp also needs `gradient_penalty`)
PLAIN_GAN_MODES = ("vanilla", "lsgan", "hinge")


def gan_loss(
    pred: torch.Tensor, real: bool, mode: str = "vanilla", for_discriminator: bool = True
) -> torch.Tensor:
    """Loss of a discriminator output (logits) against the real or fake label.

    vanilla: BCE with logits (the pix2pix cGAN loss); lsgan: least squares; hinge: the hinge
    loss for D and -D(x) for G; wgan-gp: the Wasserstein critic, -D(real) and D(fake) for D and
    -D(fake) for G (train it with `gradient_penalty`).
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
    if mode == "wgan-gp":
        return -pred.mean() if real or not for_discriminator else pred.mean()
    raise UserError(f"unknown GAN mode {mode!r}; choose one of {GAN_MODES}")


def l1_loss(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute error, computed in fp32 even under autocast."""
    return F.l1_loss(output.float(), target.float())


def feature_matching_loss(fake: list[torch.Tensor], real: list[torch.Tensor]) -> torch.Tensor:
    """pix2pixHD's feature matching: mean over layers of L1 between D's activations on the fake
    and on the real pair (real ones held fixed). It steadies G where the GAN loss alone is noisy."""
    return sum(l1_loss(f, r.detach()) for f, r in zip(fake, real)) / len(fake)


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


class PerceptualLoss(torch.nn.Module):
    """pix2pixHD's VGG loss: L1 between VGG19 activations of output and target at relu1_1 to
    relu5_1, weighted 1/32 to 1. Each layer's L1 is divided by the target's mean activation, so
    a weight means the same whichever VGG19 file (caffe or torchvision scaling) is loaded."""

    LAYER_WEIGHTS = {"relu1_1": 1 / 32, "relu2_1": 1 / 16, "relu3_1": 1 / 8, "relu4_1": 1 / 4, "relu5_1": 1.0}

    def __init__(self, vgg: torch.nn.Module) -> None:
        super().__init__()
        self.vgg = vgg

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        found = self.vgg(output, self.LAYER_WEIGHTS)
        with torch.no_grad():
            wanted = self.vgg(target, self.LAYER_WEIGHTS)
        return sum(
            weight * l1_loss(found[name], wanted[name]) / (wanted[name].float().abs().mean() + 1e-6)
            for name, weight in self.LAYER_WEIGHTS.items()
        )
