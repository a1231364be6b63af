"""Colour hints in the sketch demo: the live canvas's hint layer, the editor's coloured strokes,
an uploaded RGBA hint image, and models without hint inputs."""

import os

import numpy as np
import pytest
from PIL import Image, ImageDraw

from engine.data.sketch import split_colour_hints
from engine.training.loop import TrainSettings, train
from studio.live_canvas import encode_data_url, live_canvas
from studio.sketch import BRUSH_COLOURS, SketchDemo
from support.tiny import TINY_PIX2PIX

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


@pytest.fixture
def hint_run(aligned_dataset) -> str:
    config = {**TINY_PIX2PIX, "hints": True, "mode": "l1"}
    return train("pix2pix", TrainSettings(data=str(aligned_dataset), max_steps=1, batch_size=2), config)


def ink() -> Image.Image:
    img = Image.new("RGB", (256, 256), "white")
    ImageDraw.Draw(img).polygon(
        [(30, 200), (60, 60), (120, 60), (230, 180), (230, 210)], outline="black", width=2
    )
    return img


def hint_layer(colour=(20, 60, 220)) -> Image.Image:
    layer = Image.new("RGBA", (256, 256), (0, 0, 0, 0))
    ImageDraw.Draw(layer).line([(70, 150), (200, 190)], fill=colour + (255,), width=10)
    return layer


def test_live_canvas_sends_a_hint_layer_that_changes_the_shoe(hint_run):
    demo = SketchDemo({"m": hint_run})
    seen = []

    def sketch_to_photo(img, hints, look):
        seen.append(hints)
        return demo.from_sketch(img, hint_run, hints, look)

    translate = live_canvas(sketch_to_photo).server_fns[0]
    edges_plain, photo_plain, message = translate([encode_data_url(ink()), ""])
    assert message == "" and seen[-1] is None and photo_plain.startswith("data:image/png;base64,")
    edges_hint, photo_hint, message = translate([encode_data_url(ink()), encode_data_url(hint_layer())])
    assert message == "" and seen[-1].mode == "RGBA"
    assert photo_hint != photo_plain and edges_hint != edges_plain  # the dabs show in "what the model sees"
    assert translate(encode_data_url(ink()))[1] == photo_plain  # the one-argument form still works
    assert "Could not use that" in translate(["data:text/plain;base64,aGk=", ""])[2]


def test_editor_colours_are_hints_and_black_is_ink(hint_run):
    demo = SketchDemo({"m": hint_run})
    drawing = ink()
    drawing.paste(hint_layer(), (0, 0), hint_layer())
    edges, photo, message = demo.from_sketch({"composite": drawing}, hint_run)
    plain_edges, plain_photo, _ = demo.from_sketch({"composite": ink()}, hint_run)
    assert message == ""
    seen = np.asarray(edges)
    assert (np.abs(seen[..., 2].astype(int) - seen[..., 0]) > 100).any()  # blue dabs over the lines
    assert not np.array_equal(np.asarray(photo), np.asarray(plain_photo))


def test_models_without_hints_say_the_colours_are_ignored(tiny_run):
    demo = SketchDemo({"m": tiny_run})
    edges, photo, message = demo.from_sketch({"composite": ink()}, tiny_run, hint_layer())
    assert photo is not None and "not trained with colour hints" in message


def test_upload_with_a_hint_image(hint_run, tmp_path):
    ink().save(tmp_path / "sketch.png")
    hint_layer().save(tmp_path / "hints.png")
    demo = SketchDemo({"m": hint_run}, roots=(tmp_path,))
    _, plain, message = demo.from_upload(str(tmp_path / "sketch.png"), "edge map or sketch", hint_run)
    _, hinted, message = demo.from_upload(
        str(tmp_path / "sketch.png"), "edge map or sketch", hint_run, str(tmp_path / "hints.png")
    )
    assert message == "" and not np.array_equal(np.asarray(plain), np.asarray(hinted))


@pytest.mark.parametrize("colour", BRUSH_COLOURS)
def test_every_editor_brush_colour_is_a_hint_and_black_is_ink(colour):
    rgb = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
    drawing = ink()
    ImageDraw.Draw(drawing).line([(70, 150), (200, 190)], fill=rgb, width=6)
    lines, hints = split_colour_hints(drawing)
    if colour == "#000000":
        assert hints is None  # the pen
        return
    assert hints is not None
    pixel = np.asarray(hints)[170, 135]
    assert pixel[3] == 255 and tuple(pixel[:3]) == rgb
    assert np.asarray(lines)[170, 135].tolist() == [255, 255, 255]
