"""The inference-only U-Net (engine/models/fast_inference.py) draws what the plain network draws:
to fp32 rounding in fp32, within bf16 noise of today's autocast in bf16, on the bundled models and
real drawings; the plain network, its keys and its training are untouched."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import engine.models.fast_inference as fast_inference
from engine.data.images import image_to_tensor, load_image
from engine.inference.loader import load_predictor
from engine.inference.predictor import Predictor
from engine.models.fast_inference import (
    ChannelsLastInstanceNorm,
    SignBitReLU,
    SubpixelConvTranspose2d,
    fast_unet,
    subpixel_weight,
)
from engine.models.layers import image_statistics_at_test, norm_layer
from engine.models.resnet import ResnetGenerator
from engine.models.unet import UNetGenerator
from engine.pipelines.sketch import Look, SketchPipeline
from engine.runtime.device import cpu_has_bf16

CL = torch.channels_last
CPU = torch.device("cpu")
EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "assets" / "examples").glob("sketch_*.png"))
BF16_MAX, BF16_MEAN = 0.02, 0.002  # bf16 noise: what two bf16 evaluations of the default differ by


def lively(net: nn.Module) -> nn.Module:
    """Weights and norm parameters away from their init (N(0, 0.02) makes every output ~0),
    running statistics that are not the identity, eval mode."""
    torch.manual_seed(1)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
                fan_in = (
                    module.weight[0].numel() if isinstance(module, nn.Conv2d) else module.weight[:, 0].numel()
                )
                module.weight.normal_(0, 1.5 / fan_in**0.5)
                if module.bias is not None:
                    module.bias.normal_(0, 0.1)
            elif isinstance(module, (nn.BatchNorm2d, nn.InstanceNorm2d)) and module.weight is not None:
                module.weight.uniform_(0.5, 1.5)
                module.bias.normal_(0, 0.2)
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.normal_(0, 0.1)
                module.running_var.uniform_(0.5, 2)
            elif isinstance(module, nn.Linear):
                module.weight.normal_(0, 0.3)
    return net.eval()


def inputs(n: int, c: int, h: int, w: int) -> torch.Tensor:
    torch.manual_seed(2)
    return (torch.rand(n, c, h, w) * 2 - 1).contiguous(memory_format=CL)


def plain(net: nn.Module, x: torch.Tensor, *args) -> torch.Tensor:
    with torch.inference_mode():
        return net(x, *args)


@pytest.mark.parametrize(
    ("depth", "ngf", "in_channels", "norm"),
    [
        (8, 32, 7, "instance-affine"),  # default
        (8, 16, 7, "instance-affine"),  # default-live
        (8, 20, 7, "instance-affine"),  # widths not a multiple of 16
        (8, 32, 3, "batch"),  # default-l1 (running statistics)
        (6, 8, 3, "batch-image-stats"),  # official and batch-1 runs
        (5, 8, 3, "instance"),
        (5, 8, 3, "none"),
    ],
)
def test_fp32_copy_matches_the_plain_network(depth, ngf, in_channels, norm):
    norm_kind = "batch" if norm == "batch-image-stats" else norm
    net = lively(UNetGenerator(in_channels, 3, ngf, depth, norm_kind))
    if norm == "batch-image-stats":
        image_statistics_at_test([net])
    side = 2**depth
    fast = fast_unet(net, torch.float32, inputs(1, in_channels, side, side))
    for shape in [
        (1, in_channels, side, side),
        (3, in_channels, side, side),
        (2, in_channels, side, 2 * side),
    ]:
        x = inputs(*shape)
        want, got = plain(net, x), plain(fast, x)
        assert got.shape == want.shape
        assert want.abs().max() > 0.3  # the comparison means something
        torch.testing.assert_close(got, want, atol=1e-4, rtol=0)


def test_fp32_copy_of_a_model_with_looks_and_one_without_skips():
    net = lively(UNetGenerator(3, 3, 8, 5, "instance-affine", nz=4))
    z = torch.randn(2, 4)
    x = inputs(2, 3, 32, 32)
    fast = fast_unet(net, torch.float32, x[:1], z[:1])
    torch.testing.assert_close(plain(fast, x, z), plain(net, x, z), atol=1e-4, rtol=0)
    flat = lively(UNetGenerator(3, 3, 8, 5, "instance-affine", skips=False))
    torch.testing.assert_close(plain(fast_unet(flat, torch.float32, x), x), plain(flat, x), atol=1e-4, rtol=0)


def test_the_plain_network_keeps_its_weights_keys_and_training():
    net = lively(UNetGenerator(3, 3, 8, 5, "batch"))
    before = {k: v.clone() for k, v in net.state_dict().items()}
    fast_unet(net, torch.bfloat16, inputs(1, 3, 32, 32))
    after = net.state_dict()
    assert after.keys() == before.keys()
    assert all(torch.equal(after[k], before[k]) and after[k].dtype == before[k].dtype for k in before)
    net.train()
    loss = net(inputs(2, 3, 32, 32)).square().mean()
    loss.backward()
    assert all(p.grad is not None and p.dtype == torch.float32 for p in net.parameters())


def test_without_onednn_prepacking_it_computes_the_same(monkeypatch):
    monkeypatch.setattr(fast_inference, "prepacking_available", lambda: False)
    net = lively(UNetGenerator(7, 3, 8, 5, "instance-affine"))
    x = inputs(2, 7, 32, 32)
    fast = fast_unet(net, torch.float32, x)
    assert not any(getattr(m, "packed", False) for m in fast.modules())
    torch.testing.assert_close(plain(fast, x), plain(net, x), atol=1e-4, rtol=0)


def test_subpixel_transposed_conv_matches_the_library():
    torch.manual_seed(0)
    up = nn.ConvTranspose2d(16, 3, 4, 2, 1)
    x = torch.randn(2, 16, 9, 12).contiguous(memory_format=CL)
    assert subpixel_weight(up.weight).shape == (12, 16, 2, 2)
    sub = SubpixelConvTranspose2d(up, torch.float32, list(x.shape), "none")
    with torch.no_grad():
        got, want = sub(x), up(x)
    assert got.is_contiguous()  # the layout the network hands back
    torch.testing.assert_close(got, want, atol=1e-5, rtol=0)
    tanh = SubpixelConvTranspose2d(up, torch.float32, list(x.shape), "tanh")
    torch.testing.assert_close(plain(tanh, x), torch.tanh(want), atol=1e-5, rtol=0)


@pytest.mark.parametrize(("channels", "side"), [(8, 16), (64, 4)])  # the group-norm and the small-map branch
@pytest.mark.parametrize("affine", [True, False])
def test_instance_norm_keeps_channels_last(channels, side, affine):
    norm = lively(norm_layer("instance-affine" if affine else "instance", channels))
    x = (torch.randn(2, channels, side, side) * 3 + 1).contiguous(memory_format=CL)
    fast = ChannelsLastInstanceNorm(norm.weight, norm.bias, norm.eps)
    got = plain(fast, x)
    assert got.is_contiguous(memory_format=CL)
    torch.testing.assert_close(got, plain(norm, x), atol=1e-5, rtol=0)
    assert plain(fast, x.bfloat16()).is_contiguous(memory_format=CL)


def test_sign_bit_relu_is_relu_bit_for_bit():
    x = (torch.randn(2, 8, 5, 7) * 10).contiguous(memory_format=CL)
    for dtype in (torch.bfloat16, torch.float32):
        v = x.to(dtype)
        want = F.relu(v)
        assert torch.equal(SignBitReLU(False)(v), want) and not torch.equal(v, want)
        same = v.clone()
        assert SignBitReLU(True)(same).data_ptr() == same.data_ptr()
        assert torch.equal(same, want) and same.dtype == dtype


def drawings(pipeline: SketchPipeline, paths: list[Path]) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Drawings prepared as the studio prepares them (an A|B pair: its edge half), with table
    looks as hints for a hint model."""
    edges = []
    for path in paths:
        picture = load_image(path).convert("RGB")
        if path.suffix == ".jpg":  # an edges2shoes pair: the drawing is the left half, as trained
            edges.append(image_to_tensor(picture.crop((0, 0, picture.width // 2, picture.height))))
        else:
            edges.append(image_to_tensor(pipeline.prepare(picture).edges))
    x = torch.stack(edges)
    looks = [Look(seed=i) for i in range(len(x))]
    return x, pipeline.look_hint_tensor(looks, x, None) if pipeline.takes_hints else None


def assert_within_bf16_noise(model: str, paths: list[Path]) -> None:
    served = load_predictor(model, precision="bf16")
    assert served.fast_net is not None or not cpu_has_bf16()
    today = Predictor(served.net, served.meta, served.source, CPU, "bf16", fast=False)
    assert today.fast_net is None
    x, hints = drawings(SketchPipeline.serving(served), paths)
    for h in [hints, None] if hints is not None else [None]:
        got, want = served.translate_tensor(x, h), today.translate_tensor(x, h)
        assert got.shape == want.shape == (len(x), 3, 256, 256) and got.dtype == torch.float32
        diff = (got - want).abs()
        assert diff.max() <= BF16_MAX and diff.mean() <= BF16_MEAN, (diff.max().item(), diff.mean().item())
        one = served.translate_tensor(x[:1], None if h is None else h[:1])  # batch 1, as the live canvas
        assert (one - want[:1]).abs().max() <= BF16_MAX


@pytest.mark.parametrize("model", ["default", "default-live", "default-l1"])
def test_bundled_models_in_bf16_draw_the_example_sketches_within_bf16_noise(model):
    assert len(EXAMPLES) == 3
    assert_within_bf16_noise(model, EXAMPLES)


@pytest.mark.parametrize("model", ["default", "default-live"])
def test_edges2shoes_drawings_in_bf16_within_bf16_noise(model, shared_data):
    assert_within_bf16_noise(model, sorted((shared_data / "edges2shoes" / "val").glob("*.jpg"))[:6])


def test_fp32_predictor_matches_the_plain_network():
    served = load_predictor("default-live", precision="fp32")
    today = Predictor(served.net, served.meta, served.source, CPU, "fp32", fast=False)
    x = inputs(2, 3, 256, 256)
    torch.testing.assert_close(served.translate_tensor(x), today.translate_tensor(x), atol=1e-4, rtol=0)


def test_only_cpu_unets_in_fp32_or_bf16_take_the_fast_copy():
    config = {"config": {"crop_size": 32}}
    assert Predictor(ResnetGenerator(3, 3, 8, n_blocks=2), config, "r", CPU, "fp32").fast_net is None
    unet = UNetGenerator(3, 3, 8, 5)
    assert Predictor(unet, config, "u", CPU, "fp32").fast_net is not None
    assert Predictor(unet, config, "u", CPU, "fp32", fast=False).fast_net is None
    assert Predictor(unet, config, "u", CPU, "fp16").fast_net is None


def test_a_copy_the_cpu_cannot_run_leaves_the_plain_path(monkeypatch):
    def refuse(*args):
        raise RuntimeError("no bf16 convolutions here")

    monkeypatch.setattr(fast_inference, "fast_unet", refuse)
    config = {"config": {"crop_size": 32}}
    predictor = Predictor(lively(UNetGenerator(3, 3, 8, 5)), config, "u", CPU, "fp32")
    assert predictor.fast_net is None
    x = inputs(1, 3, 32, 32)
    torch.testing.assert_close(predictor.translate_tensor(x), plain(predictor.net, x).contiguous())
