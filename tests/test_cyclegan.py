"""CycleGAN: its losses by hand, the image pool, the three data layouts, exact resume, both
directions through the CLI and eval without pairs."""

from __future__ import annotations

import pytest
import torch
from PIL import Image
from torch import nn

from engine.data.unpaired import open_unpaired_dataset
from engine.errors import UserError
from engine.models.image_pool import ImagePool
from engine.runtime.precision import Precision
from engine.store.checkpoints import read_weights
from engine.store.runs import RunStore
from engine.tasks.cyclegan import CycleGAN, CycleGANConfig
from engine.training.loop import TrainSettings, train
from support.tiny import TINY_CYCLEGAN, write_unaligned_dataset

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def unaligned(tmp_path):
    return write_unaligned_dataset(tmp_path / "shapes2fills")


def settings(data, **kw) -> TrainSettings:
    base = dict(data=str(data), max_steps=4, batch_size=2, sample_size=2, sample_every=2, checkpoint_every=2)
    return TrainSettings(**{**base, **kw})


class ChannelMean(nn.Module):
    """A stand-in discriminator whose output is easy to compute by hand."""

    def forward(self, x):
        return x.mean(1, keepdim=True)


def test_generator_losses_match_a_hand_computation():
    task = CycleGAN(
        CycleGANConfig(**TINY_CYCLEGAN), torch.device("cpu"), Precision(torch.device("cpu"), "fp32")
    )
    task.nets["D_A"], task.nets["D_B"] = ChannelMean(), ChannelMean()
    g = torch.Generator().manual_seed(0)
    real_A, real_B = (torch.rand(2, 3, 4, 4, generator=g) * 2 - 1 for _ in range(2))
    out = {
        name: torch.rand(2, 3, 4, 4, generator=g) * 2 - 1
        for name in ("fake_A", "fake_B", "rec_A", "rec_B", "idt_A", "idt_B")
    }
    losses = task.generator_losses(real_A, real_B, out)
    expected = {
        "G_A": ((out["fake_B"].mean(1) - 1) ** 2).mean(),  # LSGAN: D_A judges G_A's B images
        "G_B": ((out["fake_A"].mean(1) - 1) ** 2).mean(),
        "cycle_A": (out["rec_A"] - real_A).abs().mean() * 10,
        "cycle_B": (out["rec_B"] - real_B).abs().mean() * 10,
        "idt_A": (out["idt_A"] - real_B).abs().mean() * 10 * 0.5,  # G_A(b) should stay b
        "idt_B": (out["idt_B"] - real_A).abs().mean() * 10 * 0.5,
    }
    for name, value in expected.items():
        torch.testing.assert_close(losses[name], value, msg=name)


def test_the_image_pool_returns_history_half_the_time_once_full():
    pool = ImagePool(2)
    first = torch.zeros(2, 3, 4, 4)
    assert torch.equal(pool.query(first), first) and len(pool.images) == 2  # filling: passed through
    g = torch.Generator().manual_seed(0)
    from_history = 0
    for i in range(1, 201):
        new = torch.full((1, 3, 4, 4), float(i))
        got = pool.query(new, g)
        assert got.shape == new.shape and len(pool.images) == 2
        from_history += int(got[0, 0, 0, 0] != i)
    assert 70 < from_history < 130  # about half
    assert torch.equal(ImagePool(0).query(first), first)


def test_the_three_data_layouts(unaligned, aligned_dataset, tmp_path):
    size = (36, 32)
    official = open_unpaired_dataset(str(unaligned), "train", *size, train=True)
    assert len(official) == 6 and official[(0, 1)]["A"].shape == (3, 32, 32)
    held_out = open_unpaired_dataset(str(unaligned), "val", *size, train=False)  # val falls back to test
    assert len(held_out) == 3
    folders = open_unpaired_dataset(
        str(unaligned / "trainA"), "train", *size, data_b=str(unaligned / "trainB")
    )
    assert len(folders.a) == 6 and len(folders.b) == 6
    split = open_unpaired_dataset(str(aligned_dataset), "train", *size, unpaired=True)
    assert len(split.a) == 4 and len(split.b) == 4  # A halves of even pairs, B halves of odd ones
    pairs = open_unpaired_dataset(str(aligned_dataset), "val", *size, train=False, unpaired=True)
    item = pairs[0]
    whole = Image.open(sorted((aligned_dataset / "val").iterdir())[0])
    assert item["A"].shape == (3, 32, 32) and whole.size == (64, 32)  # held out: true pairs
    halves = open_unpaired_dataset(
        str(aligned_dataset), "train", *size, data_b=str(aligned_dataset), half_a="B", half_b="A"
    )
    assert len(halves.a) == 8 and torch.equal(halves.a[1], split.b[0])  # B halves; split: odd pairs
    assert torch.equal(halves.b[2], split.a[1])  # A halves; split: even pairs
    with pytest.raises(UserError, match="no trainA/ and trainB/"):
        open_unpaired_dataset(str(aligned_dataset), "train", *size)


def test_a_run_logs_the_eight_losses_and_resumes_exactly(unaligned):
    run_settings = dict(lr_policy="constant", seed=3)
    straight = train("cyclegan", settings(unaligned, **run_settings), TINY_CYCLEGAN)
    first = train("cyclegan", settings(unaligned, max_steps=2, **run_settings), TINY_CYCLEGAN)
    train(resume=first, max_steps=4)
    store = RunStore()
    run = store.get(first)
    assert run.config["loss_names"] == ["D_A", "G_A", "cycle_A", "idt_A", "D_B", "G_B", "cycle_B", "idt_B"]
    for name in run.config["loss_names"]:
        assert [s for s, n, _ in store.metrics(first) if n == name] == [1, 2, 3, 4]
    a, _ = read_weights(store.latest_checkpoint(straight))
    b, _ = read_weights(store.latest_checkpoint(first))
    assert set(a) == {"G_A", "G_B", "D_A", "D_B"}
    for net in a:
        for key in a[net]:
            torch.testing.assert_close(a[net][key], b[net][key], rtol=0, atol=0, msg=f"{net}.{key}")
    grid = Image.open(store.samples(first)[-1][1])
    assert grid.width == 6 * 32 + 5 * 2  # real_A | fake_B | rec_A | real_B | fake_A | rec_B


def test_cycle_loss_falls(unaligned):
    run_id = train(
        "cyclegan", settings(unaligned, max_steps=30, sample_every=30, checkpoint_every=30), TINY_CYCLEGAN
    )
    cycle = [v for _, n, v in RunStore().metrics(run_id) if n == "cycle_A"]
    assert sum(cycle[-5:]) < sum(cycle[:5])


def test_both_directions_translate_and_eval_scores_without_pairs(unaligned, tmp_path):
    from engine.cli import main

    run_id = train("cyclegan", settings(unaligned, max_steps=2), TINY_CYCLEGAN)
    picture = unaligned / "testA" / "100.png"
    for direction in ("AtoB", "BtoA"):
        assert (
            main(
                [
                    "translate",
                    "--model",
                    run_id,
                    str(picture),
                    str(tmp_path / f"{direction}.png"),
                    "--direction",
                    direction,
                ]
            )
            == 0
        )
    a_to_b, b_to_a = (Image.open(tmp_path / f"{d}.png") for d in ("AtoB", "BtoA"))
    assert a_to_b.size == (32, 32) and a_to_b.tobytes() != b_to_a.tobytes()
    from engine.inference.evaluate import evaluate_model
    from engine.inference.loader import load_predictor

    scored = evaluate_model(load_predictor(run_id, direction="BtoA"), str(unaligned), "test")
    assert list(scored) == ["test BtoA unpaired"] and scored["test BtoA unpaired"]["count"] == 3
    assert {"FID", "KID"} <= set(scored["test BtoA unpaired"])


@pytest.mark.slow
def test_ddp_with_two_cpu_processes_and_bf16(unaligned, studio_home):
    import subprocess
    import sys
    from pathlib import Path

    torchrun = [str(Path(sys.executable).parent / "torchrun"), "--nproc_per_node", "2", "-m", "engine"]
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in TINY_CYCLEGAN.items()]
    result = subprocess.run(
        [*torchrun, "train", "cyclegan", "--data", str(unaligned), "--max-steps", "2", "--batch-size", "1"]
        + ["--precision", "bf16", *flags],
        capture_output=True, text=True, timeout=300, env={**__import__("os").environ, "STUDIO_HOME": str(studio_home)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    run = RunStore(studio_home).list()[0]
    assert run.status == "finished" and run.step == 2


def test_eval_on_aligned_pairs_scores_each_direction_against_true_targets(unaligned, aligned_dataset):
    from engine.inference.evaluate import evaluate_model
    from engine.inference.loader import load_predictor

    run_id = train("cyclegan", settings(unaligned, max_steps=1), TINY_CYCLEGAN)
    for direction in ("AtoB", "BtoA"):
        scored = evaluate_model(
            load_predictor(run_id, direction=direction), str(aligned_dataset), "val", with_fid=False
        )
        assert scored["val"]["count"] == 3 and 0 < scored["val"]["L1"] < 2
