// The live sketch canvas's page code (studio/live_canvas.py adds LOOKS, MODELS, DRAFTED, DRAFT_CAPTION and DAB_ONLY and
// studio/live_route.js's askRoute, routeAnswer and showImage, and runs it as the gr.HTML's
// js_on_load, where `element` and `server` are given).
const canvas = element.querySelector('.live-canvas');
const ctx = canvas.getContext('2d', {willReadFrequently: true});
const hintCtx = element.querySelector('.live-hints').getContext('2d', {willReadFrequently: true});
const $ = (c) => element.querySelector(c);
const history = [];
let drawing = false, busy = false, again = false, hinted = false;
let seed = null, reference = '', firstSeed = 0;  // the chosen look: a seed's, a photo's, or the typical one
let rowTimer = null, restTimer = null;
const ROW_PAUSE_MS = 600;
const REST_PAUSE_MS = 250;  // after this rest the PNG (for the download) and what the model saw follow a stroke's JPEG
function blank() { ctx.fillStyle = 'white'; ctx.fillRect(0, 0, 256, 256); hintCtx.clearRect(0, 0, 256, 256); hinted = false; }
function reset() { $('.live-edges').removeAttribute('src'); showPhoto(null); $('.live-download').removeAttribute('href'); $('.live-status').textContent = ''; $('.live-caption').textContent = 'the shoe appears here'; }
function model() { return MODELS.length > 1 ? $('.live-model').value : ''; }
function at(e) { const r = canvas.getBoundingClientRect(); return [(e.clientX - r.left) * 256 / r.width, (e.clientY - r.top) * 256 / r.height]; }
function tool() { return element.querySelector('input[name="live-tool"]:checked').value; }
function empty() {  // no pixel darker than paper: a plain loop (a callback per byte cost about a millisecond a stroke)
  const d = ctx.getImageData(0, 0, 256, 256).data;
  for (let i = 0; i < d.length; i += 4) if (d[i] < 250 || d[i + 1] < 250 || d[i + 2] < 250) return false;
  return true;
}
async function send(stroke = true) {
  clearTimeout(rowTimer); clearTimeout(restTimer);
  if (busy) { again = true; return; }
  if (empty()) { reset(); if (hinted) $('.live-status').textContent = DAB_ONLY; return; }
  busy = true;
  try {
    const hints = hinted ? hintCtx.canvas.toDataURL('image/png') : '';
    const drawn = canvas.toDataURL('image/png');
    const values = [drawn, hints, seed === null ? '' : seed, reference, model()];
    const answer = stroke && $('.live').dataset.route ? await routeAnswer($('.live'), values) : null;
    if (answer) {  // a stroke: the shoe's JPEG by the canvas's route; the rest brings the PNG
      const [[photo], message] = answer;
      if (photo) { showPhoto(photo); $('.live-caption').textContent = DRAFTED.includes(model() || MODELS[0]) ? DRAFT_CAPTION : 'shoe'; restTimer = setTimeout(() => send(false), REST_PAUSE_MS); }
      else { showPhoto(null); $('.live-download').removeAttribute('href'); }
      $('.live-status').textContent = message;
    } else {
      const [edges, photo, message] = await server.translate(values);
      if (photo) { $('.live-edges').src = edges; showPhoto(photo); $('.live-download').href = photo; $('.live-caption').textContent = 'shoe'; }
      else { showPhoto(null); $('.live-download').removeAttribute('href'); }
      $('.live-status').textContent = message;
      if (photo && !$('.live-looks').hidden) {  // the row waits for a pause: strokes come first
        clearTimeout(rowTimer); rowTimer = setTimeout(() => showLooks(drawn, hints), ROW_PAUSE_MS);
      }
    }
  } catch (err) {
    $('.live-status').textContent = 'The server did not answer; draw again to retry.';
  } finally {
    busy = false;
  }
  if (again) { again = false; send(); }
}
async function showLooks(drawn, hints) {
  const looks = await server.looks([drawn, hints, firstSeed, model()]);
  const row = $('.live-looks-row');
  row.replaceChildren(...looks.map((src, i) => {
    const img = document.createElement('img');
    img.src = src; img.title = 'look ' + (firstSeed + i);
    if (seed === firstSeed + i && !reference) img.classList.add('chosen');
    img.addEventListener('click', () => { seed = firstSeed + i; reference = ''; lookName('look ' + seed); send(); });
    return img;
  }));
}
askRoute($('.live'));  // this canvas's per-stroke route (studio/live_route.py), kept on the element
function showPhoto(src) { showImage($('.live-photo'), src); }
function lookName(text) { $('.live-look-name').textContent = text; }
$('.live-looks').hidden = !LOOKS;
if (MODELS.length > 1) {
  const select = $('.live-model');
  for (const name of MODELS) select.add(new Option(name, name));
  $('.live-model-label').hidden = false;
  select.addEventListener('change', async () => {  // a model with looks shows the row
    $('.live-looks').hidden = !(await server.model_has_looks([model()])); seed = null; reference = ''; lookName('typical look'); send();
  });
}
$('.live-more').addEventListener('click', () => { firstSeed += 4; send(); });
$('.live-typical').addEventListener('click', () => { seed = null; reference = ''; lookName('typical look'); send(); });
$('.live-ref').addEventListener('change', (e) => {
  const file = e.target.files[0]; if (!file) return;
  const image = new Image();
  image.onload = () => {  // sent as a small PNG: the look is global, 256 px is plenty
    const side = 256, scale = side / Math.max(image.width, image.height);
    const c = document.createElement('canvas'); c.width = Math.round(image.width * scale); c.height = Math.round(image.height * scale);
    c.getContext('2d').drawImage(image, 0, 0, c.width, c.height);
    reference = c.toDataURL('image/png'); seed = null; lookName('look of ' + file.name); URL.revokeObjectURL(image.src); send();
  };
  image.src = URL.createObjectURL(file);
});
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
