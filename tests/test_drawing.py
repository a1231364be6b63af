"""Drawings and colour hints made from a photo for training: strokes, outlines, dabs, the
augmented pairs, and the drawing-style evaluation set."""

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
from engine.store.runs import RunStore


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
