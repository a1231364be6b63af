"""Bad data gives one clear error naming the file (or is skipped with a warning when asked):
aligned images that are not A|B pairs, datasets without train/, thin photos, tiny style images."""

from __future__ import annotations

import pytest
from PIL import Image

from engine.data.datasets import open_paired_dataset
from engine.data.edges import make_edges_dataset
from engine.errors import UserError
from engine.inference.evaluate import evaluate_model
from engine.inference.loader import load_predictor
from engine.pipelines.sketch import SketchPipeline
from engine.pipelines.translate import translate_paths
from engine.style.gatys import StyleConfig, stylize
from support.style import TINY_LAYERS
from support.tiny import TINY_PIX2PIX


@pytest.fixture
def with_bad_pairs(aligned_dataset):
    """The shapes dataset plus, in train/ and val/, a square image and a tiny A|B pair."""
    for split in ("train", "val"):
        Image.new("RGB", (64, 64), "white").save(aligned_dataset / split / "square.png")
        Image.new("RGB", (20, 10), "white").save(aligned_dataset / split / "tiny.png")
    return aligned_dataset


def open_train(data, skip_bad=False):
    size = TINY_PIX2PIX["load_size"], TINY_PIX2PIX["crop_size"]
    return open_paired_dataset(data, "train", "AtoB", *size, train=True, skip_bad=skip_bad)


def test_an_image_that_is_not_an_ab_pair_is_named(with_bad_pairs):
    with pytest.raises(UserError, match=r"square\.png: 64x64 px is not an A\|B pair.*--skip-bad-images"):
        open_train(with_bad_pairs)


def test_bad_pairs_are_skipped_with_a_warning_when_asked(with_bad_pairs):
    with pytest.warns(UserWarning) as caught:
        dataset = open_train(with_bad_pairs, skip_bad=True)
    assert len(dataset) == 8  # the eight good pairs
    messages = " ".join(str(w.message) for w in caught)
    assert "square.png" in messages and "tiny.png: 20x10 px is too small" in messages


def test_eval_and_translate_skip_bad_pairs_when_asked(tiny_run, with_bad_pairs, tmp_path):
    predictor = load_predictor(tiny_run)
    with pytest.raises(UserError, match="square.png"):
        evaluate_model(predictor, str(with_bad_pairs), with_fid=False)
    with pytest.warns(UserWarning):
        scored = evaluate_model(predictor, str(with_bad_pairs), with_fid=False, skip_bad=True)
    assert scored["val"]["count"] == 3
    with pytest.raises(UserError, match="square.png"):
        translate_paths(
            SketchPipeline(predictor), with_bad_pairs / "val", tmp_path / "out", "AtoB", progress=False
        )
    with pytest.warns(UserWarning):
        written = translate_paths(
            SketchPipeline(predictor),
            with_bad_pairs / "val",
            tmp_path / "out2",
            "AtoB",
            progress=False,
            skip_bad=True,
        )
    assert sorted(p.name for p in written) == ["100_AB.png", "101_AB.png", "102_AB.png"]
    assert sorted(p.name for p in (tmp_path / "out2").iterdir()) == ["100_AB.png", "101_AB.png", "102_AB.png"]


def test_a_dataset_without_train_says_so(aligned_dataset):
    (aligned_dataset / "train").rename(aligned_dataset / "training")
    with pytest.raises(UserError, match=r"has no train/ folder \(it has val/\)"):
        open_train(aligned_dataset)


def test_make_edges_names_and_skips_a_thin_photo(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(3):
        Image.new("RGB", (40, 30), (40 * i, 90, 140)).save(photos / f"p{i}.png")
    Image.new("RGB", (4000, 2), "red").save(photos / "strip.png")
    with pytest.warns(UserWarning, match="strip.png.*too thin"):
        counts = make_edges_dataset(photos, tmp_path / "out", "xdog", 32, 0.0, progress=False)
    assert counts["train"] == 3 and counts["skipped"] == 1
    assert len(list((tmp_path / "out" / "train").iterdir())) == 3


@pytest.mark.parametrize(
    "content, style, size, expected",
    [((4000, 10), (64, 64), 64, "content image \\(4000x10 px\\)"), ((64, 64), (900, 3), 64, "style image")],
)
def test_gatys_refuses_images_too_thin_for_vgg(tiny_vgg, content, style, size, expected):
    config = StyleConfig(size=size, steps=1, levels=1, weights=tiny_vgg, precision="fp32", **TINY_LAYERS)
    with pytest.raises(UserError, match=expected + ".*too small or too thin"):
        stylize(Image.new("RGB", content, "red"), Image.new("RGB", style, "blue"), config)


def test_gatys_upscales_a_tiny_content_image(tiny_vgg):
    config = StyleConfig(size=32, steps=1, levels=1, weights=tiny_vgg, precision="fp32", **TINY_LAYERS)
    assert stylize(Image.new("RGB", (5, 5), "red"), Image.new("RGB", (40, 40), "blue"), config).size == (
        32,
        32,
    )


def test_eval_from_the_command_line_honours_skip_bad_images(tiny_run, with_bad_pairs, capsys):
    from engine.cli import main

    base = ["eval", tiny_run, "--data", str(with_bad_pairs), "--no-fid"]
    assert main(base) == 1 and "square.png" in capsys.readouterr().err
    with pytest.warns(UserWarning, match="square.png"):
        assert main([*base, "--skip-bad-images"]) == 0
    assert "count    3.0000" in capsys.readouterr().out
