"""Small building blocks shared by the network families."""

from __future__ import annotations

from torch import nn

from engine.errors import UserError

NORMS = ("batch", "instance", "instance-affine", "none")


def norm_layer(kind: str, channels: int) -> nn.Module:
    """Normalisation by name. Instance norm has no running stats, as in the official code.

    'instance-affine' is what the official pix2pix really computes: batch norm at batch size 1,
    in train mode at test time too, is instance norm with a learned scale and shift. It keeps
    that behaviour at any batch size and in eval mode, where batch norm's running averages
    (drifting while inputs are augmented) give hazy, checkered backgrounds. Its keys are batch
    norm's, so a batch-norm model converts by dropping the running statistics."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    if kind == "instance-affine":
        return nn.InstanceNorm2d(channels, affine=True, track_running_stats=False)
    if kind == "none":
        return nn.Identity()
    raise UserError(f"unknown norm {kind!r}; choose one of {NORMS}")


def conv_bias(norm: str) -> bool:
    """A conv needs its own bias only when no norm layer with a learned shift follows it."""
    return norm in ("instance", "none")


def init_weights(net: nn.Module, gain: float = 0.02) -> nn.Module:
    """N(0, 0.02) init of the pix2pix/DCGAN papers (norm weights around 1)."""
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.InstanceNorm2d)) and m.weight is not None:
            nn.init.normal_(m.weight, 1.0, gain)
            nn.init.zeros_(m.bias)
    return net
