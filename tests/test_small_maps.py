"""Convolutions on small maps as matrix products: the same results and gradients as the
library's convolutions, the same parameters, and weights that stay plain under channels_last."""

import pytest
import torch
from torch import nn

from engine.models import small_maps
from engine.models.small_maps import SmallMapConv2d, SmallMapConvTranspose2d
from engine.models.unet import UNetGenerator

PAIRS = [(SmallMapConv2d, nn.Conv2d), (SmallMapConvTranspose2d, nn.ConvTranspose2d)]


def twins(ours, library, shape: tuple, bias: bool, channels_last: bool):
    torch.manual_seed(0)
    reference = library(*shape, bias=bias)
    layer = ours(*shape, bias=bias)
    layer.load_state_dict(reference.state_dict())  # same keys, same shapes
    if channels_last:
        reference, layer = (m.to(memory_format=torch.channels_last) for m in (reference, layer))
    return layer, reference


@pytest.mark.parametrize("ours, library", PAIRS)
@pytest.mark.parametrize("shape", [(8, 6, 4, 2, 1), (8, 6, 3, 1, 1)])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("side", [2, 5, 8])
def test_matches_the_library_convolution_and_its_gradients(ours, library, shape, bias, side):
    layer, reference = twins(ours, library, shape, bias, channels_last=True)
    x = torch.randn(3, 8, side, side).contiguous(memory_format=torch.channels_last).requires_grad_()
    out, expected = layer(x), reference(x)
    assert out.shape == expected.shape and torch.allclose(out, expected, atol=1e-5)
    upstream = torch.randn_like(out)
    grads = torch.autograd.grad(out, [x, layer.weight], upstream)
    expected_grads = torch.autograd.grad(expected, [x, reference.weight], upstream)
    for got, want in zip(grads, expected_grads):
        assert torch.allclose(got, want, atol=1e-4)
    if bias:
        bias_grad = torch.autograd.grad(layer(x).sum(), layer.bias)[0]
        assert torch.allclose(bias_grad, torch.full((6,), out[0, 0].numel() * 3.0))


@pytest.mark.parametrize("ours, library", PAIRS)
def test_a_channels_last_weight_reads_the_same(ours, library):
    """A weight loaded channels_last (e.g. by hand) goes through the other index order."""
    layer, reference = twins(ours, library, (8, 6, 4, 2, 1), True, channels_last=False)
    layer.weight.data = layer.weight.data.contiguous(memory_format=torch.channels_last)
    assert not layer.weight.is_contiguous()
    x = torch.randn(2, 8, 4, 4)
    assert torch.allclose(layer(x), reference(x), atol=1e-5)


@pytest.mark.parametrize("ours, library", PAIRS)
def test_large_maps_take_the_library_path(ours, library, monkeypatch):
    layer, reference = twins(ours, library, (8, 6, 4, 2, 1), True, channels_last=False)
    x = torch.randn(2, 8, small_maps.SMALL_MAP * 2, small_maps.SMALL_MAP * 2)
    assert torch.equal(layer(x), reference(x))
    calls = []
    as_matrix = small_maps.weight_matrix  # only the matmul path reads the weight as a matrix
    monkeypatch.setattr(small_maps, "weight_matrix", lambda w: calls.append(w.shape) or as_matrix(w))
    layer(x)
    assert calls == []
    layer(torch.randn(2, 8, 4, 4))
    assert len(calls) == 1


def test_bf16_autocast_stays_close():
    layer, reference = twins(SmallMapConvTranspose2d, nn.ConvTranspose2d, (64, 32, 4, 2, 1), False, True)
    x = torch.randn(2, 64, 4, 4).contiguous(memory_format=torch.channels_last)
    with torch.autocast("cpu", torch.bfloat16):
        out, expected = layer(x), reference(x)
    assert out.dtype == expected.dtype == torch.bfloat16
    assert (out.float() - expected.float()).abs().max() < 0.02 * expected.float().abs().max()


def test_unet_inner_levels_use_them_and_keep_plain_weights():
    net = UNetGenerator(ngf=8, depth=6).eval().to(memory_format=torch.channels_last)
    small = [m for m in net.modules() if isinstance(m, (SmallMapConv2d, SmallMapConvTranspose2d))]
    assert len(small) == 3 + 4  # encoders whose input side is 8, 4, 2; decoders' 1, 2, 4, 8
    assert all(m.weight.is_contiguous() for m in small)
    assert net.encoders[0][0].weight.is_contiguous(memory_format=torch.channels_last)
    x = torch.randn(2, 3, 64, 64)
    small_maps_output = net(x)
    try:
        small_maps.SMALL_MAP = 0
        library_output = net(x)
    finally:
        small_maps.SMALL_MAP = 8
    assert torch.allclose(small_maps_output, library_output, atol=1e-5)
