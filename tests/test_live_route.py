"""The live canvas's per-stroke route (studio/live_route.py) over real HTTP: the page asks the
canvas's server function for the address, which installs the route into the launched app; a
stroke's values as JSON come back as the shoe's JPEG (the server function's PNG up to JPEG's loss);
junk, an unknown canvas and an oversized body get a status and a message, never an HTTP 500."""

from __future__ import annotations

import base64
import io
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from email.message import Message

import pytest
import torch
from PIL import Image
from test_gradio_api import drawing_url

from studio import live_route
from support.api import data_url, html_block, launched, png_bomb, server_function

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


def post(url: str, body: bytes) -> tuple[int, Message, bytes]:
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def message(headers: Message) -> str:
    return urllib.parse.unquote(headers.get("X-Live-Message", ""))


def test_a_stroke_comes_back_as_a_jpeg_by_the_canvas_route(monkeypatch):
    from studio.sketch import build_sketch_demo

    torch.set_num_threads(1)
    demo = build_sketch_demo(drafts={})  # strokes by the model itself (drafts: the next test)
    canvas = html_block(demo, "live-canvas")
    with launched(demo) as url:
        status, path = server_function(url, canvas, "stroke_route", [])
        assert status == 200 and path.startswith(live_route.PREFIX + "/")
        assert server_function(url, canvas, "stroke_route", [])[1] == path  # installed once, same address
        route = url.rstrip("/") + path
        drawn = drawing_url()
        status, headers, body = post(route, json.dumps([drawn]).encode())
        assert status == 200 and headers["Content-Type"] == "image/jpeg"
        timing = dict(part.strip().split(";dur=") for part in headers["Server-Timing"].split(","))
        assert set(timing) == {"wait", "answer"} and float(timing["answer"]) > 0 <= float(timing["wait"])
        shoe = Image.open(io.BytesIO(body))
        assert shoe.format == "JPEG" and shoe.size == (256, 256)
        full = shoe.convert("RGB")
        _, photo, _ = server_function(url, canvas, "translate", [drawn])[1]
        png = Image.open(io.BytesIO(base64.b64decode(photo.partition(",")[2]))).convert("RGB")
        diff = sum(abs(a - b) for a, b in zip(full.tobytes(), png.tobytes())) / len(png.tobytes())
        assert diff < 3  # the same shoe as the server function's PNG, up to JPEG's loss (of 255)

        bomb = data_url(png_bomb())
        for junk, status_said, said in [
            (b"not json", 400, "not JSON"),
            (json.dumps(123).encode(), 400, "list of values"),
            (json.dumps([bomb]).encode(), 400, "the drawing is too large"),
            (json.dumps([drawn, "", 2**70]).encode(), 400, "whole number"),
            (json.dumps([drawn, "", "", "", "/etc/passwd"]).encode(), 400, "unknown model"),
        ]:
            status, headers, body = post(route, junk)
            assert status == status_said and said in message(headers) and not body, (
                junk[:40],
                message(headers),
            )
        monkeypatch.setattr(live_route, "MAX_BODY", 2**16)  # small, so the refused body fits the socket
        status, headers, body = post(route, b"x" * (2**16 + 1))
        assert status == 413 and "request is over" in message(headers) and not body
        blank = data_url(_png(Image.new("RGB", (256, 256), "white")))
        status, headers, body = post(route, json.dumps([blank]).encode())
        assert status == 204 and not body  # nothing drawn yet: nothing to show, no error
        status, headers, _ = post(url.rstrip("/") + live_route.PREFIX + "/0000", json.dumps([drawn]).encode())
        assert status == 404 and "reload the page" in message(headers)
        status, headers, body = post(route, json.dumps([drawn]).encode())
        assert status == 200 and body  # still answering after the junk


def mean_difference(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute difference of two RGB images, in grey levels (of 255)."""
    a, b = a.convert("RGB"), b.convert("RGB")
    return sum(abs(x - y) for x, y in zip(a.tobytes(), b.tobytes())) / len(a.tobytes())


def test_strokes_are_drafted_by_the_student_and_the_pen_s_rest_redrawn_by_the_model():
    from engine.pipelines.sketch import SketchPipeline
    from studio.live_canvas import decode_data_url
    from studio.sketch import build_sketch_demo

    torch.set_num_threads(1)
    demo = build_sketch_demo({"default": "default"}, drafts={"default": "default-live"})
    canvas = html_block(demo, "live-canvas")
    assert canvas.js_on_load.split("const DRAFTED = ")[1].split(";")[0] == '["default"]'
    drawn = drawing_url()
    drawing = decode_data_url(drawn)
    student = SketchPipeline.load("default-live")(drawing).photo
    teacher = SketchPipeline.load("default")(drawing).photo
    with launched(demo) as url:
        route = url.rstrip("/") + server_function(url, canvas, "stroke_route", [])[1]
        status, _, body = post(route, json.dumps([drawn]).encode())
        assert status == 200
        stroke = Image.open(io.BytesIO(body))
        _, photo, _ = server_function(url, canvas, "translate", [drawn])[1]
        rest = Image.open(io.BytesIO(base64.b64decode(photo.partition(",")[2])))
    assert mean_difference(stroke, student) < 3  # the student's shoe, up to JPEG's loss
    assert mean_difference(rest, teacher) < 0.5  # the PNG once the pen rests: the model's own
    assert mean_difference(student, teacher) > 3  # two different networks


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def test_several_images_come_back_as_one_body_with_their_lengths():
    """A canvas with one answer per model (Paint a scene): JPEGs one after the other, each one's
    byte length in X-Live-Parts (0 where a model gave none); none at all is a message alone."""
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    app = FastAPI()
    live_route.install(app)
    live_route.install(app)  # once: a second install adds no second route
    same_path = [r for r in app.router.routes if getattr(r, "path", "") == live_route.PREFIX + "/{token}"]
    assert sorted(type(r).__name__ for r in same_path) == ["Route", "WebSocketRoute"]  # a POST and a socket
    red, blue = Image.new("RGB", (32, 32), (220, 20, 20)), Image.new("RGB", (48, 16), (20, 20, 220))
    answers = {"three": ([red, None, blue], "two of three"), "none": ([None, None], "Could not use that: no")}
    paths = {name: live_route.register(lambda values, name=name: answers[name]) for name in answers}
    client = TestClient(app)
    response = client.post(paths["three"], content=b"[]")
    assert response.status_code == 200 and message(response.headers) == "two of three"
    lengths = [int(n) for n in response.headers["X-Live-Parts"].split(",")]
    assert lengths[1] == 0 and lengths[0] > 0 and lengths[2] > 0 and sum(lengths) == len(response.content)
    first = Image.open(io.BytesIO(response.content[: lengths[0]]))
    last = Image.open(io.BytesIO(response.content[lengths[0] :]))
    assert (first.format, first.size, last.size) == ("JPEG", (32, 32), (48, 16))
    assert max(abs(a - b) for a, b in zip(first.getpixel((16, 16)), (220, 20, 20))) < 8
    assert max(abs(a - b) for a, b in zip(last.getpixel((24, 8)), (20, 20, 220))) < 8
    response = client.post(paths["none"], content=b"[]")
    assert response.status_code == 400 and not response.content and "X-Live-Parts" not in response.headers


def read_frame(data: bytes) -> tuple[dict, bytes]:
    size = int.from_bytes(data[:4], "big")
    return json.loads(data[4 : 4 + size]), data[4 + size :]


def test_the_route_answers_over_a_websocket_as_over_http():
    """The page's way in: one JSON text message a stroke, one binary frame back (a JSON head with
    status, message, parts and timing, then the JPEGs); junk, an unknown canvas and a page of
    another origin get what a POST gets, and the socket goes on after a bad message."""
    from fastapi import FastAPI
    from fastapi.testclient import TestClient
    from starlette.websockets import WebSocketDisconnect

    app = FastAPI()
    live_route.install(app)
    red = Image.new("RGB", (32, 32), (220, 20, 20))
    path = live_route.register(lambda values: ([red, None] if values == ["two"] else red, f"got {values}"))
    client = TestClient(app)
    with client.websocket_connect(path) as socket:
        socket.send_text(json.dumps(["one"]))
        head, body = read_frame(socket.receive_bytes())
        assert head["status"] == 200 and head["message"] == "got ['one']" and head["parts"] is None
        assert set(head["timing"]) == {"wait", "answer"} and head["timing"]["answer"] > 0
        assert Image.open(io.BytesIO(body)).size == (32, 32)
        assert body == client.post(path, content=b'["one"]').content  # the same JPEG as a POST's
        socket.send_text("not json")
        head, body = read_frame(socket.receive_bytes())
        assert head["status"] == 400 and "not JSON" in head["message"] and not body
        socket.send_text(json.dumps(["two"]))  # still answering, several parts too
        head, body = read_frame(socket.receive_bytes())
        assert head["status"] == 200 and head["parts"][1] == 0 and sum(head["parts"]) == len(body)
    with client.websocket_connect(live_route.PREFIX + "/0000") as socket:
        socket.send_text("[]")
        head, body = read_frame(socket.receive_bytes())
        assert head["status"] == 404 and "reload the page" in head["message"] and not body
    with pytest.raises(WebSocketDisconnect):  # another site's page may not use the canvas
        with client.websocket_connect(path, headers={"origin": "http://elsewhere.example"}) as socket:
            socket.send_text("[]")
            socket.receive_bytes()
    with client.websocket_connect(path, headers={"origin": "http://testserver"}) as socket:
        socket.send_text(json.dumps(["one"]))
        assert read_frame(socket.receive_bytes())[0]["status"] == 200


def test_the_last_answer_is_given_again_for_the_same_values():
    """The request once the pen rests repeats the stroke's values: it gets the stroke's answer
    without a second render; other values, and after them the first again, are computed; an
    answer `keep` refuses (an error) is computed every time."""
    calls = []

    def compute(values):
        calls.append(values)
        return ("shoe", values[0]) if values[0] != "bad" else (None, "Could not use that: bad")

    remembered = live_route.remembering_last(compute, lambda answer: answer[0] is not None)
    assert remembered(["a", ""]) == ("shoe", "a") and remembered(["a", ""]) == ("shoe", "a")
    assert calls == [["a", ""]]
    assert remembered(["b", ""]) == ("shoe", "b") and remembered(["a", ""]) == ("shoe", "a")
    assert remembered(["bad"]) == remembered(["bad"]) == (None, "Could not use that: bad")
    assert calls == [["a", ""], ["b", ""], ["a", ""], ["bad"], ["bad"]]
