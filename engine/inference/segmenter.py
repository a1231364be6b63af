"""The segmentation server: a `segment` network (the FCN of the FCN-score) in eval mode that
turns photos into class maps. Its palette comes from its checkpoint, so its predictions render
and compare in the colours it was trained on."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from PIL import Image

from engine.data.images import image_to_tensor
from engine.data.label_maps import Palette
from engine.runtime.allocator import keep_large_buffers_mapped
from engine.runtime.precision import Precision


class SegmentationModel:
    """photo -> class indices (and their palette rendering)."""

    def __init__(self, net: torch.nn.Module, meta: dict, source: str, device, precision: str = "auto"):
        keep_large_buffers_mapped()
        self.net = net.to(device).eval()
        self.meta, self.source, self.device = meta, source, device
        self.precision = Precision(device, precision)
        config = meta["config"]
        self.palette = Palette.from_meta(config)
        self.size = int(config.get("crop_size", 256))

    @torch.inference_mode()
    def logits(self, photos: torch.Tensor) -> torch.Tensor:
        """N x 3 x H x W photos in [-1, 1], any size -> N x classes x H x W logits: the photos
        are resized to the size the net was trained at and its logits back (bilinear), so
        generators of another size are scored at their own resolution."""
        h, w = photos.shape[-2:]
        x = photos.to(self.device).float()
        if (h, w) != (self.size, self.size):
            x = F.interpolate(
                x, size=(self.size, self.size), mode="bilinear", antialias=True, align_corners=False
            )
        with self.precision.autocast():
            out = self.net(x).float()
        if out.shape[-2:] != (h, w):
            out = F.interpolate(out, size=(h, w), mode="bilinear", align_corners=False)
        return out

    def predict(self, photos: torch.Tensor) -> torch.Tensor:
        """N x 3 x H x W photos in [-1, 1] -> N x H x W class indices (on the CPU)."""
        return self.logits(photos).argmax(1).cpu()

    def __call__(self, photo: Image.Image) -> Image.Image:
        """A photo -> its predicted label map, rendered in the palette's colours."""
        x = image_to_tensor(photo.convert("RGB").resize((self.size, self.size), Image.BICUBIC))[None]
        return self.palette.render(self.predict(x)[0].numpy().astype("uint8"))
