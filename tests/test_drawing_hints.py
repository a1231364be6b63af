"""Drawing augmentation, colour hints and eval-during-training for the sketch -> shoe model."""

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from engine.data.datasets import open_paired_dataset
from engine.data.drawing import (
    PairAugment,
    hints_from_rgba,
    make_drawing,
    outline,
    sample_hints,
    shoe_mask,
)
from engine.data.sketch import prepare_hints, prepare_sketch, split_colour_hints
from engine.errors import UserError
from engine.inference.loader import export_model, load_predictor
from engine.store.checkpoints import read_weights
from engine.store.runs import RunStore
from engine.training.loop import TrainSettings, train
from support.tiny import TINY_PIX2PIX


def photo_and_edges(size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """A red ellipse on white (the 'shoe') with an interior line, and its edge map."""
    photo = Image.new("RGB", (size, size), "white")
    ImageDraw.Draw(photo).ellipse((8, 16, size - 8, size - 16), fill=(200, 30, 30))
    edges = Image.new("L", (size, size), 255)
    draw = ImageDraw.Draw(edges)
    draw.ellipse((8, 16, size - 8, size - 16), outline=0)
    draw.line((20, size // 2, size - 20, size // 2), fill=0)
    return np.asarray(photo), np.asarray(edges) < 128


def test_drawing_is_deterministic_under_a_seed_and_varies_between_seeds():
    photo, edges = photo_and_edges()
    first = make_drawing(edges, photo, np.random.default_rng(5))
    again = make_drawing(edges, photo, np.random.default_rng(5))
    assert first.dtype == bool and first.shape == edges.shape
    assert np.array_equal(first, again)
    others = [make_drawing(edges, photo, np.random.default_rng(s)) for s in range(6)]
    assert len({o.tobytes() for o in others}) > 3
    assert any(o.sum() > edges.sum() * 2 for o in others)  # some strokes come out thicker


def test_outline_only_keeps_the_silhouette_and_drops_interior_lines():
    photo, _ = photo_and_edges()
    mask = shoe_mask(photo)
    ring = outline(mask)
    assert mask[32, 32] and not mask[2, 2]
    assert ring.any() and not ring[32, 32]  # the interior line at the centre is gone
    assert ring.sum() < mask.sum() / 3


def test_hints_sample_the_photo_colours_and_are_often_empty():
    photo, _ = photo_and_edges()
    hints = sample_hints(photo, np.random.default_rng(0), count=12)
    mask = hints[..., 3] > 0
    assert hints.shape == (64, 64, 4) and mask.any()
    # dabs sit on the red object: their colour is close to red in [-1, 1]
    assert np.allclose(
        hints[mask, :3].mean(axis=0), [200 / 127.5 - 1, 30 / 127.5 - 1, 30 / 127.5 - 1], atol=0.25
    )
    assert not hints[~mask].any()
    empty = sum(not sample_hints(photo, np.random.default_rng(s))[..., 3].any() for s in range(60))
    assert 8 <= empty <= 40  # "often zero": about a third of the time


def test_rgba_hints_need_alpha_and_mark_only_opaque_pixels():
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[2, 3] = (255, 0, 0, 255)
    hints = hints_from_rgba(rgba)
    assert hints[2, 3].tolist() == [1.0, -1.0, -1.0, 1.0]
    assert hints[..., 3].sum() == 1
    with pytest.raises(ValueError, match="alpha"):
        hints_from_rgba(rgba[..., :3])


def test_augmented_items_repeat_for_a_resumed_sampler_seed(aligned_dataset):
    augment = PairAugment("replace", hints=True)
    data = open_paired_dataset(aligned_dataset, "train", "AtoB", 36, 32, True, augment=augment)
    a, b = data[(3, 1234)], data[(3, 1234)]
    assert torch.equal(a["A"], b["A"]) and torch.equal(a["hint"], b["hint"])
    assert a["hint"].shape == (4, 32, 32)
    held_out = open_paired_dataset(
        aligned_dataset, "val", "AtoB", 32, 32, False, augment=PairAugment("extra")
    )
    item = held_out[0]
    assert item["A_drawn"].shape == item["A"].shape and torch.equal(held_out[0]["A_drawn"], item["A_drawn"])


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


@pytest.mark.slow
def test_eval_during_training_records_metrics_and_exports_the_best(aligned_dataset, tmp_path):
    config = {**TINY_PIX2PIX, "hints": True, "drawing_aug": True}
    settings = TrainSettings(
        data=str(aligned_dataset), max_steps=4, batch_size=2, eval_every=2, eval_size=3, sample_every=2
    )
    run_id = train("pix2pix", settings, config)
    store = RunStore()
    rows = [(step, name) for step, name, _ in store.metrics(run_id) if name.startswith("val_")]
    for step in (2, 4):
        for name in ("val_L1", "val_SSIM", "val_FID", "val_KID", "val_drawn_KID", "val_hints_L1"):
            assert (step, name) in rows
    kid = {step: v for step, n, v in store.metrics(run_id) if n == "val_KID"}
    best = store.runs_dir / run_id / "checkpoints" / "best.safetensors"
    _, meta = read_weights(best)
    assert meta["scores"]["val_KID"] == pytest.approx(min(kid.values()))
    assert meta["step"] == min(kid, key=kid.get)
    out = export_model(run_id, tmp_path / "best.safetensors", best=True)
    nets, exported = read_weights(out)
    assert list(nets) == ["G"] and exported["step"] == meta["step"]
    assert any(kind == "best" for _, kind, _ in store.events(run_id))


def test_export_best_needs_evaluations(tiny_run, tmp_path):
    with pytest.raises(UserError, match="--eval-every"):
        export_model(tiny_run, tmp_path / "x.safetensors", best=True)


def test_colour_strokes_split_from_ink_and_follow_the_fitted_sketch():
    drawing = Image.new("RGB", (200, 100), "white")
    draw = ImageDraw.Draw(drawing)
    draw.rectangle((50, 20, 150, 80), outline="black", width=2)
    draw.line((60, 50, 140, 50), fill=(30, 90, 200), width=6)
    lines, hints = split_colour_hints(drawing)
    assert hints is not None and hints.mode == "RGBA"
    assert np.asarray(hints)[50, 100].tolist() == [30, 90, 200, 255]
    assert np.asarray(lines)[50, 100].tolist() == [255, 255, 255]
    edges = prepare_sketch(lines, 64)
    fitted = np.asarray(prepare_hints(hints, lines, 64))
    assert fitted.shape == (64, 64, 4)
    rows = np.nonzero(fitted[..., 3])[0]
    assert 24 <= rows.mean() <= 40  # the dab stays in the middle of the fitted box
    assert np.asarray(edges).min() == 0
    assert split_colour_hints(lines)[1] is None


@pytest.fixture
def hint_run(aligned_dataset) -> str:
    config = {**TINY_PIX2PIX, "hints": True, "mode": "l1"}
    return train("pix2pix", TrainSettings(data=str(aligned_dataset), max_steps=1, batch_size=2), config)


def test_translate_cli_takes_a_hint_image_or_a_folder_of_them(hint_run, aligned_dataset, tmp_path, capsys):
    from engine.cli import main

    inputs = tmp_path / "in"
    inputs.mkdir()
    for name in ("a", "b"):
        Image.new("RGB", (32, 32), "white").save(inputs / f"{name}.png")
    hints = tmp_path / "hints"
    hints.mkdir()
    dab = Image.new("RGBA", (32, 32), (0, 0, 0, 0))
    ImageDraw.Draw(dab).ellipse((8, 8, 20, 20), fill=(0, 0, 255, 255))
    dab.save(hints / "a.png")
    out = tmp_path / "out"
    assert main(["translate", "--model", hint_run, str(inputs), str(out), "--hints", str(hints)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.png"]
    plain = tmp_path / "plain.png"
    assert main(["translate", "--model", hint_run, str(inputs / "a.png"), str(plain)]) == 0
    hinted = tmp_path / "hinted.png"
    assert (
        main(
            [
                "translate",
                "--model",
                hint_run,
                str(inputs / "a.png"),
                str(hinted),
                "--hints",
                str(hints / "a.png"),
            ]
        )
        == 0
    )
    assert not np.array_equal(np.asarray(Image.open(plain)), np.asarray(Image.open(hinted)))
    assert np.array_equal(np.asarray(Image.open(plain)), np.asarray(Image.open(out / "b.png")))
    # a model without hint inputs refuses them with one line
    assert (
        main(
            [
                "translate",
                "--model",
                "default-l1",
                str(inputs / "a.png"),
                str(plain),
                "--hints",
                str(hints / "a.png"),
            ]
        )
        == 1
    )
    assert "not trained with colour hints" in capsys.readouterr().err


def test_drawing_set_command_and_eval_on_clean_and_drawing_style(hint_run, aligned_dataset, tmp_path, capsys):
    from engine.cli import main

    out = tmp_path / "drawn"
    assert main(["data", "make-drawings", str(aligned_dataset), str(out), "--size", "32"]) == 0
    first = sorted(p.read_bytes() for p in (out / "val").iterdir())
    assert len(first) == 3
    assert main(["data", "make-drawings", str(aligned_dataset), str(out), "--size", "32"]) == 0
    assert sorted(p.read_bytes() for p in (out / "val").iterdir()) == first  # a fixed set
    capsys.readouterr()
    args = ["eval", hint_run, "--data", str(aligned_dataset), "--no-fid", "--drawing-style", "--hints", "2"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "(val +2 hints, AtoB)" in printed and "(val drawing-style +2 hints, AtoB)" in printed
    splits = {row[2] for row in RunStore().evals(hint_run)}
    assert {"val +2 hints", "val drawing-style +2 hints"} <= splits


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
