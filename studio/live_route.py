"""A plain HTTP route for the live canvas's answer to each stroke (and Paint a scene's).

The per-stroke answer does not go through a Gradio server function. On a 2-core CPU that path
(JSON in and out, the shoe as a base64 PNG data URL made with zlib, Gradio's argument handling
and its worker limiter) cost about 28 ms around a model call of 16-25 ms. Issue 24 gives a whole
stroke 30 ms.

This route takes the same list of values as the canvas's server function, as a JSON body. It
answers with the shoe as JPEG bytes (quality 95: 0.2 ms to encode, 16 kB, no visible loss; the
PNG that is downloaded comes with the full answer once the pen rests). The message rides in a header,
and a Server-Timing header says how long the answer waited for the inference thread and ran on
it (`wait`, `answer`, in ms: browsers' developer tools show them; bench/sketch_latency.py splits
a stroke's time with them).

Each stroke is answered on the server's inference thread (engine/runtime/inference_thread.py),
its JPEGs included.

The route is put into the Blocks' FastAPI app the first time a page asks for its address
(`install`, from a server function that has the request). Gradio makes that app at launch, which
may happen in the studio, an exported Space, a test or a bench, and a component cannot reach
the app before then. A page whose server has no route (an old tab) keeps to the server function.

A canvas with several answers to a stroke (Paint a scene: one photo per model) gets them as one
body of JPEGs one after the other, their byte lengths in a header (0: no image for that one).
`JS` is the page side both canvases share: ask for the address, post a stroke, show its images.
"""

from __future__ import annotations

import io
import json
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import quote

import gradio as gr
from fastapi import FastAPI, Request, Response
from PIL import Image
from starlette.routing import Route

from engine.runtime.inference_thread import run_inference_async

PREFIX = "/studio-live"
MAX_BODY = 8 * 2**20  # bytes: a drawing, a hint layer and a look's photo as data URLs are far less
JPEG_QUALITY = 95

# (image, one image or None per output, or None; message) for the canvas's list of values
StrokeAnswer = tuple[Image.Image | Sequence[Image.Image | None] | None, str]
StrokeHandler = Callable[[object], StrokeAnswer]

_handlers: dict[str, StrokeHandler] = {}
_lock = threading.Lock()
JS = (Path(__file__).resolve().parent / "live_route.js").read_text()  # the page side, for js_on_load


def register(handler: StrokeHandler) -> str:
    """A new canvas's address under PREFIX (unguessable: it names one canvas of one demo)."""
    token = secrets.token_hex(8)
    _handlers[token] = handler
    return f"{PREFIX}/{token}"


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
        app.state.studio_live_route = True


def jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()


def said(
    message: str, status: int, body: bytes = b"", parts: list[int] | None = None, timing: str = ""
) -> Response:
    """A response whose message (URL-encoded UTF-8: headers are Latin-1) the page shows; with
    `parts`, the body is that many JPEGs of these byte lengths, one after the other; `timing`:
    a Server-Timing value."""
    headers = {"X-Live-Message": quote(message)}
    if timing:
        headers["Server-Timing"] = timing
    if parts is not None:
        headers["X-Live-Parts"] = ",".join(map(str, parts))
    media = "text/plain" if not body else "image/jpeg" if parts is None else "application/octet-stream"
    return Response(body, status_code=status, headers=headers, media_type=media)


def jpegs(images: Sequence[Image.Image | None]) -> tuple[bytes, list[int]]:
    """Several images as one body and each one's byte length (0 for None)."""
    encoded = [jpeg(image) if image is not None else b"" for image in images]
    return b"".join(encoded), [len(part) for part in encoded]


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
    not be used; 413: too large)."""
    handler = _handlers.get(request.path_params["token"])
    if handler is None:
        return said("This canvas is no longer served; reload the page.", 404)
    body = await read_capped(request)
    if body is None:
        return said(f"Could not use that: the request is over {MAX_BODY / 2**20:g} MB", 413)
    try:
        values = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return said("Could not use that: the request is not JSON", 400)
    return await run_inference_async(respond, handler, values, time.perf_counter())


def respond(handler: StrokeHandler, values: object, asked: float) -> Response:
    """The handler's answer to `values` as a response: run on the inference thread, in one hop
    from the event loop (each hop between threads cost a stroke about a millisecond). `asked`:
    when the route handed it over (perf_counter), for the Server-Timing header."""
    start = time.perf_counter()
    image, message = handler(values)
    several = image is not None and not isinstance(image, Image.Image)
    if image is None or (several and all(part is None for part in image)):
        body, parts, status = b"", None, 204 if not message.startswith("Could not use that") else 400
    elif several:
        (body, parts), status = jpegs(image), 200
    else:
        body, parts, status = jpeg(image), None, 200
    timing = f"wait;dur={(start - asked) * 1000:.1f}, answer;dur={(time.perf_counter() - start) * 1000:.1f}"
    return said(message, status, body, parts, timing)
