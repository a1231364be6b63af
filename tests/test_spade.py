"""SPADE layers for issue 12: shapes, and that the label map (not just the activations) steers
the output."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from engine.models.spade import SPADE, SPADEGenerator, SPADEResBlock


def one_hot_map(seed: int, classes: int = 5, size: int = 16) -> torch.Tensor:
    labels = torch.randint(0, classes, (1, size, size), generator=torch.Generator().manual_seed(seed))
    return F.one_hot(labels, classes).permute(0, 3, 1, 2).float()


def test_spade_keeps_the_shape_and_follows_the_map():
    torch.manual_seed(0)
    layer = SPADE(8, 5)
    x = torch.randn(1, 8, 8, 8)
    a, b = one_hot_map(1), one_hot_map(2)
    assert layer(x, a).shape == x.shape
    torch.testing.assert_close(layer(x, a), layer(x, a))
    assert not torch.allclose(layer(x, a), layer(x, b))  # another layout, another modulation
    gamma, beta = layer.modulation(a, (8, 8))
    assert gamma.shape == beta.shape == (1, 8, 8, 8)
    with torch.no_grad():  # zero gamma and beta: plain instance norm is left
        for conv in (layer.mlp_gamma, layer.mlp_beta):
            conv.weight.zero_(), conv.bias.zero_()
    torch.testing.assert_close(layer(x, a), F.instance_norm(x))


@pytest.mark.parametrize("fin, fout", [(8, 8), (8, 4)])
def test_spade_residual_block_widths(fin, fout):
    block = SPADEResBlock(fin, fout, 5)
    assert block.learned_shortcut == (fin != fout)
    assert block(torch.randn(2, fin, 8, 8), one_hot_map(0).repeat(2, 1, 1, 1)).shape == (2, fout, 8, 8)


def test_the_generator_draws_the_map_and_varies_with_the_style_code():
    torch.manual_seed(0)
    net = SPADEGenerator(5, ngf=2, size=64).eval()
    a, b = one_hot_map(1, size=64), one_hot_map(2, size=64)
    out = net(a)
    assert out.shape == (1, 3, 64, 64) and out.abs().max() <= 1
    assert not torch.allclose(out, net(b))
    styled = SPADEGenerator(5, ngf=2, size=64, z_dim=8).eval()
    z1, z2 = torch.randn(1, 8), torch.randn(1, 8)
    assert not torch.allclose(styled(a, z1), styled(a, z2))
    with pytest.raises(ValueError, match="divisible by 32"):
        SPADEGenerator(5, size=100)
