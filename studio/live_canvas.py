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
from collections.abc import Callable

import gradio as gr
from PIL import Image

from engine.errors import UserError

MAX_DATA_URL = 4 * 2**20  # a 256 px PNG is a few kB; refuse anything near this

HTML = """
<div class="live">
  <div>
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
  <figure><img class="live-edges" alt=""><figcaption>what the model sees</figcaption></figure>
  <figure><img class="live-photo" alt=""><figcaption>shoe · <a class="live-download" download="shoe.png">download</a>
    <span class="live-status"></span></figcaption></figure>
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
.live-bar { margin: 6px 0; display: flex; gap: 12px; align-items: center; }
.live-download:not([href]) { display: none; }
"""
JS = """
const canvas = element.querySelector('.live-canvas');
const ctx = canvas.getContext('2d', {willReadFrequently: true});
const hintCtx = element.querySelector('.live-hints').getContext('2d', {willReadFrequently: true});
const $ = (c) => element.querySelector(c);
const history = [];
let drawing = false, busy = false, again = false, hinted = false;
function blank() { ctx.fillStyle = 'white'; ctx.fillRect(0, 0, 256, 256); hintCtx.clearRect(0, 0, 256, 256); hinted = false; }
function reset() { $('.live-edges').removeAttribute('src'); $('.live-photo').removeAttribute('src'); $('.live-download').removeAttribute('href'); $('.live-status').textContent = ''; }
function at(e) { const r = canvas.getBoundingClientRect(); return [(e.clientX - r.left) * 256 / r.width, (e.clientY - r.top) * 256 / r.height]; }
function tool() { return element.querySelector('input[name="live-tool"]:checked').value; }
function empty() { return !ctx.getImageData(0, 0, 256, 256).data.some((v, i) => i % 4 !== 3 && v < 250); }
async function send() {
  if (busy) { again = true; return; }
  if (empty()) { reset(); return; }
  busy = true;
  try {
    const hints = hinted ? hintCtx.canvas.toDataURL('image/png') : '';
    const [edges, photo, message] = await server.translate([canvas.toDataURL('image/png'), hints]);
    if (photo) { $('.live-edges').src = edges; $('.live-photo').src = photo; $('.live-download').href = photo; }
    $('.live-status').textContent = message;
  } catch (err) {
    $('.live-status').textContent = 'The server did not answer; draw again to retry.';
  } finally {
    busy = false;
  }
  if (again) { again = false; send(); }
}
blank();
canvas.addEventListener('pointerdown', (e) => {
  history.push([ctx.getImageData(0, 0, 256, 256), hintCtx.getImageData(0, 0, 256, 256), hinted]); drawing = true;
  canvas.setPointerCapture(e.pointerId); const [x, y] = at(e);
  for (const c of [ctx, hintCtx]) { c.beginPath(); c.moveTo(x, y); }
});
canvas.addEventListener('pointermove', (e) => {
  if (!drawing) return;
  const [x, y] = at(e), t = tool(), size = +$('.live-size').value;
  const targets = t === 'eraser' ? [ctx, hintCtx] : t === 'colour' ? [hintCtx] : [ctx];
  for (const c of targets) {
    c.globalCompositeOperation = t === 'eraser' && c === hintCtx ? 'destination-out' : 'source-over';
    c.strokeStyle = t === 'eraser' ? 'white' : t === 'colour' ? $('.live-colour').value : 'black';
    c.lineWidth = t === 'eraser' ? 16 : t === 'colour' ? 3 * size + 2 : size;
    c.lineCap = 'round'; c.lineJoin = 'round'; c.lineTo(x, y); c.stroke();
  }
  if (t === 'colour') hinted = true;
});
canvas.addEventListener('pointerup', () => { if (drawing) { drawing = false; send(); } });
$('.live-undo').addEventListener('click', () => {
  if (!history.length) return;
  const [ink, hints, wasHinted] = history.pop();
  ctx.putImageData(ink, 0, 0); hintCtx.putImageData(hints, 0, 0); hinted = wasHinted; send();
});
$('.live-clear').addEventListener('click', () => { history.length = 0; blank(); reset(); });
"""


def decode_data_url(data_url: str) -> Image.Image:
    """A PNG data URL from the canvas -> PIL image; anything else is refused."""
    if not isinstance(data_url, str) or len(data_url) > MAX_DATA_URL:
        raise UserError("the drawing is too large")
    header, _, payload = data_url.partition(",")
    if header != "data:image/png;base64":
        raise UserError("expected a PNG drawing")
    img = Image.open(io.BytesIO(base64.b64decode(payload, validate=True)))
    if max(img.size) > 1024:
        raise UserError("the drawing is too large")
    return img


def encode_data_url(img: Image.Image) -> str:
    buffer = io.BytesIO()
    img.save(buffer, format="PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def live_canvas(sketch_to_photo: Callable) -> gr.HTML:
    """The canvas, wired to `sketch_to_photo(image, hints) -> (edges, photo, message)`; hints is
    the RGBA colour layer, or None when no colour was painted."""

    def translate(layers: list | str) -> list:
        """`layers`: [drawing data URL, hint-layer data URL or ""] (Gradio hands a server
        function the JS call's arguments as one list), or the drawing's data URL alone."""
        try:
            data_url, hints_url = (layers, "") if isinstance(layers, str) else (list(layers) + [""])[:2]
            hints = decode_data_url(hints_url) if hints_url else None
            edges, photo, message = sketch_to_photo(decode_data_url(data_url), hints)
        except (ValueError, OSError) as err:
            return [None, None, f"Could not use that: {err}"]
        if photo is None:
            return [None, None, message]
        return [encode_data_url(edges), encode_data_url(photo), message]

    return gr.HTML(
        html_template=HTML,
        css_template=CSS,
        js_on_load=JS,
        server_functions=[translate],
        elem_id="live-canvas",
    )
