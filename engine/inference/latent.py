"""Playing with latent spaces: load a VAE, autoencoder or DCGAN, encode, decode, sample,
interpolate (linear or spherical), do vector arithmetic, map a 2-D latent space, make GIFs.

Models are run ids, checkpoints, or the bundled 'default-vae' / 'default-dcgan', loaded by
`engine.inference.loader.load_latent_model`. Images go in
and come out as PIL images or NCHW tensors in [-1, 1]; latent codes are (N, latent_dim).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from PIL import Image

from engine.data.image_folders import fit_image, set_channels
from engine.data.images import image_grid, tensor_to_image, uint8_to_unit
from engine.errors import UserError


class LatentModel:
    """A trained generator (and encoder, for VAEs and autoencoders) in eval mode."""

    def __init__(self, net: torch.nn.Module, meta: dict, source: str, device: torch.device) -> None:
        self.net, self.meta, self.source, self.device = net.to(device).eval(), meta, source, device
        config = meta["config"]
        self.task: str = meta["task"]
        self.latent_dim: int = net.latent_dim
        self.image_size, self.channels = int(config["image_size"]), int(config["channels"])
        self.num_classes: int = int(config.get("num_classes", 0)) if config.get("conditional") else 0

    @property
    def can_encode(self) -> bool:
        return hasattr(self.net, "encode")

    @torch.inference_mode()
    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """NCHW in [-1, 1] at the model's size -> codes (the posterior mean for a VAE)."""
        if not self.can_encode:
            raise UserError(f"a {self.task} model has no encoder: start from seeds instead of images")
        return self.net.encode(images.to(self.device))[0].float()

    def model_input(self, images: Sequence[Image.Image]) -> torch.Tensor:
        """PIL images of any size -> NCHW in [-1, 1] as the model sees them: fitted to its square
        size and channels (a photo becomes a 32 px grey thumbnail for a Fashion-MNIST model)."""
        batch = torch.stack([fit_image(im, self.image_size) for im in images])
        return uint8_to_unit(set_channels(batch, self.channels))

    def encode_images(self, images: Sequence[Image.Image]) -> torch.Tensor:
        """PIL images of any size -> codes of `model_input(images)`."""
        return self.encode(self.model_input(images))

    @torch.inference_mode()
    def decode(self, z: torch.Tensor, labels: torch.Tensor | int | None = None) -> torch.Tensor:
        """Codes -> NCHW images in [-1, 1]; class-conditional GANs need labels (default 0)."""
        z = z.to(self.device, torch.float32)
        if self.can_encode:
            return self.net.decode(z).float()
        if self.num_classes:
            labels = 0 if labels is None else labels
            labels = torch.as_tensor(labels, device=self.device).long().expand(len(z))
            return self.net(z, labels).float()
        return self.net(z).float()

    def seed_latents(self, seeds: Sequence[int]) -> torch.Tensor:
        """One N(0, I) code per seed; seed s gives the same code alone or in a batch."""
        return torch.stack(
            [torch.randn(self.latent_dim, generator=torch.Generator().manual_seed(s)) for s in seeds]
        )

    def sample(self, n: int, seed: int = 0, labels: torch.Tensor | int | None = None) -> torch.Tensor:
        """n images decoded from z ~ N(0, I), reproducible from `seed`."""
        z = torch.randn(n, self.latent_dim, generator=torch.Generator().manual_seed(seed))
        return self.decode(z, labels)


def steps(frames: int) -> torch.Tensor:
    """frames positions from exactly 0 to exactly 1."""
    if frames < 2:
        raise UserError(f"an interpolation needs at least 2 frames, got {frames}")
    return torch.arange(frames, dtype=torch.float64) / (frames - 1)


def lerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """(1 - t) a + t b for each t: (T, *a.shape)."""
    t = t.view(-1, *[1] * a.dim())
    return ((1 - t) * a.double() + t * b.double()).to(a.dtype)


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation (Shoemake): along the great circle from a to b, so codes keep
    the norm Gaussian samples have (a straight line cuts through the low-density middle).
    Endpoints are exactly a and b; (nearly) parallel vectors fall back to lerp."""
    a64, b64 = a.double().flatten(), b.double().flatten()
    cos = (a64 @ b64 / (a64.norm() * b64.norm()).clamp_min(1e-12)).clamp(-1, 1)
    theta = torch.arccos(cos)
    if torch.sin(theta) < 1e-6:
        return lerp(a, b, t)
    t = t.double().view(-1, *[1] * a.dim())
    wa, wb = torch.sin((1 - t) * theta) / torch.sin(theta), torch.sin(t * theta) / torch.sin(theta)
    return (wa * a.double() + wb * b.double()).to(a.dtype)


def interpolate(a: torch.Tensor, b: torch.Tensor, frames: int, spherical: bool = False) -> torch.Tensor:
    """frames codes from a to b (inclusive): (frames, *a.shape)."""
    return (slerp if spherical else lerp)(a, b, steps(frames))


def arithmetic(a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """a - b + c: e.g. 'sneaker - sandal + boot-like sandal'; decode the result to see it."""
    return a - b + c


def latent_map(model: LatentModel, steps_per_side: int = 15, extent: float = 3.0) -> Image.Image:
    """Decode a grid over [-extent, extent]^2 of a 2-D latent space: z1 left to right,
    z2 bottom to top (the VAE's prior covers it; the picture shows how classes are laid out)."""
    if model.latent_dim != 2:
        raise UserError(f"a latent map needs latent_dim 2, this model has {model.latent_dim}")
    axis = torch.linspace(-extent, extent, steps_per_side)
    z = torch.stack([torch.stack([x, y]) for y in axis.flip(0) for x in axis])
    images = model.decode(z).cpu()
    return image_grid(
        [list(images[r * steps_per_side : (r + 1) * steps_per_side]) for r in range(steps_per_side)]
    )


def to_images(batch: torch.Tensor, scale: int = 1) -> list[Image.Image]:
    """NCHW in [-1, 1] (1 or 3 channels) -> RGB PIL images, optionally enlarged."""
    return [enlarge(tensor_to_image(t.expand(3, -1, -1)), scale) for t in batch.detach().cpu()]


def enlarge(img: Image.Image, scale: int) -> Image.Image:
    """Nearest-neighbour upscaling: 32 px samples stay crisp on screen."""
    return img.resize((img.width * scale, img.height * scale), Image.NEAREST) if scale > 1 else img


def grid(batch: torch.Tensor, columns: int) -> Image.Image:
    """NCHW -> one picture, `columns` images per row."""
    images = list(batch.detach().cpu())
    return image_grid([images[i : i + columns] for i in range(0, len(images), columns)])


def save_gif(
    frames: Sequence[Image.Image],
    path: str | Path,
    duration_ms: int = 80,
    bounce: bool = False,
    timeline: bool = True,
) -> Path:
    """Frames -> a looping animated GIF; bounce plays forth and back (ends not doubled).

    `timeline` adds a thin bar under each frame showing how far along the walk it is. It also
    keeps every frame: GIF writers merge identical neighbours, which would otherwise happen
    where a model's decodes saturate."""
    frames = list(frames)
    if timeline:
        frames = [with_timeline(f, i / max(1, len(frames) - 1)) for i, f in enumerate(frames)]
    if bounce:
        frames += frames[-2:0:-1]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=duration_ms, loop=0)
    return path


def with_timeline(frame: Image.Image, position: float, height: int = 3) -> Image.Image:
    """The frame above a white strip with a gray bar `position` (0..1) of its width long."""
    canvas = Image.new("RGB", (frame.width, frame.height + height + 1), "white")
    canvas.paste(frame.convert("RGB"), (0, 0))
    bar = round(position * (frame.width - 1)) + 1
    canvas.paste((128, 128, 128), (0, frame.height + 1, bar, frame.height + 1 + height))
    return canvas
