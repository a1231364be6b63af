"""Batch norm at test time: a translator trained at batch size 1 normalises each image by its own
statistics (what it saw in training, and what pix2pix's test.py computes) in held-out scores,
sample grids and inference alike, so drifting running averages cannot make them zig-zag."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import engine.metrics
from engine.inference.loader import load_predictor
from engine.runtime.precision import Precision
from engine.store.checkpoints import read_weights
from engine.store.models import resolve_model
from engine.tasks.pix2pix import Pix2Pix, Pix2PixConfig, build_generator
from engine.training.held_out import HeldOut
from engine.training.loop import TrainSettings, train
from support.tiny import TINY_PIX2PIX

BN = {**TINY_PIX2PIX, "norm": "batch", "dropout": True, "mode": "l1"}
CPU = torch.device("cpu")


def as_in_training_at_batch_1(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Each image alone through the net in train mode (its batch-norm statistics), dropout off."""
    net = copy.deepcopy(net).train()
    for module in net.modules():
        if isinstance(module, nn.Dropout):
            module.eval()
    with torch.no_grad():
        return torch.cat([net(image[None]) for image in x])


def drifted(net: nn.Module) -> nn.Module:
    """Running averages far from any image's statistics, as after a few noisy batch-1 steps."""
    for module in net.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.fill_(3.0)
            module.running_var.fill_(50.0)
    return net


class FakeInception:
    def __call__(self, images: torch.Tensor) -> np.ndarray:
        return images.float().mean((2, 3)).cpu().numpy()


def test_held_out_scores_and_grids_use_each_images_statistics(aligned_dataset: Path, tmp_path, monkeypatch):
    monkeypatch.setattr(engine.metrics, "InceptionFeatures", FakeInception)
    task = Pix2Pix(Pix2PixConfig(**BN), CPU, Precision(CPU, "fp32"))
    drifted(task.nets["G"])
    settings = TrainSettings(
        data=str(aligned_dataset), batch_size=1, sample_size=3, eval_every=1, eval_size=3
    )
    held_out = HeldOut(task, settings, tmp_path / "samples")
    batch = held_out.batch
    expected = as_in_training_at_batch_1(task.nets["G"], batch["A"])
    first, second = held_out.evaluate(), held_out.evaluate()
    assert first == second
    assert first["val_L1"] == pytest.approx((expected - batch["B"]).abs().mean().item(), abs=1e-5)
    task.set_train(False)
    torch.testing.assert_close(task.visuals(batch)["fake_B"], expected, atol=1e-5, rtol=0)
    task.set_train(True)
    assert task.nets["G"].training  # training itself is untouched
    held_out.save_samples(1)
    assert (tmp_path / "samples" / "step_00000001.png").is_file()


@pytest.mark.parametrize("batch_size", [1, 2])
def test_inference_normalises_as_the_model_was_trained(aligned_dataset: Path, batch_size: int):
    settings = TrainSettings(data=str(aligned_dataset), max_steps=2, batch_size=batch_size, precision="fp32")
    run = train("pix2pix", settings, BN)
    nets, meta = read_weights(resolve_model(run))
    generator = build_generator(Pix2PixConfig(**meta["config"]))
    generator.load_state_dict(nets["G"])
    x = torch.rand(3, 3, 32, 32) * 2 - 1
    served = load_predictor(run, precision="fp32").translate_tensor(x)
    if batch_size == 1:  # as in training: each image's own statistics (the running ones are noisy)
        expected = as_in_training_at_batch_1(generator, x)
    else:  # batches of several images: the running averages, as usual
        with torch.no_grad():
            expected = generator.eval()(x)
    torch.testing.assert_close(served, expected, atol=1e-5, rtol=0)
    one_by_one = torch.cat([load_predictor(run, precision="fp32").translate_tensor(i[None]) for i in x])
    torch.testing.assert_close(one_by_one, served, atol=1e-5, rtol=0)  # no image depends on another


def test_instance_norm_models_are_unchanged(aligned_dataset: Path):
    config = {**BN, "norm": "instance-affine"}
    run = train("pix2pix", TrainSettings(data=str(aligned_dataset), max_steps=1, batch_size=1), config)
    generator = load_predictor(run, precision="fp32").net
    assert not any(isinstance(m, nn.BatchNorm2d) for m in generator.modules())


def test_grid_captions_say_what_the_columns_are():
    from engine.training.held_out import grid_caption

    assert grid_caption(["real_A", "fake_B", "real_B"]) == "input | output | target"
    assert grid_caption(["real_A", "fake_B", "rec_A"], unpaired=True) == "A | A→B | A→B→A"
    assert grid_caption(["input", "reconstruction"]) == "input | reconstruction"
    assert grid_caption(["fake_B", "teacher_B"]) == "output | the teacher's answer"  # a distilled student
