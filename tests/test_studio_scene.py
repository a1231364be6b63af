"""Paint a scene: the canvas's server functions answer with one photo per model, random maps
come from the test set or are drawn, uploads of colour or index maps work, and errors are
messages."""

import numpy as np
import pytest
from PIL import Image

from engine.data.label_maps import FACADES
from engine.training.loop import TrainSettings, train
from studio.scene import SceneDemo, build_scene_demo
from support.tiny import TINY_LABELS, scene, write_label_dataset


@pytest.fixture
def scene_runs(tmp_path) -> dict[str, str]:
    data = write_label_dataset(tmp_path / "facades", "aligned")
    settings = TrainSettings(data=str(data), max_steps=1, batch_size=2, sample_size=2)
    hd = train("pix2pixhd", settings, TINY_LABELS)
    spade = train("spade", settings, {**TINY_LABELS, "z_dim": 8})
    return {"pix2pixHD": hd, "SPADE": spade}


def test_painting_answers_with_every_model_and_styles_change_spade(scene_runs, tmp_path):
    demo = SceneDemo(scene_runs, test_maps=None)
    assert demo.palette == FACADES and demo.live == ["pix2pixHD", "SPADE"]
    labels, photo = scene(4, 64)
    painted = FACADES.render(labels)
    photos, message = demo.paint(painted, None, 0)
    assert [p.size for p in photos] == [(64, 64), (64, 64)] and "random style #0" in message
    other, _ = demo.paint(painted, None, 1)
    assert other[0].tobytes() == photos[0].tobytes()  # pix2pixHD: one photo per map
    assert other[1].tobytes() != photos[1].tobytes()  # SPADE: another style
    styled, message = demo.paint(painted, photo, 0)
    assert "your photo" in message and styled[1].size == (64, 64)


def test_random_maps_come_from_the_test_set_or_are_drawn(scene_runs, tmp_path):
    drawn = SceneDemo(scene_runs, test_maps=None)
    image, message = drawn.random_map(3)
    assert message == "a random facade" and image.size == (256, 256)
    assert set(np.unique(FACADES.decode(np.asarray(image)))) >= {0, 1, 2}  # background, facade, windows
    test_set = write_label_dataset(tmp_path / "local", "aligned")
    (test_set / "val").rename(test_set / "test")
    picked, message = SceneDemo(scene_runs, test_maps=test_set).random_map(0)
    assert message.startswith("test map") and picked.size == (64, 64)


def test_uploads_and_bad_input_give_messages(scene_runs, tmp_path, monkeypatch):
    demo = SceneDemo(scene_runs, test_maps=None)
    monkeypatch.setattr("studio.uploads.get_upload_folder", lambda: str(tmp_path))
    labels, _ = scene(5, 64)
    FACADES.render(labels).save(tmp_path / "map.png")
    photo, message = demo.upload(str(tmp_path / "map.png"), "SPADE", None, 2)
    assert photo.size == (64, 64) and message == ""
    (tmp_path / "broken.png").write_bytes(b"not a png")
    photo, message = demo.upload(str(tmp_path / "broken.png"), "SPADE", None, 0)
    assert photo is None and message.startswith("Could not use that") and str(tmp_path) not in message
    photo, message = demo.upload(None, "SPADE", None, 0)
    assert photo is None and "label map" in message
    photo, message = demo.upload(str(tmp_path / "map.png"), "/etc/passwd", None, 0)
    assert photo is None and "unknown model" in message


def test_without_models_the_tab_says_what_to_do(tmp_path):
    assert SceneDemo({"gone": str(tmp_path / "missing.safetensors")}, test_maps=None).palette == FACADES
    demo = SceneDemo({}, test_maps=None)
    photos, message = demo.paint(Image.new("RGB", (64, 64)), None, 0)
    assert photos == [] and "train one" in message
    assert build_scene_demo({}, None) is not None


@pytest.mark.slow
def test_the_scene_space_renders_an_uploaded_map(scene_runs, tmp_path):
    from gradio_client import handle_file
    from test_space import running_space

    from studio.space import export_space

    out = export_space(tmp_path / "space", "scene", scene_runs["SPADE"])
    assert "test_maps=None" in (out / "app.py").read_text()
    assert (out / "studio" / "scene_canvas.py").is_file()
    labels, _ = scene(6, 64)
    FACADES.render(labels).save(tmp_path / "map.png")
    with running_space(out) as client:
        photo, message = client.predict(
            handle_file(str(tmp_path / "map.png")),
            scene_runs["SPADE"],
            None,
            3,
            api_name="/label_map_to_photo",
        )
        assert message == "" and Image.open(photo).size == (64, 64)


def test_a_photo_uploaded_as_a_map_is_named_not_turned_to_mush(scene_runs, tmp_path, monkeypatch):
    import io

    from engine.data.label_maps import off_palette_share

    demo = SceneDemo(scene_runs, test_maps=None)
    monkeypatch.setattr("studio.uploads.get_upload_folder", lambda: str(tmp_path))
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:64, 0:64]
    photo = np.stack([x * 3, y * 2 + 40, 255 - x * 2], -1) + rng.integers(0, 30, (64, 64, 3))
    Image.fromarray(photo.clip(0, 255).astype(np.uint8)).save(tmp_path / "photo.jpg")
    result, message = demo.upload(str(tmp_path / "photo.jpg"), "SPADE", None, 0)
    assert result is None and message.startswith("That looks like a photo, not a label map")
    labels, _ = scene(7, 64)
    buffer = io.BytesIO()
    FACADES.render(labels).save(buffer, "JPEG", quality=60)
    assert off_palette_share(Image.open(buffer), FACADES) < 0.2  # a JPEG'd rendering is still a map
    buffer.seek(0)
    (tmp_path / "map.jpg").write_bytes(buffer.getvalue())
    result, message = demo.upload(str(tmp_path / "map.jpg"), "SPADE", None, 0)
    assert message == "" and result.size == (64, 64)
    index = Image.fromarray(labels.astype(np.uint8), "L")  # grey values are the classes
    index.save(tmp_path / "index.png")
    result, message = demo.upload(str(tmp_path / "index.png"), "SPADE", None, 0)
    assert message == "" and result.size == (64, 64)


def test_the_upload_tab_has_example_maps_and_says_what_style_does(scene_runs, tmp_path):
    from studio.scene import example_maps

    maps = example_maps(FACADES, tmp_path / "maps")
    assert len(maps) == 3 and all(
        set(np.unique(FACADES.decode(np.asarray(Image.open(p))))) > {0, 1} for p in maps
    )
    demo = SceneDemo(scene_runs, test_maps=None)
    photo, message = demo.upload(str(example_maps(FACADES)[0]), "SPADE", None, 0)  # the tab's own examples
    assert message == "" and photo.size == (64, 64)
    blocks = build_scene_demo({**scene_runs, "default-spade": "default-spade"}, None)
    kinds = {c["type"] for c in blocks.config["components"]}
    assert "dataset" in kinds or "examples" in kinds
    texts = " ".join(str(c["props"].get("value", "")) for c in blocks.config["components"])
    assert "barely uses its style code" in texts


def test_crafted_api_calls_get_one_line_and_the_demo_keeps_painting(scene_runs, tmp_path):
    from gradio_client import Client, handle_file

    from support.api import (
        answer,
        data_url,
        html_block,
        launched,
        server_function,
        try_bad_values,
        write_bad_images,
    )

    demo = build_scene_demo(scene_runs, None)
    canvas = html_block(demo, "scene-canvas")
    labels, _ = scene(5, 64)
    good_map = tmp_path / "map.png"
    FACADES.render(labels).save(good_map)
    with launched(demo) as url:
        client = Client(url, verbose=False)
        for seed in (2**70, 1e30, "x", -1):
            photo, message = answer(
                client, handle_file(str(good_map)), "SPADE", None, seed, api_name="/label_map_to_photo"
            )
            assert photo is None and "random style number must be a whole number" in message, message
        for path in write_bad_images(tmp_path / "bad").values():
            photo, message = answer(
                client, handle_file(str(path)), "SPADE", None, 0, api_name="/label_map_to_photo"
            )
            assert photo is None and message.startswith("Could not use that") and str(tmp_path) not in message
        try_bad_values(client, [handle_file(str(good_map)), "SPADE", None, 0], "/label_map_to_photo")
        truncated = data_url(good_map.read_bytes()[: good_map.stat().st_size // 2])
        status, answered = server_function(url, canvas, "paint", [truncated, "", 0])
        assert status == 200 and answered[:2] == [None, None] and "can be read" in answered[-1]
        photo, message = answer(
            client, handle_file(str(good_map)), "SPADE", None, 2, api_name="/label_map_to_photo"
        )
        assert message == "" and Image.open(photo).size == (64, 64)  # still painting


def test_a_stroke_comes_back_as_one_jpeg_per_model_and_the_pngs_from_the_same_render(scene_runs, monkeypatch):
    """The canvas's route answers a stroke with one JPEG per model; the server function's PNGs for
    the same values (asked once the pen rests) come from that render, not a second one."""
    import base64
    import io
    import json

    from test_live_route import message, post

    from studio import live_route
    from support.api import data_url, html_block, launched, server_function

    renders = []
    paint = SceneDemo.paint
    monkeypatch.setattr(SceneDemo, "paint", lambda self, *args: renders.append(args) or paint(self, *args))
    demo = build_scene_demo(scene_runs, None)
    canvas = html_block(demo, "scene-canvas")
    labels, _ = scene(8, 64)
    buffer = io.BytesIO()
    FACADES.render(labels).convert("RGBA").save(buffer, "PNG")  # as the canvas sends it
    painted = data_url(buffer.getvalue())
    with launched(demo) as url:
        status, path = server_function(url, canvas, "stroke_route", [])
        assert status == 200 and path.startswith(live_route.PREFIX + "/")
        route = url.rstrip("/") + path
        status, headers, body = post(route, json.dumps([painted, "", 3]).encode())
        lengths = [int(n) for n in headers["X-Live-Parts"].split(",")]
        assert (
            status == 200
            and len(lengths) == 2
            and sum(lengths) == len(body)
            and "random style #3" in message(headers)
        )
        parts = [body[sum(lengths[:i]) : sum(lengths[: i + 1])] for i in range(2)]
        jpegs = [Image.open(io.BytesIO(part)) for part in parts]
        assert [(j.format, j.size) for j in jpegs] == [("JPEG", (64, 64))] * 2 and len(renders) == 1
        status, answered = server_function(url, canvas, "paint", [painted, "", 3])
        assert status == 200 and len(renders) == 1 and "random style #3" in answered[-1]  # the same render
        for part, png_url in zip(parts, answered[:2]):
            png = Image.open(io.BytesIO(base64.b64decode(png_url.partition(",")[2])))
            assert png.format == "PNG" and live_route.jpeg(png) == part  # the same photos
        status, headers, body = post(route, json.dumps([painted, "", 4]).encode())
        assert status == 200 and len(renders) == 2  # other values: a new render
        for junk, said in [
            (b"not json", "not JSON"),
            (json.dumps([data_url(b"\x89PNG\r\n\x1a\nbroken"), "", 0]).encode(), "can be read"),
            (json.dumps([painted, "", 2**70]).encode(), "whole number"),
        ]:
            status, headers, body = post(route, junk)
            assert status == 400 and said in message(headers) and not body, message(headers)
    empty = build_scene_demo({}, None)
    with launched(empty) as url:
        _, path = server_function(url, html_block(empty, "scene-canvas"), "stroke_route", [])
        status, headers, body = post(url.rstrip("/") + path, json.dumps([painted, "", 0]).encode())
        assert status == 204 and "train one" in message(headers) and not body


CANVAS_COLOURS = """() => { const d = document.querySelector('.scene-canvas').getContext('2d')
  .getImageData(0, 0, 256, 256).data, seen = new Set();
  for (let i = 0; i < d.length; i += 4) seen.add([d[i], d[i + 1], d[i + 2]].join()); return [...seen]; }"""
SRCS = """() => { window.__srcs = [];
  const outs = document.querySelectorAll('.scene-out');
  new MutationObserver(() => window.__srcs.push(outs[0].getAttribute('src') || ''))
    .observe(outs[0], {attributes: true, attributeFilter: ['src']}); }"""


def paint_rectangle(page, x0: float, y0: float, x1: float, y1: float) -> None:
    box = page.locator(".scene-canvas").bounding_box()
    page.mouse.move(box["x"] + x0, box["y"] + y0)
    page.mouse.down()
    page.mouse.move(box["x"] + x1, box["y"] + y1, steps=6)
    page.mouse.up()


@pytest.mark.browser
@pytest.mark.slow
def test_the_scene_canvas_answers_a_stroke_by_its_route_then_with_pngs(scene_runs, tmp_path):
    """In chromium: a rectangle's photos come by the route (blob: URLs, no download yet), the
    lossless PNGs and their downloads once the pen rests; a brush stroke's antialiased edge is
    snapped to class colours; strokes go over the route's WebSocket, and with the socket closed
    and the route gone (a 404) through the server function."""
    from support.browser import demo_page

    with demo_page(build_scene_demo(scene_runs, None)) as page:
        page.wait_for_function("document.querySelector('.scene').socket", timeout=30_000)  # the route's, open
        page.evaluate(SRCS)
        page.locator(".scene-palette button").nth(2).click()  # window
        paint_rectangle(page, 60, 60, 200, 220)
        page.wait_for_function("window.__srcs.some((s) => s.startsWith('data:image/png'))", timeout=60_000)
        srcs = page.evaluate("window.__srcs")
        assert srcs[0].startswith("blob:") and srcs[-1].startswith("data:image/png"), srcs
        links = page.locator(".scene-download")
        assert all(links.nth(i).get_attribute("href").startswith("data:image/png") for i in range(2))
        page.locator("input[value=brush]").check()
        page.locator(".scene-palette button").nth(7).click()  # blind
        paint_rectangle(page, 230, 80, 300, 300)
        page.wait_for_function(
            "window.__srcs.filter((s) => s.startsWith('data:image/png')).length >= 2", timeout=60_000
        )
        colours = page.evaluate(CANVAS_COLOURS)
        assert {tuple(map(int, c.split(","))) for c in colours} <= set(FACADES.colours)
        assert len(colours) == 3  # facade, window, blind: no fringe of a fourth class
        page.screenshot(path=str(tmp_path / "scene.png"))
        assert page.evaluate("document.querySelector('.scene').socket.readyState") == 1  # still the way
        page.evaluate("document.querySelector('.scene').socket.close()")  # strokes are POSTed then
        page.wait_for_function("!document.querySelector('.scene').socket")
        page.evaluate(SRCS)
        paint_rectangle(page, 40, 240, 100, 280)
        page.wait_for_function("window.__srcs.length > 0", timeout=60_000)
        assert page.evaluate("window.__srcs")[0].startswith("blob:")
        page.wait_for_function("window.__srcs.some((s) => s.startsWith('data:image/png'))", timeout=60_000)
        page.evaluate("document.querySelector('.scene').dataset.route += '0'")  # a route the server has not
        page.evaluate(SRCS)
        page.locator("input[value=rect]").check()
        paint_rectangle(page, 40, 300, 140, 360)
        page.wait_for_function("window.__srcs.length > 0", timeout=60_000)
        assert page.evaluate("window.__srcs")[0].startswith("data:image/png")  # the server function
        assert page.evaluate("document.querySelector('.scene').dataset.route") is None
        assert page.locator(".scene-status").inner_text().startswith("SPADE models render")
        page.evaluate(SRCS)
        page.locator(".scene-random").click()  # a drawn facade, in class colours only
        page.wait_for_function(f"({CANVAS_COLOURS})().length > 3", timeout=60_000)  # the map is drawn
        page.wait_for_function("window.__srcs.length > 0", timeout=60_000)  # and answered
        colours = {tuple(map(int, c.split(","))) for c in page.evaluate(CANVAS_COLOURS)}
        assert colours <= set(FACADES.colours) and len(colours) > 3
