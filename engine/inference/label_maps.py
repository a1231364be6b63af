"""The label-map server: a pix2pixHD or SPADE generator (and SPADE's style encoder) in eval
mode that turns a painted or loaded label map into a photo. The palette it was trained with
comes from its checkpoint, so colour renderings decode exactly as in training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from engine.data.images import image_to_tensor, list_images, load_image, output_paths, tensor_to_image
from engine.data.label_maps import Palette, one_hot, open_label_image, read_label_map
from engine.errors import UserError
from engine.models.fast_label_maps import fast_label_map_generator
from engine.runtime.allocator import keep_large_buffers_mapped
from engine.runtime.precision import Precision


class LabelMapModel:
    """label map (+ optional style photo or seed) -> photo."""

    def __init__(
        self, nets: dict[str, torch.nn.Module], meta: dict, source: str, device, precision="auto", fast=True
    ):
        keep_large_buffers_mapped()
        self.nets = {k: net.to(device).eval() for k, net in nets.items()}
        self.meta, self.source, self.device = meta, source, device
        self.precision = Precision(device, precision)
        config = meta["config"]
        self.palette = Palette.from_meta(config)
        self.size = int(config.get("crop_size", 256))
        self.z_dim = int(config.get("z_dim", 0))
        self.has_style = "E" in self.nets
        # an inference-only copy of G that runs faster on a CPU (engine/models/fast_label_maps.py)
        self.fast_G = (
            fast_label_map_generator(
                self.nets["G"], self.device, self.precision.dtype, self.size, len(self.palette), self.z_dim
            )
            if fast
            else None
        )

    def read_map(self, image: Image.Image, name: str = "the label map") -> np.ndarray:
        """An index PNG or a colour rendering -> class indices at the model's size."""
        index = read_label_map(image, self.palette, name)
        return np.array(Image.fromarray(index).resize((self.size, self.size), Image.NEAREST))

    @torch.inference_mode()
    def style_code(self, photo: Image.Image | None, seed: int | None) -> torch.Tensor | None:
        """The code SPADE starts from: the encoder's mean for a style photo, else a random
        code (from `seed` when given); None for generators without codes."""
        if not self.z_dim:
            return None
        if photo is not None:
            if not self.has_style:
                raise UserError(f"{Path(self.source).name} has no style encoder; leave out the style photo")
            x = image_to_tensor(photo.convert("RGB").resize((256, 256), Image.BICUBIC))[None]
            return self.nets["E"](x.to(self.device))[0]
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        return torch.randn(1, self.z_dim, generator=gen).to(self.device)

    @torch.inference_mode()
    def translate_tensor(
        self, x: torch.Tensor, z: torch.Tensor | None = None, plain: bool = False
    ) -> torch.Tensor:
        """N x classes x H x W one-hot -> N x 3 x H x W in [-1, 1]. Without `z`, SPADE draws
        codes from seed 0 (equal scores run to run). `plain`: through the plain network, not its
        fast copy (pages that hook the network's layers)."""
        if self.z_dim and z is None:
            z = torch.randn(len(x), self.z_dim, generator=torch.Generator().manual_seed(0))
        args = (x.to(self.device),) + ((z.to(self.device).expand(len(x), -1),) if self.z_dim else ())
        if self.fast_G is not None and not plain:  # it computes in the precision's dtype, no autocast
            dtype = self.precision.dtype
            x, *codes = (arg.to(dtype) for arg in args)
            return self.fast_G(x.contiguous(memory_format=torch.channels_last), *codes).float().contiguous()
        with self.precision.autocast():
            return self.nets["G"](*args).float()

    def __call__(
        self, label_map: Image.Image, style: Image.Image | None = None, seed: int | None = None
    ) -> Image.Image:
        index = torch.from_numpy(self.read_map(label_map))
        x = one_hot(index, len(self.palette))[None]
        return tensor_to_image(self.translate_tensor(x, self.style_code(style, seed))[0])


def synthesize_paths(
    model: LabelMapModel, src: Path, dst: Path, style: Path | None = None, seed: int | None = None
) -> list[Path]:
    """Label map file(s) -> photo file(s): one file to one file, or a folder to a folder."""
    files = list_images(src) if src.is_dir() else [src]
    if not files:
        raise UserError(f"no label maps in {src}")
    style_image = load_image(style) if style else None
    outputs = output_paths(files, dst) if src.is_dir() else [dst]
    for file, out in zip(files, outputs):
        out.parent.mkdir(parents=True, exist_ok=True)
        model(open_label_image(file), style_image, seed).save(out)
    return outputs
