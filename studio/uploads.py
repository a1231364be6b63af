"""Image uploads that cannot cost the server: Gradio hands over the file undecoded, the size is
read from its header before any pixel is decoded, and messages name the visitor's file, never a
path on the server. A normal camera photo (6000x4000) is decoded reduced (JPEG draft mode, then
Image.reduce) to the demo's working size; only pictures over MAX_MEGAPIXELS, or huge ones packed
into a few kilobytes (decompression bombs), are refused. Paths outside Gradio's upload folder and
the demos' own example folders are refused, so a crafted API call cannot make a demo read the disk."""

from __future__ import annotations

import atexit
import math
import shutil
import tempfile
import uuid
import warnings
from collections.abc import Sequence
from pathlib import Path

import gradio as gr
from gradio.components.image_editor import EditorData
from gradio.data_classes import ImageData
from gradio.utils import get_upload_folder
from PIL import Image, ImageOps

from engine.data.images import ImageLoadError, flatten_alpha, to_8bit
from engine.errors import UserError
from studio.inputs import checked_model

MAX_SIDE = 4096  # uploads larger than this a side are decoded reduced to it (or a demo's own side)
MAX_MEGAPIXELS = 100  # larger pictures are refused from their header (a 100 Mpx camera fits)
FULL_DECODE_PIXELS = MAX_SIDE * MAX_SIDE  # above this, a file that cannot decode reduced...
BOMB_PIXELS_PER_BYTE = 1000  # ...and packs more pixels per byte than any photo is a bomb
CACHE_CLEANUP = (3600, 3600)  # Gradio deletes its cached uploads and outputs hourly, after an hour


class MissingUpload(UserError):
    """Nothing uploaded yet: a hint to show, not an error."""


def image_upload(label: str, **kwargs) -> UndecodedImage:
    """An upload box whose value is the uploaded file's path, decoded later by `read_upload`.
    Inside a Blocks, a file that is not an image is taken out of the box again with one line
    (the browser would show a broken-image strip)."""
    kwargs.setdefault("sources", ["upload", "clipboard"])
    box = UndecodedImage(label=label, type="filepath", image_mode=None, **kwargs)
    if gr.context.Context.root_block is not None:
        box.upload(clear_unreadable, box, box, api_visibility="private", show_progress="hidden")
    return box


def clear_unreadable(path: str | None):
    """The upload box's value: None (with a one-line warning) for a file Pillow cannot open as an
    image, else unchanged. Only the header is read."""
    if not path:
        return gr.skip()
    try:
        with Image.open(path):
            return gr.skip()
    except Image.DecompressionBombError:
        return gr.skip()  # an image: the demo's own read says why it is refused
    except (OSError, ValueError, SyntaxError):
        gr.Warning(
            f"{Path(path).name} is not an image that can be read; it was removed. Upload a PNG or JPEG."
        )
        return None


class UndecodedImage(gr.Image):
    """gr.Image that hands over the uploaded file's path without opening it. Gradio's own opens
    the file to check or convert its mode: a corrupt file then fails inside Gradio with a bare
    "Error", and a 12000² px PNG of 168 kB costs ~700 MB. (No __init__ of its own: Gradio sends
    the browser the parameters of gr.Image's.)"""

    data_model = checked_model(ImageData)  # 123 or 'x' sent through the API: one line

    def get_block_name(self) -> str:
        return "image"  # the browser draws it with gr.Image's own front end

    def preprocess(self, payload):
        if payload is not None and payload.path and not (payload.url or "").startswith("data:"):
            return str(payload.path)
        try:  # a data URL, or no path at all
            return super().preprocess(payload)
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
            raise gr.Error(
                f"{self.label or 'Image'}: what was sent is not an image that can be read."
            ) from None


class DrawingPad(gr.Sketchpad):
    """gr.Sketchpad for a drawing sent to the API: each file's size is read from its header before
    Gradio decodes it, and a drawing that cannot be used (corrupt, a bomb, over MAX_SIDE a side)
    reaches the function as the ImageLoadError saying why, so the demo answers in its status
    instead of a bare error event. (No __init__ of its own, as UndecodedImage.)"""

    data_model = checked_model(EditorData)  # 123 or 'x' sent through the API: one line

    def get_block_name(self) -> str:
        return "imageeditor"  # gr.Sketchpad's own front end

    def preprocess(self, payload):
        files = [] if payload is None else [payload.background, payload.composite, *payload.layers]
        try:
            for file in files:
                if file is not None and file.path:
                    with Image.open(file.path) as img:
                        check_pixels(img, "the drawing", Path(file.path).stat().st_size)
                        if max(img.size) > MAX_SIDE:
                            raise ImageLoadError(f"the drawing is over {MAX_SIDE} px a side")
            return super().preprocess(payload)
        except ImageLoadError as err:
            return err
        except Image.DecompressionBombError:
            return ImageLoadError(f"the drawing is over the {MAX_MEGAPIXELS}-megapixel limit")
        except (OSError, ValueError, SyntaxError):
            return ImageLoadError("the drawing is not an image that can be read")


def limit_decoding(max_side: int = MAX_SIDE) -> None:
    """Make Pillow refuse, from the header, any image over 2 x MAX_MEGAPIXELS wherever it is
    opened (Gradio's own components included): a decompression bomb never reaches memory.
    (`max_side` is kept for callers of the older signature.)"""
    Image.MAX_IMAGE_PIXELS = MAX_MEGAPIXELS * 10**6


def check_pixels(img: Image.Image, name: str, file_bytes: int) -> None:
    """Refuse from the header what would cost too much to decode, saying the limit in megapixels."""
    pixels = img.width * img.height
    megapixels = f"{pixels / 1e6:.0f} megapixels"
    if pixels > MAX_MEGAPIXELS * 10**6:
        raise ImageLoadError(
            f"{name}: {img.width}x{img.height} ({megapixels}) is over the {MAX_MEGAPIXELS}-megapixel limit"
        )
    if img.format != "JPEG" and pixels > FULL_DECODE_PIXELS and pixels > file_bytes * BOMB_PIXELS_PER_BYTE:
        raise ImageLoadError(
            f"{name}: {img.width}x{img.height} ({megapixels}) in {file_bytes / 1e3:.0f} kB looks like a "
            "decompression bomb; not decoding it"
        )


def decode_reduced(path: Path, mode: str | None, max_side: int) -> Image.Image:
    """The file decoded with its long side at most `max_side` (EXIF orientation applied): JPEGs
    decode at 1/2, 1/4 or 1/8 scale directly (draft mode), other formats reduce by box averaging
    right after decoding; a picture within `max_side` is decoded as it is."""
    with warnings.catch_warnings():  # over MAX_IMAGE_PIXELS: check_pixels says it in one line
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        img = Image.open(path)
    with img:
        check_pixels(img, path.name, path.stat().st_size)
        if max(img.size) > max_side and img.format == "JPEG":
            scale = max(img.size) / max_side
            img.draft("RGB", (math.ceil(img.width / scale), math.ceil(img.height / scale)))
        img.load()
        if max(img.size) > max_side:
            img = img.reduce(max(1, max(img.size) // max_side))
            if max(img.size) > max_side:
                img.thumbnail((max_side, max_side), Image.BICUBIC)
        img = ImageOps.exif_transpose(img)
        if mode is None:
            return img
        img = to_8bit(img)
        return flatten_alpha(img).convert(mode) if mode != "RGBA" else img.convert(mode)


def read_upload(
    path: str | None,
    what: str,
    roots: Sequence[Path] = (),
    mode: str | None = "RGB",
    max_side: int = MAX_SIDE,
) -> Image.Image:
    """The uploaded `what` image ("content", "hint"...) decoded (reduced to `max_side` a side
    when larger) and converted to `mode` (None keeps the file's mode: a hint image's alpha),
    after its size was checked from the header. `roots`: the folders besides Gradio's uploads
    it may come from (the demo's examples)."""
    if not path:
        raise MissingUpload(
            f"Add {'an' if what[0] in 'aeiou' else 'a'} {what} image: upload one or pick an example."
        )
    resolved = Path(path).resolve()
    allowed = [Path(get_upload_folder()).resolve(), *(Path(r).resolve() for r in roots)]
    if not any(resolved.is_relative_to(root) for root in allowed):
        raise ImageLoadError(f"the {what} image must be an upload or one of the examples")
    try:
        return decode_reduced(resolved, mode, max_side)
    except ImageLoadError as err:
        raise ImageLoadError(f"the {what} image: {err}") from None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
        message = str(err).replace(str(resolved), resolved.name).replace(str(path), resolved.name)
        raise ImageLoadError(f"the {what} image: cannot read image {resolved.name}: {message}") from None


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

    def named_path(self, name: str) -> Path:
        """A new path whose file name is `name` (what a download is called: "shoe.png"), in a
        subfolder of its own; only the newest `keep` subfolders are kept."""
        old = sorted((p for p in self.folder.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
        for path in old[: max(0, len(old) - self.keep + 1)]:
            shutil.rmtree(path, ignore_errors=True)
        folder = self.folder / uuid.uuid4().hex
        folder.mkdir()
        return folder / name
