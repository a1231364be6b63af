// The page side of studio/live_route.py, shared by the canvases with a per-stroke route (the live
// sketch canvas, Paint a scene). Their Python puts it before their own code in js_on_load, where
// `element` and `server` are given. `holder`: the element whose data-route keeps the address.
function askRoute(holder) {  // the server names the route once its app has it; without one, or after a 404, the server function
  server.stroke_route([]).then((path) => {
    if (!path) return;
    holder.dataset.route = ((window.gradio_config && window.gradio_config.root) || '') + path;
    openSocket(holder);
  }).catch(() => {});
}
function openSocket(holder) {  // the route as a WebSocket (a shorter round trip than a fetch); until it opens, or if it closes, strokes are POSTed
  const url = new URL(holder.dataset.route, location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  const socket = new WebSocket(url);
  socket.binaryType = 'arraybuffer';
  socket.addEventListener('open', () => { holder.socket = socket; });
  socket.addEventListener('close', () => { if (holder.socket === socket) delete holder.socket; });
}
function socketReply(socket, values) {  // -> [status, message, parts or null, body Blob] of one frame (live_route.frame)
  return new Promise((resolve, reject) => {
    const gone = () => reject(new Error('the route closed'));
    if (socket.readyState !== WebSocket.OPEN) { gone(); return; }  // closing: its close event may have passed
    socket.addEventListener('close', gone, {once: true});
    socket.addEventListener('message', (m) => {
      socket.removeEventListener('close', gone);
      const size = new DataView(m.data).getUint32(0);
      const head = JSON.parse(new TextDecoder().decode(new Uint8Array(m.data, 4, size)));
      resolve([head.status, head.message, head.parts, new Blob([new Uint8Array(m.data, 4 + size)], {type: 'image/jpeg'})]);
    }, {once: true});
    socket.send(JSON.stringify(values));
  });
}
async function postReply(holder, values) {  // the same over HTTP: the message and parts in headers
  const r = await fetch(holder.dataset.route, {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(values)});
  const parts = r.headers.get('X-Live-Parts');
  return [r.status, decodeURIComponent(r.headers.get('X-Live-Message') || ''), parts === null ? null : parts.split(',').map(Number), await r.blob()];
}
async function routeAnswer(holder, values) {  // -> [object URLs, one per image ('' for none), message], or null: ask the server function
  const socket = holder.socket;
  let reply;
  try {
    reply = socket ? await socketReply(socket, values) : await postReply(holder, values);
  } catch (err) {
    if (!socket) throw err;
    reply = await postReply(holder, values);  // the socket closed meanwhile
  }
  const [status, message, parts, body] = reply;
  if (status === 404) { delete holder.dataset.route; if (holder.socket) holder.socket.close(); return null; }  // a server restarted since
  if (status !== 200) return [[], message];
  if (parts === null) return [[URL.createObjectURL(body)], message];
  let at = 0;  // several JPEGs one after the other, their byte lengths in the head
  return [parts.map((n) => { const part = body.slice(at, at += n, 'image/jpeg'); return n ? URL.createObjectURL(part) : ''; }), message];
}
function showImage(img, src) {  // sets (or, with no src, clears) an image, freeing the object URL it replaces
  const old = img.getAttribute('src');
  if (old && old.startsWith('blob:') && old !== src) URL.revokeObjectURL(old);
  if (src) img.src = src; else img.removeAttribute('src');
}
