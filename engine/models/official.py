"""Load official pix2pix/CycleGAN generator checkpoints: `unet_*` converted to `UNetGenerator`
keys, `resnet_*` as they are (`ResnetGenerator` keeps the official layout).

The official `UnetGenerator` nests one `UnetSkipConnectionBlock` per level, each an
`nn.Sequential` called `model`: outermost [downconv, sub, relu, upconv, tanh], middle [relu,
downconv, downnorm, sub, relu, upconv, upnorm, (dropout)], innermost [relu, downconv, relu,
upconv, upnorm]. So level 2's downconv is `model.model.1.model.3.model.1.weight`.
"""

from __future__ import annotations

from pathlib import Path

import torch

from engine.errors import UserError
from engine.models.resnet import ResnetGenerator, resnet_settings
from engine.models.unet import UNetGenerator

NORM_SUFFIXES = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


def _official_prefix(level: int) -> str:
    """The outermost block holds its submodule at index 1, every middle block at index 3."""
    if level == 0:
        return "model.model."
    return "model.model.1.model." + "3.model." * (level - 1)


def official_key_map(depth: int) -> dict[str, str]:
    """official module path -> our module path, for every conv and norm layer."""
    mapping: dict[str, str] = {}
    for level in range(depth):
        p = _official_prefix(level)
        dec = f"decoders.{depth - 1 - level}"
        if level == 0:
            mapping[p + "0"] = "encoders.0.0"
            mapping[p + "3"] = "final.1"
        elif level == depth - 1:
            mapping[p + "1"] = f"encoders.{level}.1"
            mapping[p + "3"] = f"{dec}.1"
            mapping[p + "4"] = f"{dec}.2"
        else:
            mapping[p + "1"] = f"encoders.{level}.1"
            mapping[p + "2"] = f"encoders.{level}.2"
            mapping[p + "5"] = f"{dec}.1"
            mapping[p + "6"] = f"{dec}.2"
    return mapping


def infer_official_depth(state: dict[str, torch.Tensor]) -> int:
    """Number of nested levels present in the keys."""
    depth = 1
    while any(k.startswith(_official_prefix(depth)) for k in state):
        depth += 1
    return depth


def convert_official_unet(state: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], dict]:
    """Return (our state dict, the UNetGenerator kwargs that fit it)."""
    state = {k.removeprefix("module."): v for k, v in state.items()}
    depth = infer_official_depth(state)
    mapping = official_key_map(depth)
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        module, _, leaf = key.rpartition(".")
        if module not in mapping:
            raise UserError(f"unexpected key {key!r} for an official unet_{2**depth} generator")
        out[f"{mapping[module]}.{leaf}"] = value
    first, last = state["model.model.0.weight"], state.get(_official_prefix(0) + "3.weight")
    if last is None or first.dim() != 4 or last.dim() != 4:
        raise UserError(
            f"an official unet generator lacks its first or last layer ({_official_prefix(0)}3.weight)"
        )
    # batch norm leaves running stats; the official instance norm has no state at all
    norm = "batch" if f"{_official_prefix(1)}2.running_mean" in state else "instance"
    kwargs = {
        "in_channels": first.shape[1],
        "out_channels": last.shape[1],
        "ngf": first.shape[0],
        "depth": depth,
        "norm": norm,
    }
    return out, kwargs


def load_official_generator(path: str | Path) -> tuple[torch.nn.Module, int]:
    """Load an official generator file without unpickling code (weights_only=True): pix2pix's
    `unet_*` (`latest_net_G.pth`) or CycleGAN's `resnet_*` (`latest_net_G_A.pth`, the model
    zoo's `*_pretrained` files). Returns (network, the image size it was trained at)."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for empty, truncated or non-weight files
        text = str(err)
        if "GLOBAL" in text.upper() and "weights only" in text.lower():  # code a pickle would run
            raise UserError(
                f"{path} holds Python objects besides weights (loading it could run code); refused"
            ) from err
        # PyTorch's own text advises loading with weights_only=False: never repeat that
        lines = [line for line in text.splitlines() if line.strip() and "weights_only" not in line]
        detail = f"{type(err).__name__}: {lines[0].strip()}" if lines else type(err).__name__
        raise UserError(f"{path} is not a PyTorch weights file ({detail})") from err
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise UserError(f"{path} holds no generator state dict (official pix2pix latest_net_G.pth expected)")
    state = {k.removeprefix("module."): v for k, v in state.items()}
    resnet = resnet_settings(state)
    if resnet is not None:
        net = ResnetGenerator(**resnet)
        if resnet["norm"] == "instance":  # files from old PyTorch kept instance-norm running stats
            state = {k: v for k, v in state.items() if k.rpartition(".")[2] not in NORM_SUFFIXES[2:]}
        load_checked(net, state, path)
        return net, 256
    if "model.model.0.weight" not in state:
        raise UserError(f"{path} is neither an official unet_* nor resnet_* generator")
    try:
        converted, kwargs = convert_official_unet(state)
    except UserError as err:
        raise UserError(f"{path}: {err}") from None
    net = UNetGenerator(**kwargs)
    load_checked(net, converted, path)
    return net, 2 ** kwargs["depth"]


def load_checked(net: torch.nn.Module, state: dict[str, torch.Tensor], path) -> None:
    """The weights in, or one line naming the first layers that are missing, extra or shaped
    otherwise than the generator its keys describe."""
    own = net.state_dict()
    missing, extra = sorted(set(own) - set(state)), sorted(set(state) - set(own))
    wrong = [k for k in own if k in state and state[k].shape != own[k].shape]
    for what, keys in (("lacks", missing), ("has unexpected", extra), ("has wrongly shaped", wrong)):
        if keys:
            shown = ", ".join(keys[:3]) + (" ..." if len(keys) > 3 else "")
            raise UserError(f"{path} {what} layer(s) {shown} for the generator its keys describe")
    net.load_state_dict(state)
