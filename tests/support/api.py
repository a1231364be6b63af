"""Crafted calls to a launched Gradio demo: bad values for every input of an endpoint, broken
and bomb images, and the canvases' server functions over HTTP."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import struct
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterator
from pathlib import Path

import gradio as gr
from PIL import Image

from support.servers import free_port

BARE = "has not enabled verbose error reporting"  # gradio_client's text for an error without a message
BAD_VALUES = ("x", 2**70, 1e30, [1], {"a": 1})


def png_bomb(side: int = 30000) -> bytes:
    """A PNG whose header says side x side grey pixels (900 Mpx at 30000) in a few kB; only the
    first rows are there, which is all a header check should ever read."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"\0" * (side + 1) * 4)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


def corrupt_png(size: int = 64) -> bytes:
    """A real PNG cut in half: its header reads, its pixels do not."""
    buffer = io.BytesIO()
    Image.effect_noise((size, size), 60).convert("RGB").save(buffer, "PNG")
    return buffer.getvalue()[: len(buffer.getvalue()) // 2]


def write_bad_images(folder: Path) -> dict[str, Path]:
    """corrupt.png, bomb.png and not-an-image.png in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {"corrupt": corrupt_png(), "bomb": png_bomb(), "text": b"just some text"}
    paths = {name: folder / f"{name}.png" for name in files}
    for name, path in paths.items():
        path.write_bytes(files[name])
    return paths


def data_url(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()


@contextlib.contextmanager
def launched(demo: gr.Blocks, **options) -> Iterator[str]:
    """The demo served on a free port for the block: yields its URL."""
    demo.launch(
        prevent_thread_lock=True, server_name="127.0.0.1", server_port=free_port(), quiet=True, **options
    )
    try:
        yield demo.local_url
    finally:
        demo.close()


def answer(client, *args, api_name: str):
    """The endpoint's outputs, or the message of a refused call (str); fails on a bare error."""
    from gradio_client.exceptions import AppError

    try:
        return client.predict(*args, api_name=api_name)
    except AppError as err:
        assert BARE not in str(err), f"bare error from {api_name}{args!r:.300}"
        return str(err)


def try_bad_values(client, good: list, api_name: str, positions: range | None = None) -> list:
    """Send each input of the endpoint (or those at `positions`) each of BAD_VALUES, the others
    good: every call answers with outputs or a one-line message. Returns what each answered."""
    answers = []
    for i in positions if positions is not None else range(len(good)):
        for bad in BAD_VALUES:
            args = [*good[:i], bad, *good[i + 1 :]]
            answers.append(answer(client, *args, api_name=api_name))
    return answers


def server_function(url: str, block: gr.components.Component, name: str, data: object) -> tuple[int, object]:
    """POST to Gradio's component server as a page's JS `server.NAME(data)` does: (HTTP status,
    the JSON answer or the error text)."""
    body = json.dumps({"data": data, "component_id": block._id, "session_hash": "probe", "fn_name": name})
    request = urllib.request.Request(
        url.rstrip("/") + "/gradio_api/component_server", body.encode(), {"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode(errors="replace")


def post_upload(url: str, size: int) -> int:
    """The HTTP status of a `size`-byte file sent to Gradio's upload route."""
    boundary = "studio-test-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="big.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode()
    body = head + b"\0" * size + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(
        url.rstrip("/") + "/gradio_api/upload",
        body,
        {"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


def html_block(demo: gr.Blocks, elem_id: str) -> gr.HTML:
    """The demo's gr.HTML with this elem_id (a live canvas)."""
    return next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == elem_id)
