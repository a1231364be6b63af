"""The image-to-image server: a generator in eval mode that translates PIL images or tensors,
with optional colour hints. `engine.inference.loader.load_predictor` builds one from any model;
`engine.pipelines.sketch` runs a person's drawing through it (preparation, colour pull). On a
CPU a U-Net runs as an inference-only copy that draws the same in less time
(`engine.models.fast_inference`); the plain network stays for export and as the reference."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from engine.data.drawing import HINT_CHANNELS, hints_from_rgba
from engine.data.images import image_to_tensor, tensor_to_image
from engine.errors import UserError
from engine.models.fast_inference import fast_generator
from engine.runtime.allocator import keep_large_buffers_mapped
from engine.runtime.precision import Precision

Translate = Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor]


class Predictor:
    """An image-to-image generator in eval mode, with the config it was trained with."""

    def __init__(
        self,
        net: torch.nn.Module,
        meta: dict,
        source: str,
        device: torch.device,
        precision: str = "auto",
        encoder: torch.nn.Module | None = None,
        fast: bool = True,
    ) -> None:
        keep_large_buffers_mapped()
        self.net = net.to(device).eval().to(memory_format=torch.channels_last)
        self.encoder = encoder.to(device).eval() if encoder is not None else None
        self.meta, self.source, self.device = meta, source, device
        self.precision = Precision(device, precision)
        config = meta.get("config", {})
        self.size = int(config.get("crop_size", 256))
        self.multiple = 2 ** getattr(net, "depth", 8)
        self.takes_hints = bool(config.get("hints", False))
        self.nz = int(config.get("nz", 0))  # a latent code's size: several looks per input
        # an inference-only copy that runs faster on a CPU (engine/models/fast_inference.py); None: the plain net
        self.fast_net = (
            fast_generator(self.net, device, self.precision.dtype, self.size, self.nz) if fast else None
        )

    @torch.inference_mode()
    def translate_tensor(
        self, x: torch.Tensor, hints: torch.Tensor | None = None, z: torch.Tensor | None = None
    ) -> torch.Tensor:
        """NCHW in [-1, 1] -> NCHW in [-1, 1]; sides must be multiples of 2**depth. `hints`:
        N x 4 x H x W colour hints (see engine.data.drawing); None means no hint anywhere. `z`:
        N x nz codes of the look for models with one (None: the zero code, the typical look)."""
        if hints is not None and not self.takes_hints:
            raise UserError(f"{Path(self.source).name} was not trained with colour hints; drop the hints")
        fast = self.fast_net is not None  # it computes in the precision's dtype, without autocast
        x = x.to(self.device, self.precision.dtype if fast else x.dtype)
        if self.takes_hints:
            if hints is None:
                hints = torch.zeros(len(x), HINT_CHANNELS, *x.shape[-2:])
            x = torch.cat([x, hints.to(x.device, x.dtype)], 1)
        x = x.contiguous(memory_format=torch.channels_last)
        codes = []
        if self.nz:
            codes = [(torch.zeros(len(x), self.nz) if z is None else z.expand(len(x), -1)).to(self.device)]
        if fast:
            return self.fast_net(x, *codes).float().contiguous()
        with self.precision.autocast():
            return self.net(x, *codes).float().contiguous()

    @torch.inference_mode()
    def encode(self, photos: torch.Tensor) -> torch.Tensor:
        """N x 3 x H x W photos in [-1, 1] -> N x nz codes of their looks (the encoder's mean)."""
        if self.encoder is None:
            raise UserError(f"{Path(self.source).name} has no look encoder; it cannot take a reference photo")
        return self.encoder(photos.to(self.device))[0].float()

    def translate_batch(
        self,
        images: list[Image.Image],
        fit: str = "resize",
        hints: list[Image.Image | None] | None = None,
        translate: Translate | None = None,
    ) -> list[Image.Image]:
        """fit='resize': to the model's square size; fit='pad': keep the size, pad to a multiple
        of 2**depth with edge pixels and crop the output back. `hints`: one RGBA image (or None)
        per input; opaque pixels are colour hints, scaled to the input's size. `translate`
        replaces `translate_tensor` (a pipeline adds its post-processing there)."""
        translate = translate or self.translate_tensor
        hints = hints or [None] * len(images)
        if fit == "resize":
            size = (self.size, self.size)
            batch = torch.stack([image_to_tensor(im.resize(size, Image.BICUBIC)) for im in images])
            return [tensor_to_image(t) for t in translate(batch, hint_batch(hints, size))]
        if fit != "pad":
            raise UserError(f"fit must be 'resize' or 'pad', got {fit!r}")
        return [self._translate_padded(im, hint, translate) for im, hint in zip(images, hints)]

    def _translate_padded(
        self, img: Image.Image, hint: Image.Image | None, translate: Translate
    ) -> Image.Image:
        x = image_to_tensor(img)[None]
        hints = hint_batch([hint], img.size)
        h, w = x.shape[-2:]
        ph, pw = -h % self.multiple, -w % self.multiple
        x = F.pad(x, (0, pw, 0, ph), mode="replicate")
        hints = None if hints is None else F.pad(hints, (0, pw, 0, ph))
        return tensor_to_image(translate(x, hints)[0, :, :h, :w])

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
