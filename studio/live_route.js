// The page side of studio/live_route.py, shared by the canvases with a per-stroke route (the live
// sketch canvas, Paint a scene). Their Python puts it before their own code in js_on_load, where
// `element` and `server` are given. `holder`: the element whose data-route keeps the address.
function askRoute(holder) {  // the server names the route once its app has it; without one, or after a 404, the server function
  server.stroke_route([]).then((path) => { if (path) holder.dataset.route = ((window.gradio_config && window.gradio_config.root) || '') + path; }).catch(() => {});
}
async function routeAnswer(holder, values) {  // -> [object URLs, one per image ('' for none), message], or null: ask the server function
  const r = await fetch(holder.dataset.route, {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(values)});
  const message = decodeURIComponent(r.headers.get('X-Live-Message') || '');
  if (r.status === 404) { delete holder.dataset.route; return null; }  // a server restarted since
  if (r.status !== 200) return [[], message];
  const body = await r.blob(), parts = r.headers.get('X-Live-Parts');
  if (parts === null) return [[URL.createObjectURL(body)], message];
  let at = 0;  // several JPEGs one after the other, their byte lengths in the header
  return [parts.split(',').map((n) => { const part = body.slice(at, at += +n, 'image/jpeg'); return +n ? URL.createObjectURL(part) : ''; }), message];
}
function showImage(img, src) {  // sets (or, with no src, clears) an image, freeing the object URL it replaces
  const old = img.getAttribute('src');
  if (old && old.startsWith('blob:') && old !== src) URL.revokeObjectURL(old);
  if (src) img.src = src; else img.removeAttribute('src');
}
