"""A narrower U-Net cut out of a trained one (the start of a distilled student)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from engine.models.unet import UNetGenerator, unet_channels
from engine.models.unet_pruning import channel_scores, pruned_unet


def teacher_net(ngf: int = 8, depth: int = 5, seed: int = 0) -> UNetGenerator:
    """A U-Net with random weights and random norm scales and shifts (fresh ones are 1 and 0)."""
    torch.manual_seed(seed)
    net = UNetGenerator(7, 3, ngf, depth, "instance-affine", dropout=True)
    for module in net.modules():
        if isinstance(module, nn.InstanceNorm2d):
            nn.init.uniform_(module.weight, 0.5, 1.5)
            nn.init.normal_(module.bias, 0.0, 0.3)
    return net.eval()


def conv_of(block: nn.Sequential) -> nn.Module:
    return next(m for m in block if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)))


def norm_of(block: nn.Sequential) -> nn.Module | None:
    return next((m for m in block if isinstance(m, nn.InstanceNorm2d)), None)


def silence(block: nn.Sequential, channels: list[int]) -> None:
    """Make `channels` of a block's output exactly zero: their norm's scale and shift, or (no
    norm) their filters."""
    norm, conv = norm_of(block), conv_of(block)
    with torch.no_grad():
        if norm is not None:
            norm.weight[channels] = 0
            norm.bias[channels] = 0
        elif isinstance(conv, nn.ConvTranspose2d):
            conv.weight[:, channels] = 0
        else:
            conv.weight[channels] = 0


def test_at_the_teachers_width_the_cut_computes_what_the_teacher_computes():
    teacher = teacher_net()
    student = pruned_unet(teacher, 8).eval()
    x = torch.randn(2, 7, 32, 32)
    with torch.no_grad():
        assert torch.equal(student(x), teacher(x))
    assert not any(isinstance(m, nn.Dropout) for m in student.modules())


@pytest.mark.parametrize("norm", ["instance", "none"])
def test_a_teacher_without_affine_norms_is_cut_into_a_student_with_its_norm(norm):
    torch.manual_seed(1)
    teacher = UNetGenerator(3, 3, 8, 5, norm, dropout=False).eval()
    student = pruned_unet(teacher, 8).eval()
    kinds = {type(m).__name__ for m in student.modules() if isinstance(m, nn.modules.batchnorm._NormBase)}
    assert kinds == ({"InstanceNorm2d"} if norm == "instance" else set())
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(student(x), teacher(x), atol=1e-6)


def test_channels_that_carry_nothing_are_the_ones_cut_and_the_answer_stays_the_same():
    teacher, depth = teacher_net(), 5
    half = unet_channels(depth, 4)  # the student's widths; the teacher's are twice these
    dead_enc = []
    for i, block in enumerate(teacher.encoders):  # every other channel of the teacher, silenced
        dead_enc.append(list(range(1, 2 * half[i], 2)))
        silence(block, dead_enc[-1])
    for j, block in enumerate(teacher.decoders):
        silence(block, list(range(0, 2 * half[depth - 2 - j], 2)))
    student = pruned_unet(teacher, 4).eval()
    scores, _ = channel_scores(teacher)
    assert all(float(score[dead].abs().sum()) == 0 for score, dead in zip(scores, dead_enc))
    assert [conv_of(b).weight.shape[0] for b in student.encoders] == half
    x = torch.randn(2, 7, 32, 32)
    with torch.no_grad():
        assert torch.allclose(student(x), teacher(x), atol=1e-5)
        live = teacher_net()  # cut where every channel carries something: the answer changes
        assert (pruned_unet(live, 4).eval()(x) - live(x)).abs().mean() > 1e-2


def test_a_cut_wider_than_the_teacher_or_of_a_code_modulated_unet_is_refused():
    with pytest.raises(ValueError, match="at most 8"):
        pruned_unet(teacher_net(), 16)
    looks = UNetGenerator(3, 3, 8, 5, "instance-affine", nz=4)
    with pytest.raises(ValueError, match="latent-code"):
        pruned_unet(looks, 4)
