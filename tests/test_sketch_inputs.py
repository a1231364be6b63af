"""What a user's sketch brings besides its lines: colour strokes split off as hints, and hint
images given to the translate command."""

import numpy as np
from PIL import Image, ImageDraw

from engine.data.sketch import prepare_hints, prepare_sketch, split_colour_hints


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
