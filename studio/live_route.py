"""A route of its own for the live canvas's answer to each stroke (and Paint a scene's).

The per-stroke answer does not go through a Gradio server function. On a 2-core CPU that path
(JSON in and out, the shoe as a base64 PNG data URL made with zlib, Gradio's argument handling
and its worker limiter) cost about 28 ms around a model call of 16-25 ms. Issue 24 gives a whole
stroke 30 ms.

This route takes the same list of values as the canvas's server function, as JSON. The page
sends them over a WebSocket at the route's address (one text message a stroke, one binary
message back): in chromium on the development VM a WebSocket's round trip took 2.3-2.6 ms where
a fetch's took 4.8-5.4 ms. The same address takes them as a POST body too (scripts, and a page
whose WebSocket will not open, as behind a proxy that refuses them). It answers with the shoe
as JPEG bytes (quality 95: 0.2 ms to encode, 16 kB, no visible loss; the PNG that is downloaded
comes with the full answer once the pen rests). The message rides in a header (POST) or in the
frame's JSON head (WebSocket, `frame`), with how long the answer waited for the inference thread
and ran on it (`wait`, `answer`, in ms; for a POST a Server-Timing header, which browsers'
developer tools show; bench/sketch_latency.py splits a stroke's time with them).

Each stroke is answered on the server's inference thread (engine/runtime/inference_thread.py),
its JPEGs included.

The route is put into the Blocks' FastAPI app the first time a page asks for its address
(`install`, from a server function that has the request). Gradio makes that app at launch, which
may happen in the studio, an exported Space, a test or a bench, and a component cannot reach
the app before then. A page whose server has no route (an old tab) keeps to the server function.

A canvas with several answers to a stroke (Paint a scene: one photo per model) gets them as one
body of JPEGs one after the other, their byte lengths in a header or the frame's head (0: no
image for that one). A WebSocket from a page of another origin is refused (the address is
unguessable too).
`JS` is the page side both canvases share: ask for the address, open its socket, send a stroke
(posting it when the socket is not open), show its images.
"""

from __future__ import annotations

import io
import json
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote, urlsplit

import gradio as gr
from fastapi import FastAPI, Request, Response, WebSocket, WebSocketDisconnect
from PIL import Image
from starlette.routing import Route, WebSocketRoute

from engine.runtime.inference_thread import run_inference_async

PREFIX = "/studio-live"
MAX_BODY = 8 * 2**20  # bytes: a drawing, a hint layer and a look's photo as data URLs are far less
JPEG_QUALITY = 95

# (image, one image or None per output, or None; message) for the canvas's list of values
StrokeAnswer = tuple[Image.Image | Sequence[Image.Image | None] | None, str]
StrokeHandler = Callable[[object], StrokeAnswer]

T = TypeVar("T")

_handlers: dict[str, StrokeHandler] = {}
_lock = threading.Lock()
JS = (Path(__file__).resolve().parent / "live_route.js").read_text()  # the page side, for js_on_load


def register(handler: StrokeHandler) -> str:
    """A new canvas's address under PREFIX (unguessable: it names one canvas of one demo)."""
    token = secrets.token_hex(8)
    _handlers[token] = handler
    return f"{PREFIX}/{token}"


def remembering_last(compute: Callable[[object], T], keep: Callable[[T], bool]) -> Callable[[object], T]:
    """`compute` that keeps its answer to the last values it was given (when `keep` accepts the
    answer) and gives it again for the same values: the page's request once the pen rests
    repeats the stroke's values (for the PNGs), and a 2-core CPU has no second render to spare
    while the person draws on."""
    last: list[tuple[object, T]] = []

    def remembered(values: object) -> T:
        kept = last[0] if last else None
        if kept is not None and kept[0] == values:
            return kept[1]
        answer = compute(values)
        if keep(answer):
            last[:] = [(values, answer)]
        return answer

    return remembered


def serve(handler: StrokeHandler) -> Callable:
    """A new canvas's route for `handler`, and the server function `stroke_route` that the page
    (JS's askRoute) calls for its address; the first call installs the route into the app."""
    path = register(handler)

    def stroke_route(_: list, request: gr.Request) -> str:
        install(request.app)
        return path

    return stroke_route


def install(app: FastAPI) -> None:
    """Put the route first in `app`'s router, once (before any catch-all of Gradio's)."""
    with _lock:
        if getattr(app.state, "studio_live_route", False):
            return
        app.router.routes.insert(0, Route(PREFIX + "/{token}", answer, methods=["POST"]))
        app.router.routes.insert(0, WebSocketRoute(PREFIX + "/{token}", answer_socket))
        app.state.studio_live_route = True


@dataclass
class Reply:
    """An answer to a stroke, for either way in: `body` is one JPEG, or with `parts` several,
    one after the other, of these byte lengths (0 for none); `timing`: ms waited, answered."""

    status: int
    message: str
    body: bytes = b""
    parts: list[int] | None = None
    timing: dict[str, float] = field(default_factory=dict)


GONE = Reply(404, "This canvas is no longer served; reload the page.")
TOO_LARGE = Reply(413, f"Could not use that: the request is over {MAX_BODY / 2**20:g} MB")


def jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()


def jpegs(images: Sequence[Image.Image | None]) -> tuple[bytes, list[int]]:
    """Several images as one body and each one's byte length (0 for None)."""
    encoded = [jpeg(image) if image is not None else b"" for image in images]
    return b"".join(encoded), [len(part) for part in encoded]


def as_response(reply: Reply) -> Response:
    """The reply over HTTP: its message (URL-encoded UTF-8: headers are Latin-1) and parts in
    headers, its timing as Server-Timing."""
    headers = {"X-Live-Message": quote(reply.message)}
    if reply.timing:
        headers["Server-Timing"] = ", ".join(f"{name};dur={ms:.1f}" for name, ms in reply.timing.items())
    if reply.parts is not None:
        headers["X-Live-Parts"] = ",".join(map(str, reply.parts))
    media = (
        "text/plain"
        if not reply.body
        else "image/jpeg"
        if reply.parts is None
        else "application/octet-stream"
    )
    return Response(reply.body, status_code=reply.status, headers=headers, media_type=media)


def frame(reply: Reply) -> bytes:
    """The reply as one WebSocket message: the byte length of a JSON head (4 bytes, big-endian),
    the head ({status, message, parts, timing}), then the body."""
    head = json.dumps(
        {"status": reply.status, "message": reply.message, "parts": reply.parts, "timing": reply.timing}
    ).encode()
    return len(head).to_bytes(4, "big") + head + reply.body


async def read_capped(request: Request) -> bytes | None:
    """The body, or None when it is (or announces itself) larger than MAX_BODY."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            return None
    return bytes(body)


async def answer(request: Request) -> Response:
    """POST PREFIX/TOKEN with the canvas's values as JSON -> the shoe's JPEG, or several JPEGs
    and their lengths (200), a message alone (204: nothing to draw yet; 400: the request could
    not be used; 404: no such canvas; 413: too large)."""
    handler = _handlers.get(request.path_params["token"])
    if handler is None:
        return as_response(GONE)
    body = await read_capped(request)
    return as_response(TOO_LARGE if body is None else await reply_to(handler, body))


def same_origin(socket: WebSocket) -> bool:
    """Whether the page that opened `socket` is the server's own (or no browser page at all)."""
    origin = socket.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == socket.headers.get("host")


async def answer_socket(socket: WebSocket) -> None:
    """PREFIX/TOKEN as a WebSocket: each message holds a stroke's values as JSON, each answer is
    one binary `frame` with the statuses of `answer`."""
    if not same_origin(socket):
        await socket.close(code=1008)  # before accepting: the handshake is refused (403)
        return
    handler = _handlers.get(socket.path_params["token"])
    await socket.accept()
    try:
        while True:
            message = await socket.receive()
            if message["type"] == "websocket.disconnect":
                return
            data = message.get("text") or message.get("bytes") or b""
            if handler is None:
                reply = GONE
            elif len(data) > MAX_BODY:
                reply = TOO_LARGE
            else:
                reply = await reply_to(handler, data)
            await socket.send_bytes(frame(reply))
    except WebSocketDisconnect:
        return


async def reply_to(handler: StrokeHandler, data: bytes | str) -> Reply:
    """The handler's reply to a JSON list of values, made on the inference thread."""
    try:
        values = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return Reply(400, "Could not use that: the request is not JSON")
    return await run_inference_async(respond, handler, values, time.perf_counter())


def respond(handler: StrokeHandler, values: object, asked: float) -> Reply:
    """The handler's answer to `values`, its JPEGs encoded: run on the inference thread, in one
    hop from the event loop (each hop between threads cost a stroke about a millisecond).
    `asked`: when the route handed it over (perf_counter), for the timing."""
    start = time.perf_counter()
    image, message = handler(values)
    several = image is not None and not isinstance(image, Image.Image)
    if image is None or (several and all(part is None for part in image)):
        reply = Reply(204 if not message.startswith("Could not use that") else 400, message)
    elif several:
        reply = Reply(200, message, *jpegs(image))
    else:
        reply = Reply(200, message, jpeg(image))
    reply.timing = {"wait": (start - asked) * 1000, "answer": (time.perf_counter() - start) * 1000}
    return reply
