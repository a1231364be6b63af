"""The inference-only pix2pixHD and SPADE generators (engine/models/fast_label_maps.py) paint what
the plain networks paint: to fp32 rounding in fp32, and in bf16 as close to the fp32 photo as
today's autocast is, on the bundled facade models and drawn facades; the label-map server takes
them on a CPU, and the plain networks stay as they were. SPADE's copy recomputes, stroke after
stroke, only the modulation of the region that changed, and paints what a whole call paints."""

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


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_a_stroke_recomputes_only_its_region_and_paints_what_a_whole_call_paints(dtype):
    """The SPADE copy keeps each layer's gamma and beta of the last map: after strokes (one at
    an edge), the same map, a batch and another style code, it paints what a fresh copy does."""
    net, z_dim = networks()[2]
    if dtype == torch.bfloat16 and not cpu_has_bf16():
        pytest.skip("this CPU has no bf16")
    served = fast_label_map_generator(net, CPU, dtype, 64, 12, z_dim)
    index = np.ones((64, 64), np.int64)
    rng = np.random.default_rng(3)
    z = torch.randn(1, z_dim).to(dtype)
    layer = served.layers[-1]  # the full-size one
    kept = None
    for step in range(7):
        if step == 3:
            index[:5, 20:] = 4  # a stroke along the top edge
        elif step == 4:
            z = torch.randn(1, z_dim).to(dtype)  # another style, the same map
        elif step != 5:  # step 5: the same map again
            y, x, h, w = rng.integers(0, 50, 2).tolist() + rng.integers(3, 20, 2).tolist()
            index[y : y + h, x : x + w] = rng.integers(0, 12)
        seg = one_hot(torch.from_numpy(index), 12)[None].to(dtype).contiguous(memory_format=CL)
        fresh = fast_label_map_generator(net, CPU, dtype, 64, 12, z_dim)
        with torch.inference_mode():
            got, want = served(seg, z), fresh(seg, z)
        torch.testing.assert_close(got, want, atol=1e-5 if dtype == torch.float32 else 0.01, rtol=0)
        if kept is not None:  # kept and updated in place, not computed again
            assert layer.kept[0].data_ptr() == kept
        kept = layer.kept[0].data_ptr()
    with torch.inference_mode():
        seg2 = torch.cat([seg, seg.flip(-1)])
        both = served(seg2, z.expand(2, -1))
        assert layer.kept[0].data_ptr() != kept and served.last is None  # a batch: computed whole
        # a batch of two runs other kernels than one map: fp32 rounding apart, as in the first test
        torch.testing.assert_close(
            both[:1], served(seg, z), atol=1e-3 if dtype == torch.float32 else 0.01, rtol=0
        )
