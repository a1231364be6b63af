"""The inference-only pix2pixHD and SPADE generators (engine/models/fast_label_maps.py) paint what
the plain networks paint: to fp32 rounding in fp32, and in bf16 as close to the fp32 photo as
today's autocast is, on the bundled facade models and drawn facades; the label-map server takes
them on a CPU, and the plain networks stay as they were."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_fast_inference import lively

from engine.data.facade_layouts import random_facade
from engine.data.label_maps import FACADES, one_hot
from engine.inference.label_maps import LabelMapModel
from engine.inference.loader import load_model
from engine.models.fast_label_maps import fast_label_map_generator
from engine.models.pix2pixhd import LocalEnhancer
from engine.models.resnet import ResnetGenerator
from engine.models.spade import SPADEGenerator
from engine.models.unet import UNetGenerator
from engine.runtime.device import cpu_has_bf16
from engine.store.models import bundled_models

CPU = torch.device("cpu")
CL = torch.channels_last


def maps(count: int, size: int, classes: int = 12) -> torch.Tensor:
    """Drawn facades as one-hot maps (N x classes x size x size)."""
    index = [random_facade(np.random.default_rng(seed)) for seed in range(count)]
    index = [np.asarray(FACADES.render(i).resize((size, size), 0)) for i in index]
    return torch.stack([one_hot(torch.from_numpy(FACADES.decode(i)), classes) for i in index])


def networks() -> list[tuple[torch.nn.Module, int]]:
    """(a lively network of each kind, its style code's size)."""
    torch.manual_seed(0)
    hd = lively(ResnetGenerator(12, 3, 8, n_blocks=2, downsamplings=4))
    local = lively(LocalEnhancer(ResnetGenerator(12, 3, 16, n_blocks=2, downsamplings=3), 12, 8, 1))
    spade = lively(SPADEGenerator(12, ngf=8, size=64, z_dim=8, hidden=16))
    plain_spade = lively(SPADEGenerator(12, ngf=8, size=64, hidden=16))
    return [(hd, 0), (local, 0), (spade, 8), (plain_spade, 0)]


@pytest.mark.parametrize("which", range(4))
def test_fp32_copies_paint_what_the_plain_networks_paint(which):
    net, z_dim = networks()[which]
    x = maps(2, 64)
    z = [torch.randn(2, z_dim)] if z_dim else []
    keys = sorted(net.state_dict())
    fast = fast_label_map_generator(net, CPU, torch.float32, 64, 12, z_dim)
    assert fast is not None
    with torch.inference_mode():
        want = net(x, *z)
        got = fast(x.contiguous(memory_format=CL), *z)
    assert got.shape == want.shape == (2, 3, 64, 64) and want.abs().mean() > 0.05  # not a blank photo
    # fp32 rounding: oneDNN's sums run in another order, through up to 7 normalised blocks
    torch.testing.assert_close(got.float(), want, atol=1e-3, rtol=0)
    assert sorted(net.state_dict()) == keys and not net.training  # the plain network is untouched


@pytest.mark.parametrize("model", ["default-pix2pixhd", "default-spade"])
def test_bundled_scene_models_in_bf16_are_as_close_to_fp32_as_autocast(model):
    if model not in bundled_models():
        pytest.skip(f"the bundled {model} is not installed")
    served = load_model(model, ("label-map",), precision="bf16")
    assert isinstance(served, LabelMapModel)
    assert served.fast_G is not None or not cpu_has_bf16()
    today = LabelMapModel(served.nets, served.meta, served.source, CPU, "bf16", fast=False)
    exact = LabelMapModel(served.nets, served.meta, served.source, CPU, "fp32", fast=False)
    assert today.fast_G is None and exact.fast_G is None
    x = maps(3, 256)
    z = served.style_code(None, 5)
    want = exact.translate_tensor(x, z)
    autocast = (today.translate_tensor(x, z) - want).abs()
    got = served.translate_tensor(x, z)
    assert got.shape == want.shape == (3, 3, 256, 256) and got.dtype == torch.float32
    error = (got - want).abs()
    assert error.max() <= 1.5 * autocast.max() + 0.005, (error.max().item(), autocast.max().item())
    assert error.mean() <= 1.2 * autocast.mean() + 2e-4, (error.mean().item(), autocast.mean().item())
    one = served.translate_tensor(x[:1], z)  # batch 1, as the scene canvas calls it
    assert (one - got[:1]).abs().max() <= 1.5 * autocast.max() + 0.005


def test_only_cpu_label_map_generators_in_fp32_or_bf16_take_the_fast_copy():
    net, _ = networks()[0]
    assert fast_label_map_generator(UNetGenerator(12, 3, 8, 5), CPU, torch.float32, 32, 12) is None
    assert fast_label_map_generator(net, CPU, torch.float16, 64, 12) is None
    assert fast_label_map_generator(net, torch.device("meta"), torch.float32, 64, 12) is None
    meta = {"config": {"crop_size": 64, **FACADES.to_meta()}}
    assert LabelMapModel({"G": net}, meta, "hd", CPU, "fp32").fast_G is not None
    assert LabelMapModel({"G": net}, meta, "hd", CPU, "fp32", fast=False).fast_G is None
