import pytest
import torch
from torch import nn

from engine.models.official import convert_official_unet, load_official_generator
from engine.models.resnet import ResnetGenerator
from engine.models.unet import UNetGenerator
from support.official_resnet import OfficialResnetGenerator
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
    net, size = load_official_generator(path)
    net.eval()
    assert size == 256
    x = torch.randn(1, 3, 256, 256)
    torch.testing.assert_close(net(x), official(x))


def test_unexpected_keys_are_refused():
    state = UnetGenerator(3, 3, 8, ngf=8).state_dict()
    state["model.model.9.weight"] = torch.zeros(1)
    with pytest.raises(ValueError, match="unexpected key"):
        convert_official_unet(state)


@pytest.mark.parametrize(
    "norm_layer, n_blocks, dropout", [(nn.InstanceNorm2d, 9, False), (nn.BatchNorm2d, 6, True)]
)
def test_official_cyclegan_resnet_generators_load_as_they_are(tmp_path, norm_layer, n_blocks, dropout):
    official = randomise(OfficialResnetGenerator(3, 3, 8, norm_layer, dropout, n_blocks)).eval()
    path = tmp_path / "latest_net_G_A.pth"
    torch.save(official.state_dict(), path)
    net, size = load_official_generator(path)
    net.eval()
    assert isinstance(net, ResnetGenerator) and size == 256 and len(net.model) == len(official.model)
    x = torch.randn(1, 3, 64, 96)  # any multiple of 4
    torch.testing.assert_close(net(x), official(x))


def test_a_resnet_file_from_old_pytorch_with_instance_norm_statistics_loads(tmp_path):
    official = randomise(OfficialResnetGenerator(3, 3, 8, nn.InstanceNorm2d, n_blocks=6)).eval()
    state = official.state_dict()
    state["model.2.running_mean"] = torch.zeros(8)  # what PyTorch < 0.4 saved for InstanceNorm2d
    state["model.2.running_var"] = torch.ones(8)
    torch.save(state, tmp_path / "horse2zebra_pretrained.pth")
    net, _ = load_official_generator(tmp_path / "horse2zebra_pretrained.pth")
    x = torch.randn(1, 3, 32, 32)
    torch.testing.assert_close(net.eval()(x), official(x))


def test_a_served_official_resnet_translates_through_the_predictor(tmp_path):
    from PIL import Image

    from engine.inference.loader import load_predictor

    path = tmp_path / "latest_net_G_B.pth"
    torch.save(OfficialResnetGenerator(3, 3, 8, nn.InstanceNorm2d, n_blocks=2).state_dict(), path)
    out = load_predictor(str(path))(Image.new("RGB", (300, 200), "white"))
    assert out.size == (256, 256)


def test_four_downsamplings_make_pix2pixhds_global_generator_and_load_back(tmp_path):
    net = randomise(ResnetGenerator(13, 3, 4, n_blocks=3, downsamplings=4)).eval()
    assert net(torch.randn(1, 13, 64, 64)).shape == (1, 3, 64, 64)
    torch.save(net.state_dict(), tmp_path / "latest_net_G.pth")
    loaded, _ = load_official_generator(tmp_path / "latest_net_G.pth")
    assert sum(isinstance(m, torch.nn.ConvTranspose2d) for m in loaded.modules()) == 4
    x = torch.randn(1, 13, 32, 32)
    torch.testing.assert_close(loaded.eval()(x), net(x))
