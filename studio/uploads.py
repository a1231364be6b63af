"""Image uploads that cannot cost the server: Gradio hands over the file undecoded, the size is
read from its header before any pixel is decoded, and messages name the visitor's file, never a
path on the server. Paths outside Gradio's upload folder and the demos' own example folders are
refused, so a crafted API call cannot make a demo read the disk."""

from __future__ import annotations

import atexit
import shutil
import tempfile
import uuid
from collections.abc import Sequence
from pathlib import Path

import gradio as gr
from gradio.utils import get_upload_folder
from PIL import Image

from engine.data.images import ImageLoadError, load_image
from engine.errors import UserError

MAX_SIDE = 4096  # uploads larger than this a side (in pixels) are refused before decoding
CACHE_CLEANUP = (3600, 3600)  # Gradio deletes its cached uploads and outputs hourly, after an hour


class MissingUpload(UserError):
    """Nothing uploaded yet: a hint to show, not an error."""


def image_upload(label: str, **kwargs) -> UndecodedImage:
    """An upload box whose value is the uploaded file's path, decoded later by `read_upload`."""
    kwargs.setdefault("sources", ["upload", "clipboard"])
    return UndecodedImage(label=label, type="filepath", image_mode=None, **kwargs)


class UndecodedImage(gr.Image):
    """gr.Image that hands over the uploaded file's path without opening it. Gradio's own opens
    the file to check or convert its mode: a corrupt file then fails inside Gradio with a bare
    "Error", and a 12000² px PNG of 168 kB costs ~700 MB. (No __init__ of its own: Gradio sends
    the browser the parameters of gr.Image's.)"""

    def get_block_name(self) -> str:
        return "image"  # the browser draws it with gr.Image's own front end

    def preprocess(self, payload):
        if payload is not None and payload.path and not (payload.url or "").startswith("data:"):
            return str(payload.path)
        return super().preprocess(payload)


def limit_decoding(max_side: int = MAX_SIDE) -> None:
    """Make Pillow refuse, from the header, any image over 2 x max_side² pixels wherever it is
    opened (Gradio's own components included): a decompression bomb never reaches memory."""
    Image.MAX_IMAGE_PIXELS = max_side * max_side


def read_upload(
    path: str | None,
    what: str,
    roots: Sequence[Path] = (),
    mode: str | None = "RGB",
    max_side: int = MAX_SIDE,
) -> Image.Image:
    """The uploaded `what` image ("content", "hint"...) decoded and converted to `mode`, after
    its size was checked from the header (None keeps the file's mode: a hint image's alpha). `roots`: the folders besides Gradio's uploads it may
    come from (the demo's examples)."""
    if not path:
        raise MissingUpload(
            f"Add {'an' if what[0] in 'aeiou' else 'a'} {what} image: upload one or pick an example."
        )
    resolved = Path(path).resolve()
    allowed = [Path(get_upload_folder()).resolve(), *(Path(r).resolve() for r in roots)]
    if not any(resolved.is_relative_to(root) for root in allowed):
        raise ImageLoadError(f"the {what} image must be an upload or one of the examples")
    try:
        return load_image(resolved, mode, max_side * max_side)
    except ImageLoadError as err:
        message = str(err).replace(str(resolved), resolved.name).replace(str(path), resolved.name)
        raise ImageLoadError(f"the {what} image: {message}") from None


class ScratchFolder:
    """Files a demo writes for Gradio to serve (GIFs, sampled pictures): one temporary folder
    that keeps only the newest `keep` files (Gradio serves copies from its own cache) and is
    removed when the process ends."""

    def __init__(self, keep: int = 8, suffix: str = ".png") -> None:
        self.folder, self.keep, self.suffix = Path(tempfile.mkdtemp(prefix="studio-scratch-")), keep, suffix
        atexit.register(shutil.rmtree, self.folder, ignore_errors=True)

    def new_path(self) -> Path:
        old = sorted(self.folder.glob(f"*{self.suffix}"), key=lambda p: p.stat().st_mtime)
        for path in old[: max(0, len(old) - self.keep + 1)]:
            path.unlink(missing_ok=True)
        return self.folder / f"{uuid.uuid4().hex}{self.suffix}"
