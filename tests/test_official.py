import pytest
import torch
from torch import nn

from engine.models.official import convert_official_unet, load_official_generator
from engine.models.unet import UNetGenerator
from support.official_unet import UnetGenerator


def randomise(net: nn.Module) -> nn.Module:
    """Random weights and running stats, so a wrong mapping cannot pass by accident."""
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, t in net.state_dict().items():
            if t.is_floating_point():
                t.copy_(
                    torch.rand(t.shape, generator=g) * (0.5 if "var" not in name else 1)
                    + 0.1 * ("var" in name)
                )
    return net


@pytest.mark.parametrize("norm_layer, num_downs", [(nn.BatchNorm2d, 8), (nn.InstanceNorm2d, 7)])
def test_official_unet_keys_convert_and_give_the_same_output(norm_layer, num_downs):
    official = randomise(
        UnetGenerator(3, 3, num_downs, ngf=8, norm_layer=norm_layer, use_dropout=True)
    ).eval()
    state = official.state_dict()
    assert "model.model.0.weight" in state and "model.model.1.model.3.model.1.weight" in state
    converted, kwargs = convert_official_unet(state)
    assert kwargs["depth"] == num_downs and kwargs["ngf"] == 8
    assert kwargs["norm"] == ("batch" if norm_layer is nn.BatchNorm2d else "instance")
    ours = UNetGenerator(**kwargs).eval()
    ours.load_state_dict(converted)  # strict: every key maps, none is missing
    x = torch.randn(2, 3, 2**num_downs, 2**num_downs)
    torch.testing.assert_close(ours(x), official(x))


def test_load_official_pth_file(tmp_path):
    official = randomise(UnetGenerator(3, 3, 8, ngf=8)).eval()
    path = tmp_path / "latest_net_G.pth"
    torch.save(official.state_dict(), path)
    net = load_official_generator(path).eval()
    x = torch.randn(1, 3, 256, 256)
    torch.testing.assert_close(net(x), official(x))


def test_unexpected_keys_are_refused():
    state = UnetGenerator(3, 3, 8, ngf=8).state_dict()
    state["model.model.9.weight"] = torch.zeros(1)
    with pytest.raises(ValueError, match="unexpected key"):
        convert_official_unet(state)
