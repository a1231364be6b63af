"""The live label-map canvas of "Paint a scene": a palette of classes with their names, brush,
rectangle and fill tools, and one answer per model beside it, after every stroke.

Like the sketch canvas it is plain HTML wired to one server function. After each stroke the
canvas snaps every pixel to the nearest class colour, so what the server decodes is exactly
what was painted (no antialiased fringe of a third class) and fill stops at region borders.
The server function runs only the demo's own models and caps what it decodes.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable

import gradio as gr
from PIL import Image

from engine.data.label_maps import Palette
from engine.errors import UserError
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
JS = """
const canvas = element.querySelector('.scene-canvas');
const ctx = canvas.getContext('2d', {willReadFrequently: true});
const $ = (c) => element.querySelector(c);
const colours = JSON.parse(canvas.dataset.colours);
const history = [];
let colour = 1, drawing = false, start = null, before = null, busy = false, again = false, seed = 0, style = '';
function hex(c) { return '#' + c.map((v) => v.toString(16).padStart(2, '0')).join(''); }
function blank() { ctx.fillStyle = hex(colours[1] || colours[0]); ctx.fillRect(0, 0, 256, 256); }
function at(e) { const r = canvas.getBoundingClientRect(); return [Math.floor((e.clientX - r.left) * 256 / r.width), Math.floor((e.clientY - r.top) * 256 / r.height)]; }
function tool() { return element.querySelector('input[name="scene-tool"]:checked').value; }
function snap() {
  const img = ctx.getImageData(0, 0, 256, 256), d = img.data;
  for (let i = 0; i < d.length; i += 4) {
    let best = 0, bestDist = 1e9;
    for (let k = 0; k < colours.length; k++) {
      const c = colours[k], dr = d[i] - c[0], dg = d[i + 1] - c[1], db = d[i + 2] - c[2], dist = dr * dr + dg * dg + db * db;
      if (dist < bestDist) { bestDist = dist; best = k; }
    }
    d[i] = colours[best][0]; d[i + 1] = colours[best][1]; d[i + 2] = colours[best][2]; d[i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}
function fill(x, y) {
  const img = ctx.getImageData(0, 0, 256, 256), d = img.data, c = colours[colour];
  const o = (y * 256 + x) * 4, from = [d[o], d[o + 1], d[o + 2]];
  if (from[0] === c[0] && from[1] === c[1] && from[2] === c[2]) return;
  const stack = [[x, y]];
  while (stack.length) {
    const [px, py] = stack.pop(), i = (py * 256 + px) * 4;
    if (px < 0 || py < 0 || px > 255 || py > 255 || d[i] !== from[0] || d[i + 1] !== from[1] || d[i + 2] !== from[2]) continue;
    d[i] = c[0]; d[i + 1] = c[1]; d[i + 2] = c[2];
    stack.push([px + 1, py], [px - 1, py], [px, py + 1], [px, py - 1]);
  }
  ctx.putImageData(img, 0, 0);
}
function show(urls, message) {
  element.querySelectorAll('.scene-out').forEach((img, i) => {
    const link = img.parentElement.querySelector('.scene-download');
    if (urls[i]) { img.src = urls[i]; link.href = urls[i]; } else { img.removeAttribute('src'); link.removeAttribute('href'); }
  });
  $('.scene-status').textContent = message;
}
async function send() {
  if (busy) { again = true; return; }
  busy = true;
  try {
    const answer = await server.paint([canvas.toDataURL('image/png'), style, seed]);
    show(answer.slice(0, -1), answer[answer.length - 1]);
  } catch (err) {
    $('.scene-status').textContent = 'The server did not answer; paint again to retry.';
  } finally { busy = false; }
  if (again) { again = false; send(); }
}
function remember() { history.push(ctx.getImageData(0, 0, 256, 256)); if (history.length > 30) history.shift(); }
element.querySelectorAll('.scene-palette button').forEach((b) => b.addEventListener('click', () => {
  element.querySelectorAll('.scene-palette button').forEach((o) => o.classList.remove('on'));
  b.classList.add('on'); colour = +b.dataset.index;
}));
canvas.addEventListener('pointerdown', (e) => {
  const [x, y] = at(e); remember();
  if (tool() === 'fill') { fill(x, y); send(); return; }
  drawing = true; start = [x, y]; before = ctx.getImageData(0, 0, 256, 256); canvas.setPointerCapture(e.pointerId);
  if (tool() === 'brush') { ctx.beginPath(); ctx.moveTo(x, y); }
});
canvas.addEventListener('pointermove', (e) => {
  if (!drawing) return;
  const [x, y] = at(e);
  ctx.fillStyle = ctx.strokeStyle = hex(colours[colour]);
  if (tool() === 'rect') {
    ctx.putImageData(before, 0, 0);
    ctx.fillRect(Math.min(x, start[0]), Math.min(y, start[1]), Math.abs(x - start[0]) + 1, Math.abs(y - start[1]) + 1);
  } else {
    ctx.lineWidth = +$('.scene-size').value; ctx.lineCap = 'round'; ctx.lineJoin = 'round'; ctx.lineTo(x, y); ctx.stroke();
  }
});
canvas.addEventListener('pointerup', () => { if (drawing) { drawing = false; snap(); send(); } });
$('.scene-undo').addEventListener('click', () => { if (history.length) { ctx.putImageData(history.pop(), 0, 0); send(); } });
$('.scene-clear').addEventListener('click', () => { remember(); blank(); send(); });
$('.scene-style-again').addEventListener('click', () => { seed += 1; send(); });
$('.scene-random').addEventListener('click', async () => {
  const [url, message] = await server.random_map([seed]);
  seed += 1;
  if (!url) { $('.scene-status').textContent = message; return; }
  const img = new Image();
  img.onload = () => { remember(); ctx.drawImage(img, 0, 0, 256, 256); snap(); $('.scene-status').textContent = message; send(); };
  img.src = url;
});
$('.scene-style').addEventListener('change', (e) => {
  const file = e.target.files[0];
  if (!file) { style = ''; send(); return; }
  const img = new Image();
  img.onload = () => {
    const c = document.createElement('canvas'); c.width = c.height = 256;
    c.getContext('2d').drawImage(img, 0, 0, 256, 256); style = c.toDataURL('image/png'); URL.revokeObjectURL(img.src); send();
  };
  img.onerror = () => { $('.scene-status').textContent = 'That style file is not an image.'; };
  img.src = URL.createObjectURL(file);
});
blank();
"""


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
    calls the inner functions by their names: paint, random_map.)"""

    def paint(args: list) -> list:
        try:
            data_url, style_url, seed = server_args(args, ("", "", 0))
            style = decode_data_url(style_url) if style_url else None
            images, message = render(decode_data_url(data_url), style, read_seed(seed, "style number"))
        except UserError as err:
            return [None] * len(titles) + [f"Could not use that: {err}"]
        except (ValueError, OSError, TypeError, Image.DecompressionBombError):
            return [None] * len(titles) + [UNREADABLE]
        return [encode_data_url(im) if im is not None else None for im in images] + [message]

    def random_map(args: list) -> list:
        try:
            image, message = draw_map(read_seed(server_args(args, (0,))[0], "map number"))
        except UserError as err:
            return [None, f"Could not draw a map: {err}"]
        return [encode_data_url(image) if image is not None else None, message]

    return gr.HTML(
        html_template=canvas_html(palette, titles),
        css_template=CSS,
        js_on_load=JS,
        server_functions=[paint, random_map],
        elem_id="scene-canvas",
    )
