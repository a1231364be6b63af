"""Predictors: a run, a checkpoint or a bundled default -> a callable the UIs and CLI use."""

from __future__ import annotations

import functools
import importlib
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from engine.checkpoint import BEST_CHECKPOINT, read_weights, save_weights
from engine.data.drawing import HINT_CHANNELS, hints_from_rgba
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
        self.takes_hints = bool(meta.get("config", {}).get("hints", False))

    @torch.inference_mode()
    def translate_tensor(self, x: torch.Tensor, hints: torch.Tensor | None = None) -> torch.Tensor:
        """NCHW in [-1, 1] -> NCHW in [-1, 1]; sides must be multiples of 2**depth. `hints`:
        N x 4 x H x W colour hints (see engine.data.drawing); None means no hint anywhere."""
        if hints is not None and not self.takes_hints:
            raise ValueError(f"{Path(self.source).name} was not trained with colour hints")
        if self.takes_hints:
            if hints is None:
                hints = torch.zeros(len(x), HINT_CHANNELS, *x.shape[-2:])
            x = torch.cat([x, hints.to(x.device, x.dtype)], 1)
        x = x.to(self.device).contiguous(memory_format=torch.channels_last)
        with self.precision.autocast():
            return self.net(x).float().contiguous()

    def translate_batch(
        self, images: list[Image.Image], fit: str = "resize", hints: list[Image.Image | None] | None = None
    ) -> list[Image.Image]:
        """fit='resize': to the model's square size; fit='pad': keep the size, pad to a multiple
        of 2**depth with edge pixels and crop the output back. `hints`: one RGBA image (or None)
        per input; opaque pixels are colour hints, scaled to the input's size."""
        hints = hints or [None] * len(images)
        if fit == "resize":
            size = (self.size, self.size)
            batch = torch.stack([image_to_tensor(im.resize(size, Image.BICUBIC)) for im in images])
            return [tensor_to_image(t) for t in self.translate_tensor(batch, hint_batch(hints, size))]
        if fit != "pad":
            raise ValueError(f"fit must be 'resize' or 'pad', got {fit!r}")
        return [self._translate_padded(im, hint) for im, hint in zip(images, hints)]

    def _translate_padded(self, img: Image.Image, hint: Image.Image | None) -> Image.Image:
        x = image_to_tensor(img)[None]
        hints = hint_batch([hint], img.size)
        h, w = x.shape[-2:]
        ph, pw = -h % self.multiple, -w % self.multiple
        x = F.pad(x, (0, pw, 0, ph), mode="replicate")
        hints = None if hints is None else F.pad(hints, (0, pw, 0, ph))
        return tensor_to_image(self.translate_tensor(x, hints)[0, :, :h, :w])

    def __call__(self, image: Image.Image, hints: Image.Image | None = None) -> Image.Image:
        return self.translate_batch([image], hints=[hints])[0]


def hint_batch(hints: list[Image.Image | None], size: tuple[int, int]) -> torch.Tensor | None:
    """RGBA hint images (None: no hints for that input) -> N x 4 x H x W, or None if all None.
    Resized with nearest neighbours so a dab keeps its colour."""
    if all(h is None for h in hints):
        return None
    arrays = [
        hints_from_rgba(np.asarray(h.convert("RGBA").resize(size, Image.NEAREST)))
        if h is not None
        else np.zeros((size[1], size[0], HINT_CHANNELS), np.float32)
        for h in hints
    ]
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()


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


def best_checkpoint(run: str, home: str | None = None) -> Path:
    """The checkpoint of a run that scored best on held-out data (`train --eval-every`)."""
    store = RunStore(home)
    store.get(run)
    path = store.runs_dir / run / "checkpoints" / BEST_CHECKPOINT
    if not path.is_file():
        raise FileNotFoundError(f"run {run} has no best checkpoint: train it with --eval-every N")
    return path


def export_model(
    model: str, out: str | Path, half: bool = True, home: str | None = None, best: bool = False
) -> Path:
    """A small deployable file: the inference networks only (fp16 by default) with the config.
    `best`: the run's checkpoint with the lowest held-out KID instead of its latest."""
    nets, meta = read_weights(best_checkpoint(model, home) if best else resolve_model(model, home))
    keep = {name: nets[name] for name in get_task(meta["task"]).inference_networks}
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_weights(out, keep, {**meta, "exported_from": str(model)}, torch.float16 if half else None)
    return out
