"""The live label-map canvas of "Paint a scene": a palette of classes with their names, brush,
rectangle and fill tools, and one answer per model beside it, after every stroke.

Like the sketch canvas it is plain HTML. After each stroke the canvas snaps the pixels the
stroke touched to the pen's class or the one they had, whichever is nearer, so what the server
decodes is exactly what was painted (no antialiased fringe of a third class: the class colour
nearest to a blend is often another's) and fill stops at region borders. Each stroke's
photos come by the canvas's own route (studio/live_route.py), one JPEG per model in one
response (encoding three PNGs alone took 30-40 ms on a shared 2-core CPU; the server function
also sends them base64 in JSON). When the pen rests, the server function sends the lossless PNGs for the downloads
from the same render (the last one is kept), and it answers every stroke on a page that has
no route. Only the demo's own models run, and what is decoded is capped.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from pathlib import Path

import gradio as gr
from PIL import Image

from engine.data.label_maps import Palette
from engine.errors import UserError
from studio import live_route
from studio.inputs import read_seed, server_args
from studio.live_canvas import decode_data_url, encode_data_url

CSS = """
.scene { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
.scene-left { width: 390px; }
.scene-right { flex: 1; min-width: 220px; }
.scene-outputs { display: flex; flex-wrap: wrap; gap: 12px; }
.scene-canvas { width: 384px; height: 384px; border: 1px solid #ccc; touch-action: none; cursor: crosshair; image-rendering: pixelated; }
.scene-palette { display: grid; grid-template-columns: repeat(3, 1fr); gap: 4px; margin: 6px 0; max-width: 384px; }
.scene-palette button { border: 2px solid transparent; border-radius: 4px; padding: 2px 4px; font-size: 12px; text-align: left; cursor: pointer; }
.scene-palette button.on { border-color: #111; font-weight: bold; }
.scene-palette i { display: inline-block; width: 12px; height: 12px; margin-right: 4px; vertical-align: middle; border: 1px solid #0003; }
.scene-bar { margin: 6px 0; display: flex; gap: 10px; align-items: center; flex-wrap: wrap; }
.scene figure { margin: 0; }
.scene figure img { width: 208px; height: 208px; background: #fafafa; border: 1px solid #eee; display: block; }
.scene-download:not([href]) { display: none; }
"""
UNREADABLE = "Could not use that: the drawing or style photo is not a PNG image that can be read."
# the page code, in its own file, after the per-stroke route's (shared with the sketch canvas)
JS = live_route.JS + (Path(__file__).resolve().parent / "scene_canvas.js").read_text()


def canvas_html(palette: Palette, titles: list[str]) -> str:
    """The page: canvas, palette buttons (colour and name), tools, and a figure per model."""
    swatches = "".join(
        f'<button data-index="{i}" class="{"on" if i == 1 else ""}" style="background:#fff">'
        f'<i style="background:rgb{tuple(colour)}"></i>{html.escape(name)}</button>'
        for i, (name, colour) in enumerate(zip(palette.names, palette.colours))
    )
    figures = "".join(
        f'<figure><img class="scene-out" alt=""><figcaption>{html.escape(title)} · '
        f'<a class="scene-download" download="scene.png">download</a></figcaption></figure>'
        for title in titles
    )
    colours = html.escape(json.dumps([list(c) for c in palette.colours]))
    return f"""
<div class="scene">
  <div class="scene-left">
    <canvas width="256" height="256" class="scene-canvas" data-colours="{colours}"></canvas>
    <div class="scene-palette">{swatches}</div>
    <div class="scene-bar">
      <label><input type="radio" name="scene-tool" value="rect" checked> rectangle</label>
      <label><input type="radio" name="scene-tool" value="brush"> brush</label>
      <label><input type="radio" name="scene-tool" value="fill"> fill</label>
      <label>size <input type="range" class="scene-size" min="2" max="40" value="12"></label>
    </div>
    <div class="scene-bar">
      <button class="scene-undo">undo</button> <button class="scene-clear">clear</button>
      <button class="scene-random">random map</button>
    </div>
    <div class="scene-bar">
      <label>style photo (SPADE) <input type="file" accept="image/*" class="scene-style"></label>
      <button class="scene-style-again">another style</button>
    </div>
  </div>
  <div class="scene-right">
    <div class="scene-outputs">{figures}</div>
    <p class="scene-status"></p>
  </div>
</div>
"""


def scene_canvas(palette: Palette, titles: list[str], render: Callable, draw_map: Callable) -> gr.HTML:
    """The canvas, wired to `render(label_image, style_image or None, seed) -> (images, message)`
    (one image or None per title) and `draw_map(seed) -> (image or None, message)`. (The JS
    calls the inner functions by their names: paint, random_map, stroke_route.)"""

    def render_map(args: object) -> tuple[list, str]:
        """[map data URL, style photo data URL or "", seed] -> (one image or None per title,
        message)."""
        try:
            data_url, style_url, seed = server_args(args, ("", "", 0))
            style = decode_data_url(style_url) if style_url else None
            images, message = render(decode_data_url(data_url), style, read_seed(seed, "style number"))
        except UserError as err:
            return [None] * len(titles), f"Could not use that: {err}"
        except (ValueError, OSError, TypeError, Image.DecompressionBombError):
            return [None] * len(titles), UNREADABLE
        return images, message

    # the same values as the last render's (the PNGs after a stroke's JPEGs) reuse it; refusals
    # ("Could not use that: ...", UNREADABLE too: what the route answers with 400) are not kept
    painted = live_route.remembering_last(
        render_map, lambda answer: not answer[1].startswith("Could not use that")
    )

    def paint(args: list) -> list:
        """The server function: PNG data URLs, one per title (None: no image), then the message."""
        images, message = painted(args)
        return [encode_data_url(im) if im is not None else None for im in images] + [message]

    def random_map(args: list) -> list:
        try:
            image, message = draw_map(read_seed(server_args(args, (0,))[0], "map number"))
        except UserError as err:
            return [None, f"Could not draw a map: {err}"]
        return [encode_data_url(image) if image is not None else None, message]

    stroke_route = live_route.serve(painted)  # the page asks it for the address
    return gr.HTML(
        html_template=canvas_html(palette, titles),
        css_template=CSS,
        js_on_load=JS,
        server_functions=[paint, random_map, stroke_route],
        elem_id="scene-canvas",
    )
