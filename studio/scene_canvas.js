// Paint a scene's page code (studio/scene_canvas.py puts studio/live_route.js's askRoute,
// routeAnswer and showImage before it and runs it as the gr.HTML's js_on_load, where `element`
// and `server` are given).
const canvas = element.querySelector('.scene-canvas');
const ctx = canvas.getContext('2d', {willReadFrequently: true});
const $ = (c) => element.querySelector(c);
const colours = JSON.parse(canvas.dataset.colours);
const history = [];
const REST_PAUSE_MS = 250;  // after this rest the lossless PNGs (for the downloads) follow a stroke's JPEGs
let colour = 1, drawing = false, start = null, before = null, busy = false, again = false, seed = 0, style = '';
let dirty = null, restTimer = null;  // dirty: the box [x0, y0, x1, y1] the stroke painted, to snap
function hex(c) { return '#' + c.map((v) => v.toString(16).padStart(2, '0')).join(''); }
function blank() { ctx.fillStyle = hex(colours[1] || colours[0]); ctx.fillRect(0, 0, 256, 256); }
function at(e) { const r = canvas.getBoundingClientRect(); return [Math.floor((e.clientX - r.left) * 256 / r.width), Math.floor((e.clientY - r.top) * 256 / r.height)]; }
function tool() { return element.querySelector('input[name="scene-tool"]:checked').value; }
// a colour as the canvas's 32-bit pixel word, and the squared distance of two such words' colours
const word = (c) => new Uint32Array(new Uint8ClampedArray([c[0], c[1], c[2], 255]).buffer)[0];
function distance(a, b) {
  const dr = (a & 255) - (b & 255), dg = ((a >>> 8) & 255) - ((b >>> 8) & 255), db = ((a >>> 16) & 255) - ((b >>> 16) & 255);
  return dr * dr + dg * dg + db * db;
}
// after a stroke, each pixel in its box is the pen's class or the class it had before (`before`),
// whichever its colour is nearer: an antialiased edge is a blend of the two, and the class
// colours nearest to a blend are often a third class's (the facade colours follow a colour map)
function snap(box, pen) {
  const x0 = Math.max(0, box[0]), y0 = Math.max(0, box[1]), x1 = Math.min(255, box[2]), y1 = Math.min(255, box[3]);
  if (x1 < x0 || y1 < y0) return;
  const w = x1 - x0 + 1, img = ctx.getImageData(x0, y0, w, y1 - y0 + 1), px = new Uint32Array(img.data.buffer);
  const old = new Uint32Array(before.data.buffer);
  let changed = false;
  for (let i = 0; i < px.length; i++) {
    const now = px[i], was = old[(y0 + Math.floor(i / w)) * 256 + x0 + (i % w)];
    if (now === pen || now === was) continue;
    px[i] = distance(now, pen) <= distance(now, was) ? pen : was; changed = true;
  }
  if (changed) ctx.putImageData(img, x0, y0);
}
function grow(x, y, r) { dirty = dirty ? [Math.min(dirty[0], x - r), Math.min(dirty[1], y - r), Math.max(dirty[2], x + r), Math.max(dirty[3], y + r)] : [x - r, y - r, x + r, y + r]; }
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
function show(urls, message, downloads) {  // downloads: the answer is the lossless PNGs
  element.querySelectorAll('.scene-out').forEach((img, i) => {
    const link = img.parentElement.querySelector('.scene-download');
    showImage(img, urls[i] || null);
    if (urls[i] && downloads) link.href = urls[i]; else link.removeAttribute('href');
  });
  $('.scene-status').textContent = message;
}
async function send(stroke = true) {
  clearTimeout(restTimer);
  if (busy) { again = true; return; }
  busy = true;
  try {
    const values = [canvas.toDataURL('image/png'), style, seed];
    const answer = stroke && $('.scene').dataset.route ? await routeAnswer($('.scene'), values) : null;
    if (answer) {  // a stroke: one JPEG per model by the canvas's route; the rest brings the PNGs
      const [urls, message] = answer;
      show(urls, message, false);
      if (urls.some(Boolean)) restTimer = setTimeout(() => send(false), REST_PAUSE_MS);
    } else {
      const answer = await server.paint(values);
      show(answer.slice(0, -1), answer[answer.length - 1], true);
    }
  } catch (err) {
    $('.scene-status').textContent = 'The server did not answer; paint again to retry.';
  } finally { busy = false; }
  if (again) { again = false; send(); }
}
askRoute($('.scene'));  // this canvas's per-stroke route (studio/live_route.py), kept on the element
function remember() { history.push(ctx.getImageData(0, 0, 256, 256)); if (history.length > 30) history.shift(); }
element.querySelectorAll('.scene-palette button').forEach((b) => b.addEventListener('click', () => {
  element.querySelectorAll('.scene-palette button').forEach((o) => o.classList.remove('on'));
  b.classList.add('on'); colour = +b.dataset.index;
}));
canvas.addEventListener('pointerdown', (e) => {
  const [x, y] = at(e); remember();
  if (tool() === 'fill') { fill(x, y); send(); return; }  // fill paints class colours only: nothing to snap
  drawing = true; start = [x, y]; before = ctx.getImageData(0, 0, 256, 256); canvas.setPointerCapture(e.pointerId);
  dirty = null; grow(x, y, +$('.scene-size').value);
  if (tool() === 'brush') { ctx.beginPath(); ctx.moveTo(x, y); }
});
canvas.addEventListener('pointermove', (e) => {
  if (!drawing) return;
  const [x, y] = at(e);
  ctx.fillStyle = ctx.strokeStyle = hex(colours[colour]);
  if (tool() === 'rect') {
    ctx.putImageData(before, 0, 0);
    ctx.fillRect(Math.min(x, start[0]), Math.min(y, start[1]), Math.abs(x - start[0]) + 1, Math.abs(y - start[1]) + 1);
    grow(x, y, 1);
  } else {
    const size = +$('.scene-size').value;
    ctx.lineWidth = size; ctx.lineCap = 'round'; ctx.lineJoin = 'round'; ctx.lineTo(x, y); ctx.stroke();
    grow(x, y, Math.ceil(size / 2) + 2);  // the pen's reach and its antialiased edge
  }
});
canvas.addEventListener('pointerup', () => { if (drawing) { drawing = false; snap(dirty, word(colours[colour])); send(); } });
$('.scene-undo').addEventListener('click', () => { if (history.length) { ctx.putImageData(history.pop(), 0, 0); send(); } });
$('.scene-clear').addEventListener('click', () => { remember(); blank(); send(); });
$('.scene-style-again').addEventListener('click', () => { seed += 1; send(); });
$('.scene-random').addEventListener('click', async () => {
  const [url, message] = await server.random_map([seed]);
  seed += 1;
  if (!url) { $('.scene-status').textContent = message; return; }
  const img = new Image();
  img.onload = () => {  // nearest-pixel scaling keeps the map's class colours exact
    remember(); ctx.imageSmoothingEnabled = false; ctx.drawImage(img, 0, 0, 256, 256); ctx.imageSmoothingEnabled = true;
    $('.scene-status').textContent = message; send();
  };
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
