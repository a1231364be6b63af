"""BicycleGAN: one drawing, many looks. The latent path (seeds, reference photos), the CLI's
--seed/--variations/--reference, and a start from a trained pix2pix that changes nothing."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from engine.cli import main
from engine.errors import UserError
from engine.inference.loader import load_predictor
from engine.pipelines.sketch import Look, SketchPipeline
from engine.store.runs import RunStore
from engine.training.loop import TrainSettings, train
from support.tiny import TINY_PIX2PIX

TINY_BICYCLE = {"ngf": 8, "ndf": 8, "nef": 8, "n_layers": 2, "load_size": 36, "crop_size": 32, "nz": 4}


@pytest.fixture
def bicycle_run(aligned_dataset) -> str:
    settings = TrainSettings(data=str(aligned_dataset), max_steps=3, batch_size=2, sample_size=2)
    return train("bicyclegan", settings, {**TINY_BICYCLE, "lambda_ms": 1.0})


def drawing() -> Image.Image:
    canvas = Image.new("RGB", (128, 128), "white")
    ImageDraw.Draw(canvas).polygon(
        [(10, 90), (10, 40), (60, 30), (118, 80), (118, 90)], outline="black", width=2
    )
    return canvas


def test_training_logs_every_loss_and_serves_generator_and_encoder(bicycle_run):
    store = RunStore()
    logged = {name for _, name, _ in store.metrics(bicycle_run)}
    assert {"G_GAN", "G_GAN2", "G_L1", "KL", "z_L1", "G_MS", "D"} <= logged
    assert all(np.isfinite(v) for _, _, v in store.metrics(bicycle_run))
    predictor = load_predictor(bicycle_run)
    assert predictor.nz == 4 and predictor.encoder is not None


def test_a_seed_is_one_look_and_different_seeds_differ(bicycle_run):
    pipeline = SketchPipeline.load(bicycle_run)
    assert pipeline.multimodal
    first = np.asarray(pipeline(drawing(), look=Look(seed=3)).photo)
    again = np.asarray(pipeline(drawing(), look=Look(seed=3)).photo)
    other = np.asarray(pipeline(drawing(), look=Look(seed=4)).photo)
    assert np.array_equal(first, again) and not np.array_equal(first, other)
    looks = pipeline.looks(pipeline.prepare(drawing()), [3, 4])
    assert np.array_equal(np.asarray(looks[0]), first) and np.array_equal(np.asarray(looks[1]), other)


def test_a_reference_photo_is_encoded_into_one_code(bicycle_run):
    pipeline = SketchPipeline.load(bicycle_run)
    photo = Image.new("RGB", (90, 60), (200, 30, 30))
    code = pipeline.code(Look(reference=photo))
    assert code.shape == (1, 4) and torch.isfinite(code).all()
    assert pipeline(drawing(), look=Look(reference=photo)).photo.size == (32, 32)
    assert pipeline.code(Look()) is None  # the typical look: the zero code


def test_cli_writes_k_looks_a_seed_and_a_reference(bicycle_run, tmp_path):
    sketch, photo = tmp_path / "shoe.png", tmp_path / "red.jpg"
    drawing().save(sketch)
    Image.new("RGB", (90, 60), (200, 30, 30)).save(photo)
    out = tmp_path / "looks"
    assert (
        main(["translate", "--model", bicycle_run, str(sketch), str(out), "--sketch", "--variations", "3"])
        == 0
    )
    assert sorted(p.name for p in out.iterdir()) == ["shoe_0.png", "shoe_1.png", "shoe_2.png"]
    seeded = tmp_path / "seed1.png"
    assert (
        main(["translate", "--model", bicycle_run, str(sketch), str(seeded), "--sketch", "--seed", "1"]) == 0
    )
    assert np.array_equal(np.asarray(Image.open(seeded)), np.asarray(Image.open(out / "shoe_1.png")))
    referenced = tmp_path / "ref.png"
    args = [
        "translate",
        "--model",
        bicycle_run,
        str(sketch),
        str(referenced),
        "--sketch",
        "--reference",
        str(photo),
    ]
    assert main(args) == 0 and referenced.exists()


def test_a_one_look_model_refuses_seeds_in_one_line(tiny_run, tmp_path, capsys):
    sketch = tmp_path / "shoe.png"
    drawing().save(sketch)
    assert main(["translate", "--model", tiny_run, str(sketch), str(tmp_path / "o.png"), "--seed", "2"]) == 1
    assert "draws one look per input" in capsys.readouterr().err
    answer = SketchPipeline.load(tiny_run)(drawing(), look=Look(seed=2))
    assert "one look per drawing" in answer.note


def test_starting_from_a_pix2pix_model_keeps_it_as_the_typical_look(aligned_dataset, tmp_path):
    from engine.runtime.precision import Precision
    from engine.tasks.bicyclegan import BicycleGAN, BicycleGANConfig

    base = train("pix2pix", TrainSettings(data=str(aligned_dataset), max_steps=1, batch_size=2), TINY_PIX2PIX)
    config = BicycleGANConfig(
        **{**TINY_BICYCLE, "hints": False, "norm": "batch", "dropout": True}, init_from=base
    )
    task = BicycleGAN(config, torch.device("cpu"), Precision(torch.device("cpu"), "fp32"))
    generator = task.nets["G"].eval()
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    expected = load_predictor(base, precision="fp32").translate_tensor(x)
    batch = {"A": x, "B": x}
    with torch.no_grad():
        typical = generator(task.conditioned(batch), torch.zeros(2, 4))
        other = generator(
            task.conditioned(batch), torch.randn(2, 4, generator=torch.Generator().manual_seed(0))
        )
    torch.testing.assert_close(typical, expected, atol=1e-5, rtol=0)  # the zero code: the pix2pix model
    assert 0 < (other - expected).abs().mean() < 0.1  # other codes: a little off it from the start


def test_a_code_size_out_of_range_is_refused(aligned_dataset):
    with pytest.raises(UserError):
        train("bicyclegan", TrainSettings(data=str(aligned_dataset), max_steps=1), {**TINY_BICYCLE, "nz": 0})


def test_every_look_is_scored_and_their_diversity_reported():
    from engine.inference.evaluate import Looks, evaluate_pairs

    items = [{"A": torch.zeros(3, 16, 16), "B": torch.zeros(3, 16, 16)} for _ in range(4)]

    def translate(a, hint=None, z=None):  # a model whose output is its code's mean
        return torch.zeros_like(a) + z.mean()

    def distance(x, y):
        return (x - y).abs().mean((1, 2, 3))

    looks = Looks([torch.full((1, 2), 0.0), torch.full((1, 2), 0.5), torch.full((1, 2), 1.0)], distance)
    scored = evaluate_pairs(translate, items, batch_size=2, with_fid=False, progress=False, looks=looks)
    assert scored["count"] == 12  # 4 inputs x 3 looks, every look scored
    assert scored["L1"] == pytest.approx(0.5)  # |0|, |0.5|, |1| against the zero target
    assert scored["diversity"] == pytest.approx((0.5 + 1.0 + 0.5) / 3)


def test_eval_of_a_multimodal_model_reports_diversity_and_reference_looks(
    bicycle_run, aligned_dataset, capsys
):
    args = ["eval", bicycle_run, "--data", str(aligned_dataset), "--no-fid", "--looks", "2", "--outlines"]
    assert main([*args, "--reference-looks"]) == 0
    out = capsys.readouterr().out
    assert out.count("diversity") == 3  # the clean row and the two outline rows (closed, left open)
    assert "(val reference look, AtoB)" in out
    stored = RunStore().evals(bicycle_run)
    assert "diversity" in {row[3] for row in stored}
    assert "val reference look" in {row[2] for row in stored}
