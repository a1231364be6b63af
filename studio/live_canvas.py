"""A light drawing canvas for the live sketch path: strokes -> shoe in tens of milliseconds.

Gradio's ImageEditor exports and uploads its layers after every stroke (about 0.6 s before a
request even starts). This canvas is plain HTML: on pointer-up it sends a 256 px PNG data URL
straight to a server function and shows the two images it gets back. The server function only
ever runs the demo's own first model and caps what it decodes.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable

import gradio as gr
from PIL import Image

MAX_DATA_URL = 4 * 2**20  # a 256 px PNG is a few kB; refuse anything near this

HTML = """
<div class="live">
  <div>
    <canvas width="256" height="256" class="live-canvas"></canvas>
    <div class="live-bar">
      <label>brush <input type="range" class="live-size" min="1" max="8" value="2"></label>
      <label><input type="checkbox" class="live-erase"> eraser</label>
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
.live-canvas { width: 384px; height: 384px; border: 1px solid #ccc; touch-action: none; cursor: crosshair; }
.live figure { margin: 0; }
.live figure img { width: 320px; height: 320px; background: #fafafa; border: 1px solid #eee; display: block; }
.live-bar { margin: 6px 0; display: flex; gap: 12px; align-items: center; }
"""
JS = """
const canvas = element.querySelector('.live-canvas');
const ctx = canvas.getContext('2d', {willReadFrequently: true});
const $ = (c) => element.querySelector(c);
const history = [];
let drawing = false, busy = false, again = false;
function blank() { ctx.fillStyle = 'white'; ctx.fillRect(0, 0, 256, 256); }
function at(e) { const r = canvas.getBoundingClientRect(); return [(e.clientX - r.left) * 256 / r.width, (e.clientY - r.top) * 256 / r.height]; }
async function send() {
  if (busy) { again = true; return; }
  busy = true;
  const [edges, photo, message] = await server.translate(canvas.toDataURL('image/png'));
  if (photo) { $('.live-edges').src = edges; $('.live-photo').src = photo; $('.live-download').href = photo; }
  $('.live-status').textContent = message;
  busy = false;
  if (again) { again = false; send(); }
}
blank();
canvas.addEventListener('pointerdown', (e) => {
  history.push(ctx.getImageData(0, 0, 256, 256)); drawing = true;
  canvas.setPointerCapture(e.pointerId); const [x, y] = at(e); ctx.beginPath(); ctx.moveTo(x, y);
});
canvas.addEventListener('pointermove', (e) => {
  if (!drawing) return;
  const erase = $('.live-erase').checked, [x, y] = at(e);
  ctx.strokeStyle = erase ? 'white' : 'black'; ctx.lineWidth = erase ? 16 : +$('.live-size').value;
  ctx.lineCap = 'round'; ctx.lineJoin = 'round'; ctx.lineTo(x, y); ctx.stroke();
});
canvas.addEventListener('pointerup', () => { if (drawing) { drawing = false; send(); } });
$('.live-undo').addEventListener('click', () => { if (history.length) { ctx.putImageData(history.pop(), 0, 0); send(); } });
$('.live-clear').addEventListener('click', () => { history.length = 0; blank(); $('.live-edges').removeAttribute('src'); $('.live-photo').removeAttribute('src'); $('.live-status').textContent = ''; });
"""


def decode_data_url(data_url: str) -> Image.Image:
    """A PNG data URL from the canvas -> PIL image; anything else is refused."""
    if not isinstance(data_url, str) or len(data_url) > MAX_DATA_URL:
        raise ValueError("the drawing is too large")
    header, _, payload = data_url.partition(",")
    if header != "data:image/png;base64":
        raise ValueError("expected a PNG drawing")
    img = Image.open(io.BytesIO(base64.b64decode(payload, validate=True)))
    if max(img.size) > 1024:
        raise ValueError("the drawing is too large")
    return img


def encode_data_url(img: Image.Image) -> str:
    buffer = io.BytesIO()
    img.save(buffer, format="PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def live_canvas(sketch_to_photo: Callable) -> gr.HTML:
    """The canvas, wired to `sketch_to_photo(image) -> (edges, photo, message)`."""

    def translate(data_url: str) -> list:
        try:
            edges, photo, message = sketch_to_photo(decode_data_url(data_url))
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
