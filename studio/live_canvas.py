"""A light drawing canvas for the live sketch path: strokes -> shoe in tens of milliseconds.

Gradio's ImageEditor exports and uploads its layers after every stroke before a request even
starts (the README's latency section has the figure). This canvas is plain HTML: on pointer-up it sends a 256 px PNG data URL
(and, once colour was painted, a second one: the transparent hint layer) straight to a server
function and shows the two images it gets back. The server function only
ever runs the demo's own first model and caps what it decodes.
"""

from __future__ import annotations

import base64
import io
import json
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import gradio as gr
from PIL import Image

from engine.errors import UserError
from engine.pipelines.sketch import Look
from studio import live_route
from studio.inputs import MAX_SEED, read_seed, read_whole, server_args, shown

MAX_DATA_URL = 4 * 2**20  # a 256 px PNG is a few kB; refuse anything near this
MAX_CANVAS_SIDE = 1024  # px: the canvases send 256

HTML = """
<div class="live">
  <div>
    <label class="live-model-label" hidden>Model <select class="live-model"></select></label>
    <div class="live-stack">
      <canvas width="256" height="256" class="live-canvas"></canvas>
      <canvas width="256" height="256" class="live-hints"></canvas>
    </div>
    <div class="live-bar">
      <label><input type="radio" name="live-tool" value="pen" checked> pen</label>
      <label><input type="radio" name="live-tool" value="colour" class="live-colour-tool"> colour
        <input type="color" class="live-colour" value="#b03a2e" title="hint colour"></label>
      <label><input type="radio" name="live-tool" value="eraser" class="live-erase"> eraser</label>
    </div>
    <div class="live-bar">
      <label>size <input type="range" class="live-size" min="1" max="8" value="2"></label>
      <button class="live-undo">undo</button> <button class="live-clear">clear</button>
    </div>
  </div>
  <figure class="live-answer"><img class="live-photo" alt=""><figcaption><span class="live-caption">the shoe appears
    here</span> <a class="live-download" download="shoe.png">download shoe.png</a>
    <span class="live-status"></span></figcaption>
    <div class="live-looks" hidden>
      <div class="live-looks-row"></div>
      <div class="live-bar"><button class="live-more">more looks</button>
        <button class="live-typical">typical look</button>
        <label class="live-ref-label">look of a photo <input type="file" accept="image/*" class="live-ref"></label></div>
      <span class="live-look-name">typical look</span>
    </div>
    <details class="live-seen"><summary>what the model sees</summary><img class="live-edges" alt=""></details>
  </figure>
</div>
"""
CSS = """
.live { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
.live-stack { position: relative; width: 384px; height: 384px; }
.live-stack canvas { position: absolute; left: 0; top: 0; width: 384px; height: 384px; }
.live-canvas { border: 1px solid #ccc; touch-action: none; cursor: crosshair; }
.live-hints { pointer-events: none; border: 1px solid transparent; }
.live figure { margin: 0; }
.live figure img { width: 320px; height: 320px; background: #fafafa; border: 1px solid #eee; display: block; }
.live figure .live-seen img { width: 160px; height: 160px; }
.live-seen summary { cursor: pointer; color: #666; margin-top: 6px; }
.live-model-label { display: block; margin-bottom: 6px; }
.live-model-label[hidden] { display: none; }
.live-bar { margin: 6px 0; display: flex; gap: 12px; align-items: center; }
.live-download:not([href]) { display: none; }
.live-looks { max-width: 330px; }
.live-looks .live-bar { flex-wrap: wrap; gap: 6px; }
.live-looks-row { display: flex; gap: 4px; margin-top: 6px; }
.live figure .live-looks-row img { width: 76px; height: 76px; border: 2px solid #eee; cursor: pointer; }
.live-looks-row img.chosen { border-color: #f97316; }
.live-ref { max-width: 180px; }
"""
# the page code, in its own file, after the per-stroke route's (shared with Paint a scene)
JS = live_route.JS + (Path(__file__).resolve().parent / "live_canvas.js").read_text()


def decode_data_url(data_url: object, what: str = "drawing") -> Image.Image:
    """A PNG data URL from the canvas -> PIL image, decoded (it is small); anything else (not a
    string, too long, not a PNG, corrupt, a bomb: its header is read first) is one line."""
    if not isinstance(data_url, str):
        raise UserError(f"expected the {what} as a PNG data URL, not {shown(data_url)}")
    if len(data_url) > MAX_DATA_URL:
        raise UserError(f"the {what} is too large")
    header, _, payload = data_url.partition(",")
    if header != "data:image/png;base64":
        raise UserError(f"expected a PNG {what}")
    unreadable = UserError(f"the {what} is not a PNG image that can be read")
    try:
        with warnings.catch_warnings():  # a large header is refused just below, in one line
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(base64.b64decode(payload, validate=True)))
    except Image.DecompressionBombError:
        raise UserError(f"the {what} is too large") from None
    except (OSError, ValueError, SyntaxError):
        raise unreadable from None
    if max(img.size) > MAX_CANVAS_SIDE:
        raise UserError(f"the {what} is too large ({img.width}x{img.height}, over {MAX_CANVAS_SIDE} px)")
    try:
        img.load()
    except (OSError, ValueError, SyntaxError):
        raise unreadable from None
    return img


def encode_data_url(img: Image.Image) -> str:
    buffer = io.BytesIO()
    img.save(buffer, format="PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


LOOKS_IN_ROW = 4


def read_look(seed: object, reference_url: object) -> Look:
    """The look the page asked for: a seed ("" or None: none) or a reference photo's data URL."""
    if reference_url:
        return Look(reference=decode_data_url(reference_url, "look's photo"))
    if seed is None or seed == "":
        return Look()
    return Look(seed=read_seed(seed, "look's seed"))


def read_label(label: object, models: Sequence[str]) -> tuple[str, ...]:
    """The model the picker sent ("" : the first), as the functions' last argument; () with no
    picker. A label that is not text is refused (an unknown one, by the demo's own list)."""
    if not models:
        return ()
    if not isinstance(label, str):
        raise UserError(f"expected a model's name, not {shown(label)}")
    return (label or models[0],)


DAB_ONLY = "Draw the shoe's outline; colour dabs tint it."
DRAFT_CAPTION = "draft (the full model redraws it when you pause)"


def live_canvas(
    sketch_to_photo: Callable,
    looks_of: Callable | None = None,
    models: Sequence[str] = (),
    has_looks: Callable[[str], bool] | None = None,
    draft_to_photo: Callable | None = None,
    drafted: Sequence[str] = (),
) -> gr.HTML:
    """The canvas, wired to `sketch_to_photo(image, hints, look) -> (edges, photo, message)`;
    hints is the RGBA colour layer, or None when no colour was painted. With `looks_of(image,
    hints, seeds) -> photos` (a multimodal model) a row of looks shows under the photo: clicking
    one keeps that look while the drawing goes on, and a photo can lend its look. With several
    `models` (labels), a picker above the canvas chooses one: the label is then passed to both
    functions as a last argument, and `has_looks(label)` says whether the row shows for it.
    Each stroke's shoe comes by the canvas's own route (studio/live_route.py) as a JPEG, from
    `draft_to_photo` (a faster student, same arguments) when given; when the pen rests, the
    server function sends `sketch_to_photo`'s PNG and what the model saw. `drafted`: the labels
    (or, with one model, "") whose strokes `draft_to_photo` answers with another network: their
    stroke's shoe is captioned a draft until the full model's PNG comes."""

    def answering(to_photo: Callable) -> Callable[[object], tuple]:
        """The page's values -> `to_photo`'s (what the model saw, photo, message)."""

        def shoe(layers: object) -> tuple[Image.Image | None, Image.Image | None, str]:
            """`layers`: [drawing data URL, hint-layer data URL or "", seed or "", reference photo
            data URL or "", model label or ""] (the page sends its values as one list), or the
            drawing's data URL alone."""
            try:
                data_url, hints_url, seed, reference_url, label = server_args(layers, ("", "", "", "", ""))
                hints = decode_data_url(hints_url, "colour layer") if hints_url else None
                look = read_look(seed, reference_url)
                chosen = read_label(label, models)  # one model: no picker
                edges, photo, message = to_photo(decode_data_url(data_url), hints, look, *chosen)
            except UserError as err:
                return None, None, f"Could not use that: {err}"
            except (ValueError, OSError):  # a truncated PNG found out while the model reads it
                return None, None, "Could not use that: the drawing is not a PNG image that can be read"
            return (None, None, message) if photo is None else (edges, photo, message)

        # the same values as the last time (the PNGs once the pen rests) reuse its shoe
        return live_route.remembering_last(shoe, lambda answer: answer[1] is not None)

    full = answering(sketch_to_photo)
    stroke = answering(draft_to_photo) if draft_to_photo else full

    def translate(layers: list | str) -> list:
        """The server function: the full model's answer as [what the model saw, photo (PNG data
        URLs), message]. Strokes take the canvas's route; this answers when the pen rests."""
        edges, photo, message = full(layers)
        if photo is None:
            return [None, None, message]
        return [encode_data_url(edges), encode_data_url(photo), message]

    stroke_route = live_route.serve(lambda layers: stroke(layers)[1:])  # the page asks it for the address

    def looks(layers: list) -> list:
        """[drawing data URL, hint-layer data URL or "", first seed, model label] -> a row of looks."""
        try:
            data_url, hints_url, first, label = server_args(layers, ("", "", 0, ""))
            hints = decode_data_url(hints_url, "colour layer") if hints_url else None
            first = read_whole(first, "first look's seed", 0, MAX_SEED - LOOKS_IN_ROW, default=0)
            seeds = [first + i for i in range(LOOKS_IN_ROW)]
            chosen = read_label(label, models)  # one model: no picker
            photos = looks_of(decode_data_url(data_url), hints, seeds, *chosen) if looks_of else []
        except (ValueError, OSError):  # the row stays as it was; the photo's status says why
            return []
        return [encode_data_url(photo) for photo in photos]

    def model_has_looks(layers: list) -> bool:
        """[model label] -> whether the looks row shows for it."""
        try:
            label = read_label(server_args(layers, ("",))[0], models)
        except UserError:
            return False
        return bool(has_looks and looks_of and label and has_looks(label[0]))

    first_has_looks = bool(looks_of) and (not models or has_looks is None or has_looks(models[0]))
    constants = (
        f"const LOOKS = {json.dumps(first_has_looks)};\nconst MODELS = {json.dumps(list(models))};\n"
        f"const DAB_ONLY = {json.dumps(DAB_ONLY)};\nconst DRAFTED = {json.dumps(list(drafted))};\n"
        f"const DRAFT_CAPTION = {json.dumps(DRAFT_CAPTION)};\n"
    )
    return gr.HTML(
        html_template=HTML,
        css_template=CSS,
        js_on_load=constants + JS,
        server_functions=[translate, looks, model_has_looks, stroke_route],
        elem_id="live-canvas",
    )
