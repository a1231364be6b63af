"""The Gradio API under crafted calls (issue 23): seeds of 2**70 or 1e30, wrong types for every
input, corrupt and bomb PNGs, and the scene canvas's server functions given junk answer with a
message beside the control (a status text, or Gradio's own one-line refusal), never a bare error
event or an HTTP 500, and the demo keeps answering. Uploads over MAX_FILE_SIZE are refused."""

from __future__ import annotations

import base64
import io
import os

import pytest
import torch
from PIL import Image, ImageDraw

from engine.errors import UserError
from studio.inputs import LAUNCH_LIMITS, MAX_SEED, read_seed, read_whole, server_args
from support.api import (
    answer,
    data_url,
    html_block,
    launched,
    png_bomb,
    post_upload,
    server_function,
    try_bad_values,
    write_bad_images,
)

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
SEED_LINE = "must be a whole number from 0 to 2,147,483,647"


def test_one_reader_for_every_seed():
    assert read_seed(None) == read_seed("") == 0 and read_seed(7) == 7 and read_seed(7.0) == 7
    assert read_seed(MAX_SEED) == MAX_SEED
    for bad in (2**70, 1e30, -1, 2.5, float("inf"), float("nan"), "x", "3", [1], {"a": 1}, True):
        with pytest.raises(UserError, match=SEED_LINE):
            read_seed(bad)
    with pytest.raises(UserError, match="The number of frames must be a whole number from 2 to 64, not 'x'"):
        read_whole("x", "number of frames", 2, 64)
    assert server_args("data:...", ("", 0)) == ["data:...", 0] and server_args(None, (0,)) == [0]
    with pytest.raises(UserError, match="list of values"):
        server_args(123, (0,))


def test_the_scene_canvas_answers_junk_with_a_message_over_http():
    from studio.scene import build_scene_demo

    demo = build_scene_demo({}, None)
    canvas = html_block(demo, "scene-canvas")
    with launched(demo) as url:
        for junk in (["x"], "x", 123, [2**70], [1e30], [-1], [{"a": 1}]):
            status, (image, message) = server_function(url, canvas, "random_map", junk)
            assert status == 200 and image is None and message.startswith("Could not draw a map"), junk
        status, (image, message) = server_function(url, canvas, "random_map", [2**70])
        assert SEED_LINE in message
        bomb, broken = data_url(png_bomb()), data_url(b"\x89PNG\r\n\x1a\nbroken")
        for junk in (123, None, {"a": 1}, [bomb, "", 0], [broken, "", 0], ["", bomb, 0], [bomb, "", 2**70]):
            status, answered = server_function(url, canvas, "paint", junk)
            assert status == 200 and answered[-1].startswith("Could not use that"), (junk, answered)
            assert "BytesIO" not in answered[-1] and "Traceback" not in answered[-1]
        status, (image, message) = server_function(url, canvas, "random_map", [3])
        assert status == 200 and image.startswith("data:image/png") and message == "a random facade"


@pytest.fixture(scope="module")
def latent_demo():
    from studio.latent import build_latent_demo

    torch.set_num_threads(1)
    return build_latent_demo()  # the bundled DCGAN


def test_latent_endpoints_refuse_big_seeds_and_wrong_types_in_one_line(latent_demo, tmp_path):
    from gradio_client import Client, handle_file

    good_end = ["seed", 0, 0, None]
    slide = ["default-dcgan", 0.5, True, *good_end, "seed", 1, 0, None]
    with launched(latent_demo) as url:
        client = Client(url, verbose=False)
        assert answer(client, *slide, api_name="/slide")[1] == ""
        for seed in (2**70, 1e30, -1, "x"):
            image, message = answer(client, "default-dcgan", seed, 4, api_name="/samples")
            assert image is None and SEED_LINE in message, message
            image, message = answer(client, *slide[:4], seed, *slide[5:], api_name="/slide")
            assert image is None and SEED_LINE in message, message
        try_bad_values(client, slide, "/slide")  # each answers with outputs or one line, never bare
        try_bad_values(client, ["default-dcgan", 0, 4], "/samples")
        bad = write_bad_images(tmp_path)
        for path in bad.values():
            end = ["upload", 0, 0, handle_file(str(path))]
            image, message = answer(client, "default-vae", 0.5, True, *end, *good_end, api_name="/slide")
            assert image is None and message, message
        image, message = answer(client, *slide, api_name="/slide")  # still answering
        assert message == "" and Image.open(image).size == (256, 256)


def test_prior_restore_refuses_wrong_types_and_broken_photos(tmp_path):
    from gradio_client import Client, handle_file

    from studio.prior import build_prior_demo

    demo = build_prior_demo()
    good = [None, "Denoise", 25, 4, None, 0, 256, False]
    with launched(demo) as url:
        client = Client(url, verbose=False)
        try_bad_values(client, good, "/restore")
        for path in write_bad_images(tmp_path).values():
            *_, message = answer(client, handle_file(str(path)), *good[1:], api_name="/restore")
            assert message.startswith("Could not use that") and str(tmp_path) not in message, message
        assert "Add a photo" in answer(client, *good, api_name="/restore")[-1]


def test_uploads_over_the_limit_are_refused_before_they_are_stored(latent_demo):
    from gradio.utils import _parse_file_size

    limit = _parse_file_size(LAUNCH_LIMITS["max_file_size"])
    assert 20 * 10**6 <= limit <= 100 * 10**6  # a camera's 100 Mpx JPEG fits; a disk-filler does not
    with launched(latent_demo, **LAUNCH_LIMITS) as url:
        assert post_upload(url, limit + 1) == 413
        assert post_upload(url, 1000) == 200


def drawing_url() -> str:
    img = Image.new("RGB", (256, 256), "white")
    ImageDraw.Draw(img).line([(20, 150), (120, 80), (230, 160)], fill="black", width=4)
    buffer = io.BytesIO()
    img.save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def test_the_live_canvas_answers_junk_with_a_message_over_http():
    from studio.sketch import build_sketch_demo

    torch.set_num_threads(1)
    demo = build_sketch_demo()
    canvas = html_block(demo, "live-canvas")
    drawn, bomb = drawing_url(), data_url(png_bomb())
    truncated = drawn[: len(drawn) // 2 // 4 * 4]
    with launched(demo) as url:
        for junk, said in [
            (123, "list of values"),
            (None, "expected a PNG drawing"),
            ([123], "expected the drawing as a PNG data URL"),
            ({"a": 1}, "list of values"),
            ([bomb], "the drawing is too large"),
            ([truncated], "not a PNG image that can be read"),
            ([drawn, bomb], "the colour layer is too large"),
            ([drawn, "", 2**70], SEED_LINE),
            ([drawn, "", 1e30], SEED_LINE),
            ([drawn, "", "", bomb], "the look's photo is too large"),
            ([drawn, "", "", "", {"a": 1}], "expected a model's name"),
            ([drawn, "", "", "", "/etc/passwd"], "unknown model"),
        ]:
            status, (edges, photo, message) = server_function(url, canvas, "translate", junk)
            assert status == 200 and photo is None and said in message, (junk, message)
            assert message.startswith("Could not use that") and "BytesIO" not in message
        for junk in (123, None, [bomb], [drawn, "", 2**70], [drawn, "", 1e30, {"a": 1}]):
            assert server_function(url, canvas, "looks", junk) == (200, [])
        for junk in (123, None, [{"a": 1}], "default"):
            status, answered = server_function(url, canvas, "model_has_looks", junk)
            assert status == 200 and isinstance(answered, bool)
        status, (edges, photo, message) = server_function(url, canvas, "translate", [drawn])
        assert status == 200 and photo.startswith("data:image/png") and edges.startswith("data:image/png")


def test_sketch_to_photo_answers_broken_drawings_in_its_status(tmp_path):
    from gradio_client import Client, handle_file

    from studio.sketch import build_sketch_demo

    torch.set_num_threads(1)
    demo = build_sketch_demo()
    bad = write_bad_images(tmp_path)
    giant = tmp_path / "giant.png"
    Image.new("1", (5000, 200)).save(giant)  # over the 4096 px a side the demo draws at

    def pad(path) -> dict:
        return {"background": None, "layers": [], "composite": handle_file(str(path))}

    with launched(demo) as url:
        client = Client(url, verbose=False)
        for name, said in (
            ("corrupt", "can be read"),
            ("bomb", "over the 100-megapixel limit"),
            ("text", "can be read"),
        ):
            edges, photo, message = answer(client, pad(bad[name]), "default", api_name="/sketch_to_photo")
            assert photo is None and message.startswith("Could not use that") and said in message, message
            assert str(tmp_path) not in message
        *_, message = answer(client, pad(giant), "default", api_name="/sketch_to_photo")
        assert "over 4096 px" in message
        for junk in ("x", 123, [1]):
            assert "is not an uploaded image" in answer(client, junk, "default", api_name="/sketch_to_photo")
        try_bad_values(client, [None, "edge map or sketch", "default", None], "/upload_to_photo")
        drawing = tmp_path / "drawing.png"
        drawing.write_bytes(base64.b64decode(drawing_url().split(",")[1]))
        edges, photo, message = answer(client, pad(drawing), "default", api_name="/sketch_to_photo")
        assert photo is not None  # still answering


def test_an_unpaired_sample_number_out_of_range_is_one_line():
    from studio.unpaired import UnpairedDemo

    for seed in (2**70, 1e30, "x"):
        picture, message = UnpairedDemo().sample("default-cyclegan", "A → B", seed)
        assert picture is None and SEED_LINE in message and message.startswith("No sample")
