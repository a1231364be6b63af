"""The sketch demo: its function in-process, and through a launched Gradio server."""

import os

import numpy as np
import pytest
from PIL import Image, ImageDraw

from studio.sketch import SketchDemo, available_models, build_sketch_demo

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


def drawing() -> Image.Image:
    img = Image.new("RGBA", (512, 512), (0, 0, 0, 0))
    ImageDraw.Draw(img).line([(60, 300), (200, 180), (450, 320)], fill=(0, 0, 0, 255), width=8)
    return img


def test_finished_runs_are_offered_as_models(tiny_run):
    assert tiny_run in available_models().values()


def sketch_to_photo(value, model):
    return SketchDemo().from_sketch(value, model)


def test_sketch_to_photo_in_process(tiny_run):
    value = {"background": None, "layers": [drawing()], "composite": drawing()}
    edges, photo, message = sketch_to_photo(value, tiny_run)
    assert message == ""
    assert edges.size == photo.size == (32, 32)
    assert np.asarray(edges.convert("L")).mean() > 200  # white paper, dark lines


@pytest.mark.parametrize(
    "value, expected",
    [
        (None, "Draw a shoe"),
        ({"background": None, "layers": [], "composite": Image.new("RGBA", (64, 64), (0, 0, 0, 0))}, "empty"),
        ({"composite": Image.new("RGB", (5000, 5000), "white")}, "too large"),
    ],
)
def test_bad_input_gives_a_friendly_message(tiny_run, value, expected):
    edges, photo, message = sketch_to_photo(value, tiny_run)
    assert edges is None and photo is None and expected in message


def test_only_the_demos_own_models_are_loaded(tiny_run, tmp_path):
    _, _, message = sketch_to_photo({"composite": drawing()}, "no-such-run")
    assert "unknown model" in message
    ckpt = next((tmp_path / "home" / "runs" / tiny_run / "checkpoints").glob("step_*[0-9].safetensors"))
    _, photo, message = SketchDemo({"mine": tiny_run}).from_sketch({"composite": drawing()}, str(ckpt))
    assert photo is None and "unknown model" in message  # a path on the server is refused


def test_upload_of_a_sketch_and_of_a_photo(tiny_run, tmp_path):
    demo = SketchDemo({"mine": tiny_run}, roots=(tmp_path,))
    sketch = tmp_path / "sketch.png"
    drawing().save(sketch)
    edges, photo, message = demo.from_upload(str(sketch), "edge map or sketch", tiny_run)
    assert message == "" and photo.size == (32, 32)
    shoe = tmp_path / "photo.jpg"
    img = Image.new("RGB", (120, 80), "white")
    ImageDraw.Draw(img).ellipse((10, 20, 110, 70), fill=(120, 40, 30))
    img.save(shoe)
    edges, photo, message = demo.from_upload(str(shoe), "photo (edges are extracted)", tiny_run)
    assert message == "" and (np.asarray(edges.convert("L")) < 128).any()
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    message = demo.from_upload(str(broken), "photo (edges are extracted)", tiny_run)[2]
    assert "the uploaded image: cannot read image broken.png" in message and str(tmp_path) not in message
    assert "Upload an image" in demo.from_upload(None, "photo (edges are extracted)", tiny_run)[2]


def test_launched_demo_answers_a_client(tiny_run, tmp_path):
    from gradio_client import Client, handle_file

    path = tmp_path / "drawing.png"
    drawing().save(path)
    demo = build_sketch_demo()
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    try:
        client = Client(demo.local_url, verbose=False)
        value = {"background": handle_file(str(path)), "layers": [], "composite": handle_file(str(path))}
        edges, photo, message = client.predict(value, tiny_run, api_name="/sketch_to_photo")
        assert Image.open(photo).size == (32, 32) and Image.open(edges).size == (32, 32)
    finally:
        demo.close()


def test_live_canvas_server_function_translates_and_refuses_bad_payloads(tiny_run):
    from studio.live_canvas import decode_data_url, encode_data_url

    drawn = Image.new("RGB", (256, 256), "white")  # the live canvas paints on white
    ImageDraw.Draw(drawn).line([(30, 150), (120, 90), (230, 160)], fill="black", width=3)
    url = encode_data_url(drawn)
    assert decode_data_url(url).size == (256, 256)
    demo = SketchDemo({"tiny": tiny_run})
    edges, photo, message = demo.from_sketch(decode_data_url(url), tiny_run)
    assert message == "" and photo.size == (32, 32)
    for bad in ("data:image/svg+xml;base64,PHN2Zz4=", "x" * (5 * 2**20), "data:image/png;base64,@@@"):
        with pytest.raises((ValueError, OSError)):
            decode_data_url(bad)
    huge = encode_data_url(Image.new("L", (2000, 10)))
    with pytest.raises(ValueError, match="too large"):
        decode_data_url(huge)


def test_only_models_trained_on_drawings_are_offered(tiny_run, aligned_dataset, tmp_path):
    import shutil

    from engine.training.loop import TrainSettings, train
    from support.tiny import TINY_PIX2PIX

    facades = shutil.copytree(aligned_dataset, tmp_path / "facades")  # trained on label maps
    run = train("pix2pix", TrainSettings(data=str(facades), max_steps=1, batch_size=2), TINY_PIX2PIX)
    offered = available_models().values()
    assert tiny_run in offered and "default" in offered
    assert run not in offered and "default-facades-pix2pix" not in offered


def test_changing_the_upload_tabs_model_keeps_its_result(tiny_run, tmp_path):
    from studio.sketch import EXAMPLES

    demo = build_sketch_demo({"mine": tiny_run, "again": tiny_run})
    sketch = EXAMPLES[0]  # an example: the demo reads only uploads and its examples
    dropdowns = [b for b in demo.blocks.values() if getattr(b, "label", None) == "Model"]
    (model,) = dropdowns
    (handler,) = [fn for fn in demo.fns.values() if (model._id, "change") in fn.targets]
    edges, photo, message = handler.fn(str(sketch), "edge map or sketch", "again", None)
    assert message == "" and photo is not None  # not "Draw a shoe outline to begin."


def test_every_download_is_a_png_named_shoe(tiny_run, tmp_path):
    from studio.live_canvas import HTML

    demo = SketchDemo({"mine": tiny_run}, roots=(tmp_path,))
    sketch = tmp_path / "sketch.png"
    drawing().save(sketch)
    _, photo, _ = demo.upload_file(str(sketch), "edge map or sketch", "mine")
    assert photo.endswith("/shoe.png") and Image.open(photo).format == "PNG"
    assert 'download="shoe.png"' in HTML


def test_colour_dabs_without_lines_say_what_to_draw(tiny_run):
    dab = Image.new("RGBA", (256, 256), (0, 0, 0, 0))
    ImageDraw.Draw(dab).ellipse((100, 100, 130, 130), fill=(30, 90, 160, 255))
    blank = Image.new("RGB", (256, 256), "white")
    edges, photo, message = SketchDemo({"mine": tiny_run}).from_sketch(blank, "mine", dab)
    assert photo is None and message == "Draw the shoe's outline; colour dabs tint it."
