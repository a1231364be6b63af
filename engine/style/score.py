"""How good a finished Gatys picture is: the objective itself, in fp32 at the picture's size.

Benches compare schedules (and other implementations, such as pastiche's) by this number, so a
faster schedule is only called faster when its picture scores as well as the slower one's."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from PIL import Image

from engine.data.images import image_to_tensor
from engine.models.vgg import LAYER_NAMES, load_vgg19
from engine.style.gatys import GatysLoss, StyleConfig, fit_size, mix_weights
from engine.style.losses import gram_matrix
from engine.style.schedule import resize


@torch.no_grad()
def score_picture(
    picture: Image.Image,
    content: Image.Image,
    styles: Image.Image | Sequence[Image.Image],
    config: StyleConfig | None = None,
) -> dict[str, float]:
    """The weighted Gatys loss terms (content, style, tv, total; lower is better) of `picture`
    against `content` resized to it and the styles at the size stylize_steps uses, in fp32.
    (With preserve_color the run optimised luminance; this scores the colour picture as is.)"""
    cfg = config or StyleConfig()
    styles = [styles] if isinstance(styles, Image.Image) else list(styles)
    vgg = load_vgg19(cfg.weights, cfg.pooling, max_layer(cfg)).float()
    layers = [cfg.content_layer, *cfg.style_layers]
    x = image_to_tensor(picture.convert("RGB")).unsqueeze(0)
    h, w = x.shape[-2:]
    photo = resize(image_to_tensor(content.convert("RGB")).unsqueeze(0), (h, w))
    side = round(max(h, w) * cfg.style_scale)
    grams = [torch.zeros(()) for _ in cfg.style_layers]
    for style, weight in zip(styles, mix_weights(cfg.style_blend, len(styles), "style_blend")):
        s = image_to_tensor(style.convert("RGB")).unsqueeze(0)
        feats = vgg(resize(s, fit_size(s.shape[-1], s.shape[-2], side)), cfg.style_layers)
        grams = [g + weight * gram_matrix(feats[n]) for g, n in zip(grams, cfg.style_layers)]
    layer_weights = mix_weights(cfg.style_layer_weights, len(cfg.style_layers), "style_layer_weights")
    target = vgg(photo, [cfg.content_layer])[cfg.content_layer]
    _, terms = GatysLoss(lambda im: vgg(im, layers), cfg, target, grams, layer_weights)(x)
    return {k: float(v) for k, v in terms.items()}


def max_layer(cfg: StyleConfig) -> str:
    """The deepest layer the objective reads, so the network is built only that far."""
    return max([cfg.content_layer, *cfg.style_layers], key=LAYER_NAMES.index)
