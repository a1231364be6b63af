"""One sketch pipeline: every input mode of the sketch tab gives the pixels the CLI gives for the
same files, hints move with the drawing's strokes, and hint images need transparency."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw
from scipy.ndimage import binary_fill_holes

from engine.cli import main
from engine.data.images import image_to_tensor, load_image
from engine.data.sketch import prepare_drawing, split_colour_hints
from engine.errors import UserError
from engine.metrics import dark_below_lines
from engine.pipelines.sketch import NO_HINTS_NOTE, SketchPipeline
from studio.sketch import SketchDemo

RED = (220, 20, 20, 255)
EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "assets" / "examples").glob("sketch_*.png"))


def corner_canvas() -> tuple[Image.Image, Image.Image]:
    """A 640 x 640 transparent canvas with a small shoe outline in its upper-left corner, and
    the hint layer: one red dab inside the upper (a new user's first try)."""
    drawing = Image.new("RGBA", (640, 640), (0, 0, 0, 0))
    pen = ImageDraw.Draw(drawing)
    outline = [(20, 150), (20, 70), (70, 50), (120, 90), (190, 120), (200, 150), (20, 150)]
    pen.line(outline, fill=(0, 0, 0, 255), width=4)
    pen.line([(20, 135), (200, 135)], fill=(0, 0, 0, 255), width=4)  # the sole
    hints = Image.new("RGBA", drawing.size, (0, 0, 0, 0))
    ImageDraw.Draw(hints).ellipse([60, 85, 76, 101], fill=RED)
    return drawing, hints


def cli_photo(tmp_path: Path, model: str, picture: Path, *flags: str) -> np.ndarray:
    out = tmp_path / f"cli_{picture.stem}_{len(list(tmp_path.glob('cli_*')))}.png"
    assert main(["translate", "--model", model, str(picture), str(out), *flags]) == 0
    return np.asarray(Image.open(out).convert("RGB"))


def saved(tmp_path: Path, img: Image.Image, name: str) -> Path:
    img.save(tmp_path / name)
    return tmp_path / name


def red(img: Image.Image) -> np.ndarray:
    rgb = np.asarray(img.convert("RGB")).astype(int)
    return (rgb[..., 0] > 150) & (rgb[..., 1] < 80) & (rgb[..., 2] < 80)


def test_a_hint_on_a_corner_drawing_lands_inside_the_shoe(hint_run):
    drawing, hints = corner_canvas()
    prepared = SketchPipeline.load(hint_run).prepare(drawing, hints)
    dab = np.asarray(prepared.hints)[..., 3] > 0
    shoe = binary_fill_holes(np.asarray(prepared.edges.convert("L")) < 128)
    assert dab.any() and shoe[dab].mean() == 1.0  # every hinted pixel is inside the outline
    rows, cols = np.nonzero(dab)
    # where the dab sits in the fitted drawing (about 0.28, 0.67), not where it sat on the canvas
    assert 0.2 < cols.mean() / dab.shape[1] < 0.4 and 0.55 < rows.mean() / dab.shape[0] < 0.75
    answer = SketchPipeline.load(hint_run)(drawing, hints)
    assert red(answer.shown)[dab].all() and answer.note == ""


def test_cli_and_every_sketch_tab_mode_give_the_same_pixels(hint_run, tmp_path):
    drawing, hints = corner_canvas()
    drawing_file, hints_file = saved(tmp_path, drawing, "canvas.png"), saved(tmp_path, hints, "dab.png")
    demo = SketchDemo({"m": hint_run}, roots=(tmp_path,))
    cli = cli_photo(tmp_path, hint_run, drawing_file, "--sketch", "--hints", str(hints_file))
    live = demo.from_sketch(drawing, "m", hints)  # the live canvas: strokes + a hint layer
    upload = demo.from_upload(str(drawing_file), "edge map or sketch", "m", str(hints_file))
    assert np.array_equal(np.asarray(live[1]), cli) and np.array_equal(np.asarray(upload[1]), cli)

    coloured = drawing.copy()  # the editor: colour hints are coloured strokes in the drawing
    ImageDraw.Draw(coloured).ellipse([60, 85, 76, 101], fill=RED)
    coloured_file = saved(tmp_path, coloured, "coloured.png")
    editor = demo.from_sketch({"composite": coloured}, "m")
    assert np.array_equal(np.asarray(editor[1]), cli_photo(tmp_path, hint_run, coloured_file, "--sketch"))
    assert np.array_equal(np.asarray(editor[1]), cli)  # the same drawing and dab, either way

    photo = Image.new("RGB", (300, 200), (240, 240, 235))
    ImageDraw.Draw(photo).ellipse([40, 50, 260, 160], fill=(90, 50, 30))
    photo_file = saved(tmp_path, photo, "photo.jpg")
    photo_hints = saved(tmp_path, hints.resize((300, 200)), "photo_dab.png")
    from_photo = demo.from_upload(str(photo_file), "photo (edges are extracted)", "m", str(photo_hints))
    by_cli = cli_photo(tmp_path, hint_run, photo_file, "--photo", "--hints", str(photo_hints))
    assert from_photo[2] == "" and np.array_equal(np.asarray(from_photo[1]), by_cli)


def test_hint_images_without_transparency_are_refused(hint_run, tmp_path, capsys):
    drawing, hints = corner_canvas()
    drawing_file = saved(tmp_path, drawing, "canvas.png")
    opaque = saved(tmp_path, hints.convert("RGB"), "plain.png")
    code = main(
        ["translate", "--model", hint_run, str(drawing_file), str(tmp_path / "o.png"), "--sketch"]
        + ["--hints", str(opaque)]
    )
    assert code == 1 and "hints need transparency" in capsys.readouterr().err
    assert not (tmp_path / "o.png").exists()
    demo = SketchDemo({"m": hint_run}, roots=(tmp_path,))
    shown, photo, note = demo.from_upload(str(drawing_file), "edge map or sketch", "m", str(opaque))
    assert photo is None and "hints need transparency" in note
    with pytest.raises(UserError, match="hints need transparency"):
        SketchPipeline.load(hint_run)(drawing, Image.new("RGBA", drawing.size, (200, 0, 0, 255)))


def test_a_model_without_hint_inputs_ignores_colours_and_says_so(tiny_run):
    drawing, hints = corner_canvas()
    pipeline = SketchPipeline.load(tiny_run)
    answer = pipeline(drawing, hints)
    assert answer.note == NO_HINTS_NOTE and not red(answer.shown).any()
    assert np.array_equal(np.asarray(answer.photo), np.asarray(pipeline(drawing).photo))


def test_the_stroke_frame_is_found_once_per_drawing(hint_run, monkeypatch):
    import engine.data.sketch as sketch

    calls = []
    real = sketch.stroke_frame
    monkeypatch.setattr(sketch, "stroke_frame", lambda *a, **k: calls.append(1) or real(*a, **k))
    drawing, hints = corner_canvas()
    SketchPipeline.load(hint_run)(drawing, hints)
    assert len(calls) == 1


def test_colour_strokes_split_from_ink_and_follow_the_fitted_sketch():
    drawing = Image.new("RGB", (200, 100), "white")
    draw = ImageDraw.Draw(drawing)
    draw.rectangle((50, 20, 150, 80), outline="black", width=2)
    draw.line((60, 50, 140, 50), fill=(30, 90, 200), width=6)
    lines, hints = split_colour_hints(drawing)
    assert hints is not None and hints.mode == "RGBA"
    assert np.asarray(hints)[50, 100].tolist() == [30, 90, 200, 255]
    assert np.asarray(lines)[50, 100].tolist() == [255, 255, 255]
    prepared = prepare_drawing(drawing, size=64)
    fitted = np.asarray(prepared.hints)
    assert fitted.shape == (64, 64, 4)
    rows = np.nonzero(fitted[..., 3])[0]
    box_rows = np.nonzero((np.asarray(prepared.edges.convert("L")) < 128).any(1))[0]
    middle = (box_rows.min() + box_rows.max()) / 2
    assert abs(rows.mean() - middle) <= 2  # the dab stays in the middle of the fitted box
    assert box_rows.max() >= 60  # which stands on the bottom margin, as edges2shoes' shoes do
    assert np.asarray(prepared.edges).min() == 0
    assert split_colour_hints(lines)[1] is None


def test_translate_cli_takes_a_hint_image_or_a_folder_of_them(hint_run, tmp_path, capsys):
    inputs, hints, out = tmp_path / "in", tmp_path / "hints", tmp_path / "out"
    inputs.mkdir()
    hints.mkdir()
    for name in ("a", "b"):
        Image.new("RGB", (32, 32), "white").save(inputs / f"{name}.png")
    dab = Image.new("RGBA", (32, 32), (0, 0, 0, 0))
    ImageDraw.Draw(dab).ellipse((8, 8, 20, 20), fill=(0, 0, 255, 255))
    dab.save(hints / "a.png")
    assert main(["translate", "--model", hint_run, str(inputs), str(out), "--hints", str(hints)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.png"]
    plain = cli_photo(tmp_path, hint_run, inputs / "a.png")
    hinted = cli_photo(tmp_path, hint_run, inputs / "a.png", "--hints", str(hints / "a.png"))
    assert not np.array_equal(plain, hinted)
    assert np.array_equal(plain, np.asarray(Image.open(out / "b.png")))
    # a model without hint inputs refuses them with one line
    code = main(
        ["translate", "--model", "default-l1", str(inputs / "a.png"), str(tmp_path / "x.png")]
        + ["--hints", str(hints / "a.png")]
    )
    assert code == 1 and "not trained with colour hints" in capsys.readouterr().err


def test_no_smudge_under_the_sole_of_the_example_sketches():
    """Centred in a square, these drawings left white rows under the sole that edges2shoes never
    has (its shoes stand on the bottom edge), and the default painted 6-53 px of smudge there."""
    pipeline = SketchPipeline.load("default")
    assert len(EXAMPLES) == 3
    for path in EXAMPLES:
        prepared = pipeline.prepare(load_image(path))
        photo = pipeline.translate([prepared])[0]
        smudge = dark_below_lines(image_to_tensor(prepared.edges)[None], image_to_tensor(photo)[None])
        assert smudge.item() < 6, f"{path.name}: {smudge.item():.1f} px of dark under the sole"
