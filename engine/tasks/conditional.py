"""The two halves of a conditional-GAN step that pix2pix, pix2pixHD and SPADE share: the
discriminator judges (condition, image) pairs at one or more scales, then the generator is
scored through a frozen copy of it (adversarial loss and feature matching). A condition of
None makes it a plain GAN: D sees the image alone (pix2pix's `gan` and `l1+gan` modes, the
unconditional rows of the paper's loss study)."""

from __future__ import annotations

import torch
from torch import nn

from engine.losses import feature_matching_loss, gan_loss
from engine.models.patchgan import scale_outputs
from engine.runtime.precision import Precision


def per_scale(pred: torch.Tensor | list[torch.Tensor]) -> list[torch.Tensor]:
    """D's output map(s) as a list: one PatchGAN gives a tensor, a multi-scale D a list."""
    return pred if isinstance(pred, list) else [pred]


def judged(condition: torch.Tensor | None, image: torch.Tensor) -> torch.Tensor:
    """What D sees: the (condition, image) pair, or the image alone for an unconditional D."""
    return image if condition is None else torch.cat([condition, image], 1)


def mean(values) -> torch.Tensor:
    values = list(values)
    return sum(values) / len(values)


def discriminator_losses(
    D: nn.Module, condition, real, fake, mode: str, precision: Precision
) -> dict[str, torch.Tensor]:
    """D's loss on real and generated pairs ("D_real", "D_fake", and "D" their mean), averaged
    over its scales; the generated image is detached, so only D learns from it."""
    with precision.autocast():
        pred_fake = per_scale(D(judged(condition, fake.detach())))
        pred_real = per_scale(D(judged(condition, real)))
    losses = {
        "D_fake": mean(gan_loss(pred, False, mode) for pred in pred_fake),
        "D_real": mean(gan_loss(pred, True, mode) for pred in pred_real),
    }
    losses["D"] = (losses["D_fake"] + losses["D_real"]) * 0.5
    return losses


def generator_gan_losses(
    D: nn.Module, condition, real, fake, mode: str, precision: Precision, feature_matching: bool
) -> dict[str, torch.Tensor]:
    """G's adversarial loss ("G_GAN") through D with its weights frozen, and with
    `feature_matching` the L1 between D's activations on the fake and the real pair ("FM",
    the mean over layers, then over scales). Pass the unwrapped D: no gradient sync for D here."""
    D.requires_grad_(False)
    with precision.autocast():
        fake_features = scale_outputs(D, judged(condition, fake))
        if feature_matching:
            with torch.no_grad():
                real_features = scale_outputs(D, judged(condition, real))
    D.requires_grad_(True)
    losses = {"G_GAN": mean(gan_loss(f[-1], True, mode, for_discriminator=False) for f in fake_features)}
    if feature_matching:
        losses["FM"] = mean(
            feature_matching_loss(f[:-1], r[:-1]) for f, r in zip(fake_features, real_features)
        )
    return losses


def check_patches_fit(n_layers: int, crop_size: int, d_scales: int = 1) -> None:
    """A config check: a PatchGAN this deep must still give at least one patch on the smallest
    image it judges (the crop, halved for each extra scale), or training fails mid-step."""
    from engine.errors import UserError
    from engine.models.patchgan import patchgan_receptive_fields

    side = crop_size // 2 ** (max(d_scales, 1) - 1)
    if patchgan_receptive_fields(n_layers, side)[-1].out_size >= 1:
        return
    fits = [n for n in range(1, n_layers) if patchgan_receptive_fields(n, side)[-1].out_size >= 1]
    scaled = f" (its smallest scale: {side} px)" if side != crop_size else ""
    advice = f"use --n-layers {fits[-1]} or less, or" if fits else "use"
    raise UserError(
        f"--n-layers {n_layers} is too deep for --crop-size {crop_size}{scaled}; {advice} a larger crop"
    )
