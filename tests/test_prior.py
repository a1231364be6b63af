"""Deep image prior: the network, the three corruptions, the fit's streaming, the CLI.

Pictures are 64 px smooth scenes drawn here (gradients and shapes, like a photo's large
areas), so a fit of a hundred-odd steps runs in a few seconds and must already beat its input.
"""

from __future__ import annotations

import csv
import math
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from engine.cli import main
from engine.errors import UserError
from engine.models.prior_net import PriorNet
from engine.prior.corruption import Corruption, read_mask, simulate, to_unit_tensor
from engine.prior.fit import PriorConfig, prior_steps, psnr_db, restore

pytestmark = pytest.mark.usefixtures("one_thread")


def smooth_scene(size: int = 64) -> Image.Image:
    """A sky gradient, a sun and a hill: large smooth areas and a few edges."""
    y, x = np.mgrid[0:size, 0:size] / size
    sky = np.stack([0.3 + 0.4 * y, 0.5 + 0.3 * y, 0.9 - 0.2 * x], axis=-1)
    img = Image.fromarray((sky * 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(img)
    draw.ellipse([size * 0.6, size * 0.1, size * 0.85, size * 0.35], fill=(250, 210, 60))
    draw.polygon(
        [(0, size), (0, size * 0.7), (size * 0.5, size * 0.55), (size, size * 0.8), (size, size)],
        fill=(60, 130, 50),
    )
    return img


def stripes_mask(size: int = 64) -> Image.Image:
    mask = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(mask)
    for i in range(4):
        draw.line([(8 + 14 * i, 4), (14 + 14 * i, size - 4)], fill=255, width=3)
    return mask


FAST = dict(channels=16, levels=4, log_every=10, precision="fp32")


def test_prior_net_draws_rgb_in_unit_range_at_the_code_size() -> None:
    for skips in (4, 0):
        net = PriorNet(input_ch=8, channels=8, skip_ch=skips, levels=3)
        out = net(torch.rand(1, 8, 40, 24))
        assert out.shape == (1, 3, 40, 24)
        assert 0 <= out.min() and out.max() <= 1
        assert (net.body.skip is None) == (skips == 0)  # --skip-channels 0: a plain encoder-decoder


def test_one_by_one_blocks_have_no_padding_layer_and_draw_the_same() -> None:
    from torch import nn

    torch.manual_seed(0)
    net = PriorNet(8, 8, 4, 2)
    assert isinstance(net.body.skip[0], nn.Identity) and isinstance(net.body.down[0][0], nn.ReflectionPad2d)
    # the same weights with a zero reflection padding before each 1x1 convolution (the old layout)
    padded = PriorNet(8, 8, 4, 2)
    for module in padded.modules():
        if isinstance(module, nn.Sequential) and isinstance(module[0], nn.Identity):
            module[0] = nn.ReflectionPad2d(0)
    padded.load_state_dict(net.state_dict())  # saved weights keep their names
    code = torch.rand(1, 8, 16, 16)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        torch.testing.assert_close(net(code), padded(code), rtol=0, atol=0)


def test_denoising_beats_the_noisy_input_and_the_curve_is_logged() -> None:
    clean = smooth_scene()
    corruption = simulate("denoise", clean, sigma=25)
    reference = to_unit_tensor(clean)
    noisy_db = psnr_db(corruption.observed, reference)
    result, log = restore(corruption, PriorConfig(steps=150, **FAST), reference)
    assert result.shape == (1, 3, 64, 64)
    assert [row.step for row in log] == list(range(10, 151, 10))
    assert psnr_db(result, reference) > noisy_db + 3
    assert log[-1].loss < log[0].loss


def test_bf16_autocast_fits_too_and_returns_fp32_pictures() -> None:
    clean = smooth_scene()
    corruption = simulate("denoise", clean, sigma=25)
    reference = to_unit_tensor(clean)
    noisy_db = psnr_db(corruption.observed, reference)
    result, log = restore(
        corruption, PriorConfig(steps=150, device="cpu", **{**FAST, "precision": "bf16"}), reference
    )
    assert result.dtype == torch.float32 and result.shape == (1, 3, 64, 64)
    assert all(math.isfinite(row.loss) for row in log) and log[-1].loss < log[0].loss
    assert psnr_db(result, reference) > noisy_db + 2


def test_minus_one_takes_the_corruptions_own_jitter_and_average() -> None:
    clean = smooth_scene(32)
    fast = dict(steps=12, channels=8, levels=3, precision="fp32", preview_every=0)
    for kind, explicit in (("denoise", (0.0, 0.95)), ("upscale", (0.01, 0.99))):
        corruption = (
            simulate(kind, clean, sigma=25, scale=2) if kind == "upscale" else simulate(kind, clean, sigma=25)
        )
        auto, _ = restore(corruption, PriorConfig(**fast))
        given, _ = restore(corruption, PriorConfig(**fast, jitter=explicit[0], average=explicit[1]))
        other, _ = restore(corruption, PriorConfig(**fast, jitter=0.05, average=0.5))
        torch.testing.assert_close(auto, given)
        assert not torch.allclose(auto, other)


def test_inpainting_fills_holes_better_than_grey_and_ignores_what_was_there() -> None:
    clean = smooth_scene()
    mask = stripes_mask()
    corruption = simulate("inpaint", clean, mask=mask)
    holes = ~corruption.known.bool().expand(1, 3, 64, 64)
    reference = to_unit_tensor(clean)
    assert (corruption.observed[holes] == 0).all()  # the holes' content never reaches the fit
    result, _ = restore(corruption, PriorConfig(steps=200, **FAST), reference)

    def hole_error(x: torch.Tensor) -> float:
        return (x - reference)[holes].pow(2).mean().item()

    assert hole_error(result) < 0.5 * hole_error(corruption.naive())


def test_upscaling_draws_a_picture_scale_times_larger_that_shrinks_to_the_input() -> None:
    corruption = simulate("upscale", smooth_scene(), scale=4)
    assert corruption.observed.shape == (1, 3, 16, 16)
    items = list(prior_steps(corruption, PriorConfig(steps=60, preview_every=0, **FAST)))
    assert items[-1].done and items[-1].result.shape == (1, 3, 64, 64)
    assert items[-1].loss < 0.2 * items[0].loss
    assert math.isnan(items[-1].psnr)  # no reference, no PSNR


def test_best_keeps_the_highest_psnr_seen() -> None:
    clean = smooth_scene()
    reference = to_unit_tensor(clean)
    result, log = restore(simulate("denoise", clean), PriorConfig(steps=60, keep="best", **FAST), reference)
    best = max(max(row.psnr, row.psnr_average) for row in log)
    assert psnr_db(result, reference) == pytest.approx(best, abs=1e-4)


def test_cancel_stops_early_and_still_returns_a_picture() -> None:
    stop = threading.Event()
    items = []
    for item in prior_steps(simulate("denoise", smooth_scene()), PriorConfig(steps=500, **FAST), cancel=stop):
        items.append(item)
        if item.step == 5:
            stop.set()
    assert items[-1].cancelled and items[-1].done and len(items) == 6
    assert items[-1].result.shape == (1, 3, 64, 64)


def test_masks_read_both_conventions_and_bad_inputs_fail_clearly() -> None:
    bright = read_mask(stripes_mask(), (64, 64))
    painted = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    painted.paste(stripes_mask().convert("RGBA"), mask=stripes_mask())
    assert torch.equal(bright, read_mask(painted, (64, 64)))
    assert 0.05 < 1 - bright.mean().item() < 0.3  # holes are the stripes, not the rest
    with pytest.raises(UserError, match="the mask is 32x32"):
        read_mask(Image.new("L", (32, 32)), (64, 64))
    with pytest.raises(UserError, match="whole picture"):
        read_mask(Image.new("L", (64, 64), 255), (64, 64))
    with pytest.raises(UserError, match="needs a mask"):
        simulate("inpaint", smooth_scene())
    with pytest.raises(UserError, match="scale of at least 2"):
        Corruption("upscale", torch.rand(1, 3, 8, 8), scale=1)
    with pytest.raises(UserError, match="needs a clean reference"):
        next(prior_steps(simulate("denoise", smooth_scene()), PriorConfig(keep="best")))
    with pytest.raises(UserError, match="keep must be one of"):
        PriorConfig(keep="median")


def test_cli_simulates_restores_and_writes_the_psnr_curve(tmp_path: Path, capsys) -> None:
    clean = tmp_path / "scene.png"
    smooth_scene().save(clean)
    out, log, noisy = tmp_path / "out" / "restored.png", tmp_path / "curve.csv", tmp_path / "noisy.png"
    args = ["--simulate", "--steps", "40", "--channels", "16", "--levels", "4", "--quiet"]
    assert (
        main(
            [
                "prior",
                "denoise",
                str(clean),
                str(out),
                *args,
                "--log",
                str(log),
                "--save-corrupted",
                str(noisy),
            ]
        )
        == 0
    )
    assert Image.open(out).size == (64, 64) and Image.open(noisy).size == (64, 64)
    rows = list(csv.DictReader(log.open()))
    assert [int(r["step"]) for r in rows] == [10, 20, 30, 40] and float(rows[-1]["psnr"]) > 15
    assert "PSNR: input" in capsys.readouterr().out
    # a real corrupted input with its mask, no reference
    holes = tmp_path / "holes.png"
    stripes_mask().save(holes)
    filled = tmp_path / "filled.png"
    assert main(["prior", "inpaint", str(noisy), str(filled), "--mask", str(holes), *args[1:]]) == 0
    assert Image.open(filled).size == (64, 64)
    assert main(["prior", "inpaint", str(noisy), str(filled), "--quiet"]) == 1
    assert "needs a mask" in capsys.readouterr().err
