// The sketch Space in the browser: drawing tools, the drawing prepared as the Python pipeline
// prepares it (engine/data/sketch.py: colour split, stroke frame, fit to the square with margins,
// Lanczos scaling, thinning to 1 px lines), and the ONNX generator run with onnxruntime-web.
"use strict";
const SPACE = window.SPACE;
const EDGE_MARGIN = 0.02, COLOUR_SPREAD = 60;
const drawing = document.getElementById("drawing"), output = document.getElementById("output");
const pen = drawing.getContext("2d", { willReadFrequently: true });
const status = document.getElementById("status");
let tool = "pen", strokes = [], current = null, session = null, busy = null;
window.answers = 0; window.timings = []; window.phases = { total: [], prepare: [], infer: [], draw: [] };

function paint(ctx, s) {
  ctx.strokeStyle = s.colour; ctx.lineWidth = s.width; ctx.lineCap = ctx.lineJoin = "round";
  ctx.beginPath(); ctx.moveTo(s.points[0][0], s.points[0][1]);
  for (const [x, y] of s.points.slice(1)) ctx.lineTo(x, y);
  if (s.points.length === 1) ctx.lineTo(s.points[0][0] + 0.1, s.points[0][1]);
  ctx.stroke();
}
function redraw() {
  pen.fillStyle = "white"; pen.fillRect(0, 0, drawing.width, drawing.height);
  for (const s of strokes) paint(pen, s);
}
function at(e) {
  const r = drawing.getBoundingClientRect();
  return [(e.clientX - r.left) * drawing.width / r.width, (e.clientY - r.top) * drawing.height / r.height];
}
const STYLE = { pen: ["#000000", 4], eraser: ["#ffffff", 24], brush: [null, 14] };
drawing.addEventListener("pointerdown", (e) => {
  const [colour, width] = STYLE[tool];
  current = { colour: colour || document.getElementById("colour").value, width, points: [at(e)] };
  strokes.push(current); drawing.setPointerCapture(e.pointerId); redraw();
});
drawing.addEventListener("pointermove", (e) => { if (current) { current.points.push(at(e)); redraw(); } });
drawing.addEventListener("pointerup", () => { if (current) { current = null; answer(); } });
for (const name of ["pen", "eraser", "brush"]) {
  document.getElementById(name).onclick = () => {
    tool = name;
    for (const n of ["pen", "eraser", "brush"]) document.getElementById(n).classList.toggle("on", n === name);
  };
}
document.getElementById("undo").onclick = () => { strokes.pop(); redraw(); answer(); };
document.getElementById("clear").onclick = () => { strokes = []; redraw(); answer(); };

// --- preparation, as engine/data/sketch.py -------------------------------------------------
function lanczos(x) {
  if (x === 0) return 1;
  if (x <= -3 || x >= 3) return 0;
  const px = Math.PI * x;
  return (3 * Math.sin(px) * Math.sin(px / 3)) / (px * px);
}
function weights(inSize, outSize) { // PIL's resample coefficients (support scaled when reducing)
  const scale = inSize / outSize, fs = Math.max(scale, 1), support = 3 * fs, rows = [];
  for (let o = 0; o < outSize; o++) {
    const centre = (o + 0.5) * scale;
    const lo = Math.max(Math.trunc(centre - support + 0.5), 0), hi = Math.min(Math.trunc(centre + support + 0.5), inSize);
    let w = [], sum = 0;
    for (let i = lo; i < hi; i++) { const v = lanczos((i - centre + 0.5) / fs); w.push(v); sum += v; }
    rows.push([lo, w.map((v) => v / sum)]);
  }
  return rows;
}
function resizeGray(src, w, h, ow, oh) { // horizontal pass, then vertical, rounding to 8 bits each
  const wx = weights(w, ow), wy = weights(h, oh), mid = new Uint8ClampedArray(ow * h), out = new Uint8ClampedArray(ow * oh);
  for (let y = 0; y < h; y++) for (let x = 0; x < ow; x++) {
    const [lo, k] = wx[x]; let s = 0;
    for (let i = 0; i < k.length; i++) s += k[i] * src[y * w + lo + i];
    mid[y * ow + x] = Math.round(s);
  }
  for (let y = 0; y < oh; y++) { const [lo, k] = wy[y]; for (let x = 0; x < ow; x++) {
    let s = 0;
    for (let i = 0; i < k.length; i++) s += k[i] * mid[(lo + i) * ow + x];
    out[y * ow + x] = Math.round(s);
  } }
  return out;
}
function thin(img, n) { // Zhang-Suen thinning to 1 px lines (skimage's skeletonize is of this family)
  const p = new Uint8Array(8), drop = [];
  let changed = true;
  while (changed) {
    changed = false;
    for (const pass of [0, 1]) {
      drop.length = 0;
      for (let y = 1; y < n - 1; y++) for (let x = 1; x < n - 1; x++) {
        const i = y * n + x; if (!img[i]) continue;
        p[0] = img[i - n]; p[1] = img[i - n + 1]; p[2] = img[i + 1]; p[3] = img[i + n + 1];
        p[4] = img[i + n]; p[5] = img[i + n - 1]; p[6] = img[i - 1]; p[7] = img[i - n - 1];
        const b = p[0] + p[1] + p[2] + p[3] + p[4] + p[5] + p[6] + p[7];
        if (b < 2 || b > 6) continue;
        let a = 0; for (let k = 0; k < 8; k++) if (!p[k] && p[(k + 1) & 7]) a++;
        if (a !== 1) continue;
        if (pass === 0 ? (p[0] * p[2] * p[4] || p[2] * p[4] * p[6]) : (p[0] * p[2] * p[6] || p[0] * p[4] * p[6])) continue;
        drop.push(i);
      }
      for (const i of drop) img[i] = 0;
      if (drop.length) changed = true;
    }
  }
  return img;
}
function prepare() { // -> {image, hints} Float32Arrays (1x3xSxS, 1x4xSxS) or null when empty
  const W = drawing.width, H = drawing.height, S = SPACE.size, rgba = pen.getImageData(0, 0, W, H).data;
  const ink = new Uint8Array(W * H), colour = new Uint8Array(W * H), words = new Uint32Array(rgba.buffer);
  let x0 = W, y0 = H, x1 = -1, y1 = -1;
  for (let i = 0; i < W * H; i++) {
    if (words[i] === 0xffffffff) { ink[i] = 255; continue; } // white paper: most of the canvas
    const r = rgba[4 * i], g = rgba[4 * i + 1], b = rgba[4 * i + 2];
    if (Math.max(r, g, b) - Math.min(r, g, b) > COLOUR_SPREAD) { colour[i] = 1; ink[i] = 255; continue; }
    ink[i] = (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16; // PIL's L
    if (ink[i] < 160) { const x = i % W, y = (i / W) | 0; x0 = Math.min(x0, x); x1 = Math.max(x1, x + 1); y0 = Math.min(y0, y); y1 = Math.max(y1, y + 1); }
  }
  if (x1 < 0) return null;
  const bw = x1 - x0, bh = y1 - y0, inner = S * (1 - 2 * EDGE_MARGIN), scale = Math.min(inner / bw, inner / bh);
  const left = Math.round((S - bw * scale) / 2), top = Math.round(S * (1 - EDGE_MARGIN) - bh * scale);
  const sw = Math.max(1, Math.round(bw * scale)), sh = Math.max(1, Math.round(bh * scale));
  const crop = new Uint8Array(bw * bh);
  for (let y = 0; y < bh; y++) for (let x = 0; x < bw; x++) crop[y * bw + x] = ink[(y + y0) * W + x + x0];
  const scaled = resizeGray(crop, bw, bh, sw, sh), lines = new Uint8Array(S * S);
  for (let y = 0; y < sh; y++) for (let x = 0; x < sw; x++) {
    const X = x + left, Y = y + top;
    if (X >= 0 && Y >= 0 && X < S && Y < S) lines[Y * S + X] = scaled[y * sw + x] < 200 ? 1 : 0;
  }
  thin(lines, S);
  const image = new Float32Array(3 * S * S), hints = new Float32Array(4 * S * S);
  for (let i = 0; i < S * S; i++) image[i] = image[i + S * S] = image[i + 2 * S * S] = lines[i] ? -1 : 1;
  for (let y = 0; y < sh; y++) for (let x = 0; x < sw; x++) { // hints: nearest neighbour, like PIL
    const X = x + left, Y = y + top; if (X < 0 || Y < 0 || X >= S || Y >= S) continue;
    const sx = x0 + Math.min(bw - 1, Math.floor((x + 0.5) * bw / sw)), sy = y0 + Math.min(bh - 1, Math.floor((y + 0.5) * bh / sh));
    const j = sy * W + sx; if (!colour[j]) continue;
    for (let c = 0; c < 3; c++) hints[c * S * S + Y * S + X] = rgba[4 * j + c] / 127.5 - 1;
    hints[3 * S * S + Y * S + X] = 1;
  }
  return { image, hints };
}

// --- the model --------------------------------------------------------------------------------
async function answer() {
  if (busy) { busy.again = true; return; }
  busy = { again: false };
  const started = performance.now();
  try {
    const prepared = prepare(), S = SPACE.size;
    if (!prepared) { status.textContent = "the sketch is empty: draw some lines first"; return; }
    const feeds = { image: new ort.Tensor("float32", prepared.image, [1, 3, S, S]) };
    if (SPACE.hints) feeds.hints = new ort.Tensor("float32", prepared.hints, [1, 4, S, S]);
    if (SPACE.nz) feeds.z = new ort.Tensor("float32", new Float32Array(SPACE.nz), [1, SPACE.nz]);
    const ready = performance.now();
    const out = (await session.run(feeds)).output.data, img = output.getContext("2d").createImageData(S, S);
    const ran = performance.now();
    for (let i = 0; i < S * S; i++) {
      for (let c = 0; c < 3; c++) img.data[4 * i + c] = Math.round((out[c * S * S + i] + 1) * 127.5);
      img.data[4 * i + 3] = 255;
    }
    output.getContext("2d").putImageData(img, 0, 0);
    const done = performance.now(), ms = done - started, ph = window.phases;
    ph.total.push(ms); ph.prepare.push(ready - started); ph.infer.push(ran - ready); ph.draw.push(done - ran);
    window.timings.push(ms); window.answers += 1;
    status.textContent = `answered in ${ms.toFixed(0)} ms (onnxruntime-web, ${SPACE.backend})`;
  } finally {
    const again = busy.again; busy = null;
    if (again) answer();
  }
}
(async () => {
  redraw();
  ort.env.wasm.wasmPaths = new URL("ort/", location.href).href;
  // threads need a cross-origin isolated page (the README's custom_headers); ?threads=N caps them
  const asked = parseInt(new URLSearchParams(location.search).get("threads"), 10);
  const most = Math.min(4, navigator.hardwareConcurrency || 1, asked > 0 ? asked : 4);
  ort.env.wasm.numThreads = self.crossOriginIsolated ? most : 1;
  session = await ort.InferenceSession.create("model.onnx", { executionProviders: ["wasm"] });
  status.textContent = "ready: draw a shoe"; window.ready = true;
})().catch((e) => { status.textContent = "could not load the model: " + e; window.failed = String(e); });
