"""Looks from a table of training shoes: colour dabs kept with their places on the shoe, painted
inside a drawing's outline as hints, so one drawing can come in many looks."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from engine.cli import main
from engine.data.looks import paint_look, photo_look, read_look_table, write_look_table
from engine.errors import UserError
from engine.pipelines.sketch import Look, SketchPipeline


def two_tone_shoe() -> np.ndarray:
    """A red upper over a white-ish sole on white paper."""
    photo = Image.new("RGB", (128, 128), "white")
    pen = ImageDraw.Draw(photo)
    pen.rectangle([10, 40, 118, 90], fill=(200, 20, 20))
    pen.rectangle([10, 91, 118, 110], fill=(120, 120, 120))
    return np.asarray(photo)


def test_a_look_keeps_colours_with_their_places_on_the_shoe():
    look = photo_look(two_tone_shoe(), np.random.default_rng(0), dabs=40)
    red = look[:, 2] > 150
    assert red.any() and (~red).any()
    assert look[red, 1].max() < look[~red, 1].min()  # v (down the shoe): the red upper above the sole
    assert photo_look(np.full((64, 64, 3), 255, np.uint8), np.random.default_rng(0)) is None


def test_painted_dabs_stay_inside_a_closed_drawing():
    edges = Image.new("RGB", (64, 64), "white")
    ImageDraw.Draw(edges).rectangle([8, 20, 56, 50], outline="black")
    look = photo_look(two_tone_shoe(), np.random.default_rng(1))
    layer = np.asarray(paint_look(look, edges))
    painted = layer[..., 3] > 0
    assert painted.any() and not painted[:18].any() and not painted[53:].any()  # the lines, closed by 2 px


def test_the_table_round_trips_and_a_foreign_file_is_refused(tmp_path):
    assert write_look_table([two_tone_shoe()] * 3, tmp_path / "t.safetensors") == 3
    assert read_look_table(tmp_path / "t.safetensors").shape == (3, 12, 5)
    (tmp_path / "bad.safetensors").write_bytes(b"not a table")
    with pytest.raises(UserError, match="not a look table"):
        read_look_table(tmp_path / "bad.safetensors")


def test_a_hint_model_draws_a_look_per_seed_and_keeps_the_users_hints(hint_run, tmp_path):
    table = read_look_table_from([two_tone_shoe(), two_tone_shoe()[:, :, ::-1].copy()], tmp_path)
    plain = SketchPipeline.load(hint_run, table_looks=False)
    pipeline = SketchPipeline(plain.predictor, look_table=table)
    assert pipeline.multimodal and not plain.multimodal
    drawing = Image.new("RGB", (128, 128), "white")
    ImageDraw.Draw(drawing).rectangle([10, 40, 118, 110], outline="black", width=2)
    prepared = pipeline.prepare(drawing)
    first, second = pipeline.looks(prepared, [0, 1])
    assert not np.array_equal(np.asarray(first), np.asarray(second))
    assert np.array_equal(np.asarray(pipeline(drawing).photo), np.asarray(plain(drawing).photo))  # typical
    user = Image.new("RGBA", (128, 128), (0, 0, 0, 0))
    ImageDraw.Draw(user).ellipse([60, 60, 70, 70], fill=(0, 200, 0, 255))
    shown = np.asarray(pipeline(drawing, user, look=Look(seed=0)).shown)
    assert (shown[..., 1] > 150).any() and ((shown[..., 0] > 150) & (shown[..., 1] < 80)).any()


def read_look_table_from(photos: list[np.ndarray], folder) -> np.ndarray:
    write_look_table(photos, folder / "looks.safetensors")
    return read_look_table(folder / "looks.safetensors")


def test_make_looks_writes_a_table_and_never_over_a_file(aligned_dataset, tmp_path, capsys):
    out = tmp_path / "looks.safetensors"
    assert main(["data", "make-looks", str(aligned_dataset), str(out)]) == 0
    assert read_look_table(out).shape[1:] == (12, 5)
    assert main(["data", "make-looks", str(aligned_dataset), str(out)]) == 1
    assert "exists" in capsys.readouterr().err


def test_each_item_of_a_batch_takes_its_own_reference_look(hint_run, tmp_path):
    """eval --reference-looks: every drawing in the look of its own target photo, as one at a time."""
    import torch

    from engine.data.images import image_to_tensor

    table = read_look_table_from([two_tone_shoe()], tmp_path)
    pipeline = SketchPipeline(SketchPipeline.load(hint_run, table_looks=False).predictor, look_table=table)
    drawing = Image.new("RGB", (32, 32), "white")
    ImageDraw.Draw(drawing).rectangle([4, 8, 28, 26], outline="black", width=1)
    x = image_to_tensor(drawing)[None].repeat(2, 1, 1, 1)
    red, blue = Image.fromarray(two_tone_shoe()), Image.fromarray(two_tone_shoe()[:, :, ::-1].copy())
    looks = [Look(reference=red), Look(reference=blue)]
    both = pipeline.translate_tensor(x, z=looks)
    alone = [pipeline.translate_tensor(x[:1], z=look) for look in looks]
    assert torch.allclose(both, torch.cat(alone), atol=1e-5)
    assert not torch.allclose(alone[0], alone[1])
