"""A pix2pix model started from another one (`init_from`): hint inputs added to a plain model,
batch norm converted to instance-affine."""

import pytest
import torch

from engine.errors import UserError
from engine.inference.loader import load_predictor
from engine.store.checkpoints import read_weights
from engine.store.runs import RunStore
from engine.training.loop import TrainSettings, train
from support.tiny import TINY_PIX2PIX


def test_hint_generator_starts_from_a_plain_model_and_ignores_no_hints(aligned_dataset, tmp_path):
    plain = train(
        "pix2pix", TrainSettings(data=str(aligned_dataset), max_steps=2, batch_size=2), TINY_PIX2PIX
    )
    config = {**TINY_PIX2PIX, "hints": True, "init_from": plain, "drawing_aug": True, "mode": "l1"}
    hinted = train("pix2pix", TrainSettings(data=str(aligned_dataset), max_steps=1, batch_size=2), config)
    nets, meta = read_weights(RunStore().latest_checkpoint(hinted))
    assert meta["config"]["hints"] and nets["G"]["encoders.0.0.weight"].shape[1] == 7

    # a hint model made from a plain one, before training: equal outputs, hints or not
    from engine.tasks.pix2pix import Pix2Pix, Pix2PixConfig

    task = Pix2Pix(Pix2PixConfig(**config), torch.device("cpu"), None)
    old = load_predictor(plain)
    task.nets["G"].eval()
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        out = task.nets["G"](torch.cat([x, torch.rand(2, 4, 32, 32)], 1))
    assert torch.allclose(out, old.translate_tensor(x), atol=1e-3)

    predictor = load_predictor(hinted)
    assert predictor.takes_hints
    zeros = torch.zeros(2, 4, 32, 32)
    assert torch.equal(predictor.translate_tensor(x), predictor.translate_tensor(x, zeros))
    dab = zeros.clone()
    dab[:, :3, 10:20, 10:20], dab[:, 3, 10:20, 10:20] = 1.0, 1.0
    assert predictor.translate_tensor(x, dab).shape == (2, 3, 32, 32)
    with pytest.raises(ValueError, match="colour hints"):
        old.translate_tensor(x, zeros)


def test_instance_affine_model_starts_from_a_batch_norm_model(aligned_dataset):
    """The bundled default was converted so: batch-norm scale and shift carry over, running
    statistics are dropped, and eval mode normalises each image by its own statistics."""
    from engine.tasks.pix2pix import Pix2Pix, Pix2PixConfig

    plain = train(
        "pix2pix", TrainSettings(data=str(aligned_dataset), max_steps=2, batch_size=2), TINY_PIX2PIX
    )
    config = Pix2PixConfig(**{**TINY_PIX2PIX, "norm": "instance-affine", "init_from": plain})
    task = Pix2Pix(config, torch.device("cpu"), None)
    saved, _ = read_weights(RunStore().latest_checkpoint(plain))
    own = task.nets["G"].state_dict()
    assert not any("running_mean" in k for k in own)
    shared = [k for k in saved["G"] if k in own]
    assert len(shared) == len(own) and all(torch.equal(own[k], saved["G"][k].float()) for k in shared)
    net = task.nets["G"].eval()
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        together, alone = net(x), net(x[:1])
    assert torch.allclose(together[:1], alone, atol=1e-5)  # no batch statistics at inference


def test_a_start_built_another_way_is_one_line_naming_what_to_match(aligned_dataset):
    from engine.tasks.pix2pix import Pix2Pix, Pix2PixConfig

    plain = train(
        "pix2pix", TrainSettings(data=str(aligned_dataset), max_steps=1, batch_size=2), TINY_PIX2PIX
    )
    for other in ({"crop_size": 16, "load_size": 18}, {"ngf": 4}):  # a U-Net one level shallower; narrower
        config = Pix2PixConfig(**{**TINY_PIX2PIX, **other, "init_from": plain})
        with pytest.raises(UserError, match=r"--init-from .* build the network as that model was trained"):
            Pix2Pix(config, torch.device("cpu"), None)
