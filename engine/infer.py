"""Predictors: a run, a checkpoint or a bundled default -> a callable the UIs and CLI use."""

from __future__ import annotations

import functools
import importlib
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image

from engine.checkpoint import read_weights, save_weights
from engine.data.images import image_to_tensor, tensor_to_image
from engine.precision import Precision, keep_large_buffers_mapped, pick_device
from engine.runs import RunStore
from engine.tasks import get_task

ASSETS = Path(__file__).resolve().parent.parent / "assets" / "models"
DEFAULT_MODELS = {
    "default": ASSETS / "pix2pix-edges2shoes.safetensors",
    "default-l1": ASSETS / "pix2pix-edges2shoes-l1.safetensors",
}


class Predictor:
    """An image-to-image generator in eval mode, with the config it was trained with."""

    def __init__(
        self, net: torch.nn.Module, meta: dict, source: str, device: torch.device, precision: str = "auto"
    ) -> None:
        keep_large_buffers_mapped()
        self.net = net.to(device).eval().to(memory_format=torch.channels_last)
        self.meta, self.source, self.device = meta, source, device
        self.precision = Precision(device, precision)
        self.size = int(meta.get("config", {}).get("crop_size", 256))
        self.multiple = 2 ** getattr(net, "depth", 8)

    @torch.inference_mode()
    def translate_tensor(self, x: torch.Tensor) -> torch.Tensor:
        """NCHW in [-1, 1] -> NCHW in [-1, 1]; sides must be multiples of 2**depth."""
        x = x.to(self.device).contiguous(memory_format=torch.channels_last)
        with self.precision.autocast():
            return self.net(x).float().contiguous()

    def translate_batch(self, images: list[Image.Image], fit: str = "resize") -> list[Image.Image]:
        """fit='resize': to the model's square size; fit='pad': keep the size, pad to a multiple
        of 2**depth with edge pixels and crop the output back."""
        if fit == "resize":
            batch = torch.stack(
                [image_to_tensor(im.resize((self.size, self.size), Image.BICUBIC)) for im in images]
            )
            return [tensor_to_image(t) for t in self.translate_tensor(batch)]
        if fit != "pad":
            raise ValueError(f"fit must be 'resize' or 'pad', got {fit!r}")
        return [self._translate_padded(im) for im in images]

    def _translate_padded(self, img: Image.Image) -> Image.Image:
        x = image_to_tensor(img)[None]
        h, w = x.shape[-2:]
        ph, pw = -h % self.multiple, -w % self.multiple
        x = F.pad(x, (0, pw, 0, ph), mode="replicate")
        return tensor_to_image(self.translate_tensor(x)[0, :, :h, :w])

    def __call__(self, image: Image.Image) -> Image.Image:
        return self.translate_batch([image])[0]


def resolve_model(model: str, home: str | None = None, bundled: dict[str, Path] | None = None) -> Path:
    """A bundled name ('default', or a key of `bundled`), a checkpoint path, or a run id."""
    bundled = DEFAULT_MODELS if bundled is None else bundled
    if model in bundled:
        path = bundled[model]
        if not path.is_file():
            raise FileNotFoundError(f"the bundled model {model!r} is missing at {path}")
        return path
    path = Path(model)
    if path.suffix in (".safetensors", ".pth") or path.is_file():
        if not path.is_file():
            raise FileNotFoundError(f"no checkpoint at {path}")
        return path
    store = RunStore(home)
    store.get(model)  # raises a clear KeyError for unknown runs
    found = store.latest_checkpoint(model)
    if found is None:
        raise FileNotFoundError(f"run {model} has no checkpoint yet")
    return found


def load_predictor(
    model: str = "default", home: str | None = None, device: str = "auto", precision: str = "auto"
) -> Predictor:
    """Build a predictor; official pix2pix `.pth` generators are converted on the fly."""
    path = resolve_model(model, home)
    return _load_cached(str(path), path.stat().st_mtime, device, precision)


@functools.lru_cache(maxsize=4)
def _load_cached(path: str, mtime: float, device: str, precision: str) -> Predictor:
    dev = pick_device(device)
    if path.endswith(".pth"):
        from engine.models.official import load_official_generator

        net = load_official_generator(path)
        meta = {"task": "pix2pix", "config": {"crop_size": 2**net.depth}}
        return Predictor(net, meta, path, dev, precision)
    nets, meta = read_weights(path)
    task_type = get_task(meta["task"])
    # the task module's build_generator: inference needs no discriminator or optimizer
    module = importlib.import_module(task_type.__module__)
    net = module.build_generator(task_type.Config(**meta["config"]))
    net.load_state_dict({k: v.float() for k, v in nets["G"].items()})
    return Predictor(net, meta, path, dev, precision)


def export_model(model: str, out: str | Path, half: bool = True, home: str | None = None) -> Path:
    """A small deployable file: the inference networks only (fp16 by default) with the config."""
    nets, meta = read_weights(resolve_model(model, home))
    keep = {name: nets[name] for name in get_task(meta["task"]).inference_networks}
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_weights(out, keep, {**meta, "exported_from": str(model)}, torch.float16 if half else None)
    return out
