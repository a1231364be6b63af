import pytest
import torch
from torch import nn

from engine.models.patchgan import PatchGAN, patchgan_receptive_fields
from engine.models.unet import UNetGenerator, depth_for_size, unet_channels


def test_unet_layers_follow_the_problem_set():
    net = UNetGenerator(ngf=64, depth=8)
    enc_convs = [m for e in net.encoders for m in e if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in enc_convs] == [64, 128, 256, 512, 512, 512, 512, 512]
    assert all(c.kernel_size == (4, 4) and c.stride == (2, 2) and c.padding == (1, 1) for c in enc_convs)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in net.encoders[0])
    dec_convs = [m for d in net.decoders for m in d if isinstance(m, nn.ConvTranspose2d)]
    assert [c.out_channels for c in dec_convs] == [512, 512, 512, 512, 256, 128, 64]
    dropouts = [any(isinstance(m, nn.Dropout) for m in d) for d in net.decoders]
    assert dropouts == [True, True, True, False, False, False, False]
    assert isinstance(net.final[-1], nn.Tanh) and net.final[1].out_channels == 3
    assert any(isinstance(m, nn.LeakyReLU) and m.negative_slope == 0.2 for m in net.encoders[1])


def test_unet_output_shape_range_and_size():
    net = UNetGenerator(ngf=8, depth=5).eval()
    out = net(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, 3, 32, 32)
    assert out.abs().max() <= 1.0
    lite = UNetGenerator(ngf=32, depth=8)
    assert 13.0e6 < sum(p.numel() for p in lite.parameters()) < 14.0e6


def test_unet_without_skips_is_an_encoder_decoder_through_the_bottleneck():
    torch.manual_seed(0)
    plain = UNetGenerator(ngf=8, depth=5, skips=False).eval()
    assert plain(torch.randn(2, 3, 32, 32)).shape == (2, 3, 32, 32)
    with_skips = UNetGenerator(ngf=8, depth=5).eval()
    assert sum(p.numel() for p in plain.parameters()) < sum(p.numel() for p in with_skips.parameters())
    # everything passes the 1x1 bottleneck: a pixel change moves the output only through it
    x = torch.randn(1, 3, 32, 32, requires_grad=True)
    plain.encoders[-1][-1].register_forward_hook(lambda m, i, out: out.detach())  # cut the bottleneck
    plain(x).sum().backward()
    assert x.grad is None or x.grad.abs().sum() == 0
    x = torch.randn(1, 3, 32, 32, requires_grad=True)
    with_skips.encoders[-1][-1].register_forward_hook(lambda m, i, out: out.detach())
    with_skips(x).sum().backward()
    assert x.grad.abs().sum() > 0  # the skips still carry it


def test_depth_for_size_and_channels():
    assert depth_for_size(256) == 8 and depth_for_size(128) == 7 and depth_for_size(64) == 6
    assert unet_channels(5, 16) == [16, 32, 64, 128, 128]
    with pytest.raises(ValueError, match="power of two"):
        depth_for_size(200)


def test_patchgan_output_map_and_receptive_field():
    d = PatchGAN(6, 64, 3)
    out = d(torch.randn(1, 6, 256, 256))
    assert out.shape == (1, 1, 30, 30)
    rows = patchgan_receptive_fields(3, 256)
    assert [r.receptive_field for r in rows] == [4, 10, 22, 46, 70]
    assert [r.stride for r in rows] == [2, 2, 2, 1, 1]
    assert [r.out_size for r in rows] == [128, 64, 32, 31, 30]
    assert patchgan_receptive_fields(1)[-1].receptive_field == 16
    assert patchgan_receptive_fields(4)[-1].receptive_field == 142


def test_multiscale_patchgan_judges_each_scale_with_its_own_patchgan():
    from engine.models.patchgan import MultiScalePatchGAN, build_discriminator, scale_outputs

    d = MultiScalePatchGAN(2, 6, 8, 3, "instance")
    x = torch.randn(1, 6, 256, 256)
    maps = d(x)
    assert [m.shape for m in maps] == [(1, 1, 30, 30), (1, 1, 14, 14)]
    assert torch.equal(maps[0], d.scales[0](x))  # the finest scale sees the full picture
    assert len(scale_outputs(d, x)) == 2 and len(scale_outputs(d, x)[1]) == 5  # 4 activations + map
    single = build_discriminator(1, 6, 8, 3, "batch")
    assert isinstance(single, PatchGAN) and len(scale_outputs(single, x)) == 1


def test_perceptual_loss_is_zero_for_the_target_and_grows_with_the_difference():
    from engine.losses import PerceptualLoss
    from engine.models.vgg import load_vgg19

    loss = PerceptualLoss(load_vgg19())
    target = torch.rand(1, 3, 64, 64) * 2 - 1
    near, far = target + 0.05 * torch.randn_like(target), torch.rand_like(target) * 2 - 1
    assert loss(target, target).item() == pytest.approx(0.0, abs=1e-6)
    assert 0 < loss(near, target).item() < loss(far, target).item()


def test_feature_matching_is_zero_on_equal_features_and_trains_only_the_fake_side():
    from engine.losses import feature_matching_loss

    real = [torch.randn(2, 4, 8, 8), torch.randn(2, 8, 4, 4)]
    fake = [r.clone().requires_grad_(True) for r in real]
    assert feature_matching_loss(fake, real).item() == 0.0
    real_leaf = [r.clone().requires_grad_(True) for r in real]
    moved = [f + 0.5 for f in fake]
    loss = feature_matching_loss(moved, real_leaf)
    assert loss.item() == pytest.approx(0.5)  # mean over layers of the mean |difference|
    loss.backward()
    assert all(f.grad is not None for f in fake) and all(r.grad is None for r in real_leaf)
