"""Latency from a finished stroke to the updated shoe, through the Gradio server.

Starts the sketch demo with a bundled model and draws in headless chromium (Playwright) on the
live canvas (the only drawing surface since the editor tab went) what people draw: a shoe's
outline and a few lines inside, ten strokes at a person's pace, then a clear page and again. For each stroke it measures, in the page's own clock,
the time from the pointer going up to the shoe image being replaced: by the stroke's JPEG
through the canvas's own route (studio/live_route.py) over its WebSocket, then by the PNG the
server function sends once the pen has rested; and, as references, with every stroke POSTed to
the route (the page's way when a WebSocket will not open) and through Gradio's server function
(the page's fallback). A stroke by the route is split into its parts: the page before the
request, the server's wait for its inference thread and its answer (their timing comes back with
the answer), the way there and back, and the page after the answer. Also prints the round trip
through `gradio_client` and the pipeline alone (sketch preparation, model, colour pull), plain,
with 12 colour dabs and with a chosen look, on the server's inference thread as the studio runs
it. It runs with the studio's server thread policy (idle OpenMP threads spin about a
millisecond, then sleep); a wait policy set in the environment is kept
(`OMP_WAIT_POLICY=PASSIVE python bench/sketch_latency.py` measures the policy before session 12). Where the
model has a drafting student installed (`default-live`), strokes are answered by it as in the
studio, and the same strokes answered by the model itself are timed too. Target (issue 24):
stroke -> shoe p50 <= 30 ms on a 2-core CPU.

    python bench/sketch_latency.py [--strokes 25] [--model default] [--no-draft]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from engine.runtime.threads import apply_server_thread_policy

if __name__ == "__main__":  # as the studio's server: before torch starts, how idle OpenMP threads wait
    apply_server_thread_policy()

from PIL import Image, ImageDraw  # noqa: E402

from engine.pipelines.sketch import Look  # noqa: E402
from engine.runtime.device import cpu_model  # noqa: E402
from engine.runtime.inference_thread import run_inference  # noqa: E402
from studio.headless import chromium_page  # noqa: E402
from studio.static_space_probe import MORE, SHOE  # noqa: E402

PROBE_BOX = 384  # px: the side of the box the probe's strokes are drawn on

WATCH = """(target) => {
  window.__lat = []; window.__up = null; window.__ups = [];  // per stroke: ms from pointer-up to each new image
  window.__sockets = [];  // per stroke sent over the route's WebSocket: [sent, answered, the frame's timing]
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    const record = [performance.now(), null, null];
    window.__sockets.push(record);
    this.addEventListener('message', (m) => {
      record[1] = m.timeStamp;  // when it arrived: the page's own listener runs first
      const size = new DataView(m.data).getUint32(0);
      record[2] = JSON.parse(new TextDecoder().decode(new Uint8Array(m.data, 4, size))).timing;
    }, {once: true});
    return send.call(this, data);
  };
  performance.setResourceTimingBufferSize(10000);
  document.addEventListener('pointerup', () => { window.__up = performance.now(); window.__ups.push(window.__up); window.__lat.push([]); }, true);
  const box = document.querySelector(target);
  new MutationObserver(() => {
    const img = box.tagName === 'IMG' ? box : box.querySelector('img');
    if (img && img.src !== window.__src) {
      window.__src = img.src;
      if (window.__up !== null) window.__lat[window.__lat.length - 1].push(performance.now() - window.__up);
    }
  }).observe(box, {subtree: true, childList: true, attributes: true, attributeFilter: ['src']});
}"""
# per stroke by the route: where its time went, from the page's WebSocket messages (or, for a
# POST, the resource timing of its request) and the server's own timing of its answer
SPLIT = """() => window.__ups.map((up, i) => {
  const shown = window.__lat[i][0];
  let sent, answered, server;
  const socket = window.__sockets.find((s) => s[0] >= up && s[1] !== null);
  if (socket) [sent, answered, server] = socket;
  else {
    const r = performance.getEntriesByType('resource').find((e) => e.name.includes('/studio-live/') && e.startTime >= up);
    if (!r) return null;
    [sent, answered] = [r.startTime, r.responseEnd];
    server = Object.fromEntries(r.serverTiming.map((t) => [t.name, t.duration]));
  }
  if (shown === undefined) return null;
  return {before: sent - up, wait: server.wait, answer: server.answer,
          transport: answered - sent - server.wait - server.answer, after: up + shown - answered};
})"""
SPLIT_PARTS = {
    "before": "page: stroke end -> request sent",
    "wait": "server: waiting for the inference thread",
    "answer": "server: handler + JPEG",
    "transport": "there and back (socket or HTTP), event loop",
    "after": "page: response -> shoe shown",
}
MOVES_PER_LINE = 4
DRAWING = SHOE + MORE  # what people draw: a shoe's outline and a few lines inside, ten strokes
# between strokes: the full answer follows a draft after a 250 ms rest, the looks row 600 ms later
REST_MS = 1600


def percentiles(ms: list[float]) -> tuple[float, float]:
    ms = sorted(ms)
    return statistics.median(ms), ms[int(0.95 * (len(ms) - 1))]


def browser_latencies(
    url: str, strokes: int, route: str = "socket", look: bool = False
) -> tuple[list[float], list[float], dict[str, list[float]]]:
    """Stroke -> first new shoe, and -> the PNG after the pen's rest (where one follows), on the
    live canvas, in the page's clock, and (by the route) the first's parts (SPLIT_PARTS). `route`:
    how strokes go: "socket" (the route's WebSocket, the page's way), "post" (POSTed to the
    route) or "server function" (Gradio's, the page's fallback). `look`: a look from the row is
    chosen after the first stroke and kept while the strokes go on."""
    with chromium_page() as page:
        page.goto(url, wait_until="networkidle")
        canvas = page.locator(".live-canvas").first
        canvas.wait_for(state="visible")
        page.wait_for_function("document.querySelector('.live').socket")  # the route's WebSocket is open
        if route != "socket":  # POST to the route, or (no route) the server function
            page.evaluate("document.querySelector('.live').socket.close()")
        if route == "server function":
            page.evaluate("delete document.querySelector('.live').dataset.route")
        page.evaluate(WATCH, ".live-photo")
        box = canvas.bounding_box()
        scale = box["width"] / PROBE_BOX  # the probe's shoe is drawn on a 384 px box
        for i in range(strokes + 3):  # a shoe outline stroke by stroke, then a clear page and again
            if i and i % len(DRAWING) == 0:  # no pointer events: the page's clock is not restarted
                page.evaluate("window.__up = null; document.querySelector('.live-clear').click()")
            points = [(box["x"] + x * scale, box["y"] + y * scale) for x, y in DRAWING[i % len(DRAWING)]]
            draw_stroke(page, points)
            page.wait_for_timeout(REST_MS)  # the page's clock measures; this only waits
            if look and i == 0:  # the looks row follows the rest: choose its second look
                page.locator(".live-looks-row img").nth(1).click()
                page.wait_for_timeout(REST_MS)
        changes = [c for c in page.evaluate("window.__lat") if c][3:]  # the first strokes load models
        splits = [s for s in page.evaluate(SPLIT)[3:] if s] if route != "server function" else []
    parts = {name: [split[name] for split in splits] for name in SPLIT_PARTS} if splits else {}
    return [c[0] for c in changes], [c[-1] for c in changes if len(c) > 1], parts


def draw_stroke(page, points: list[tuple[float, float]]) -> None:
    """A stroke through `points` at a person's pace: each line of it in MOVES_PER_LINE pointer
    moves 40 ms apart."""
    page.mouse.move(*points[0])
    page.mouse.down()
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        for k in range(1, MOVES_PER_LINE + 1):
            page.mouse.move(x0 + (x1 - x0) * k / MOVES_PER_LINE, y0 + (y1 - y0) * k / MOVES_PER_LINE)
            page.wait_for_timeout(40)
    page.mouse.up()


def client_latencies(url: str, model: str, runs: int) -> list[float]:
    from gradio_client import Client, handle_file

    client = Client(url, verbose=False)
    img = Image.new("RGBA", (512, 512), (0, 0, 0, 0))
    ImageDraw.Draw(img).line([(80, 300), (250, 180), (440, 320)], fill=(0, 0, 0, 255), width=5)
    path = Path(tempfile.mkdtemp()) / "stroke.png"
    img.save(path)
    times = []
    for i in range(runs + 3):
        value = {"background": None, "layers": [], "composite": handle_file(str(path))}
        start = time.perf_counter()
        client.predict(value, model, api_name="/sketch_to_photo")
        if i >= 3:
            times.append((time.perf_counter() - start) * 1000)
    return times


def in_process_ms(pipeline, drawing: Image.Image, hints: Image.Image | None, args, look=None) -> list[float]:
    """The sketch pipeline every surface calls: sketch preparation, model, colour pull."""
    times = []
    for i in range(args.strokes + 3):
        start = time.perf_counter()
        pipeline(drawing, hints, look=look)
        if i >= 3:  # the first calls warm up
            times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strokes", type=int, default=25)
    parser.add_argument("--model", default="default")
    parser.add_argument(
        "--no-draft", action="store_true", help="strokes by the model itself, not its student"
    )
    args = parser.parse_args()
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from engine.pipelines.sketch import SketchPipeline
    from studio.sketch import build_sketch_demo, bundled_drafts

    models = {args.model: args.model}
    drafts = {} if args.no_draft else bundled_drafts(models)
    draft = drafts.get(args.model)
    demos = {"": build_sketch_demo(models, drafts=drafts)}
    if draft:  # the same strokes answered by the model itself, for comparison in the same run
        demos[f", {args.model} itself"] = build_sketch_demo(models, drafts={})
    for demo in demos.values():
        demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    url = demos[""].local_url
    print(f"strokes answered by {draft or args.model}; the PNG after the pen's rest by {args.model}")
    rows = []
    try:
        if shutil.which("chromium"):
            ways = [("socket", False, "its route", url)]
            ways += [
                ("socket", False, f"its route{name}", demo.local_url) for name, demo in demos.items() if name
            ]
            ways += [
                ("post", False, "its route, POSTed", url),
                ("server function", False, "Gradio server function", url),
            ]
            ways += (
                [("socket", True, "its route, a chosen look", url)]
                if SketchPipeline.load(args.model).multimodal
                else []
            )
            for route, look, how, address in ways:
                first, full, parts = browser_latencies(address, args.strokes, route, look)
                rows.append((f"stroke -> shoe, live canvas, {how}", first))
                rows += [(f"  {SPLIT_PARTS[name]}", ms) for name, ms in parts.items()]
                if full:
                    rows.append(("  -> the PNG after the pen's 250 ms rest", full))
        rows.append(("gradio_client round trip", client_latencies(url, args.model, args.strokes)))
    finally:
        for demo in demos.values():
            demo.close()
    for model in (draft, args.model) if draft else (args.model,):
        rows += run_inference(in_process_rows, SketchPipeline.load, model, args)
    for name, ms in rows:
        p50, p95 = percentiles(ms)
        print(f"{name:<52} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   (n={len(ms)})")
    print(f"CPU: {cpu_model()}; target: live canvas p50 <= 30 ms")


def in_process_rows(load, model: str, args) -> list[tuple[str, list[float]]]:
    """The pipeline alone: plain, with 12 colour dabs (and the pull), with a chosen look; on the
    inference thread, the one OpenMP team of the server."""
    direct = load(model)
    rows = []
    drawing = Image.new("RGBA", (512, 512), (0, 0, 0, 0))
    ImageDraw.Draw(drawing).line([(80, 300), (250, 180), (440, 320)], fill=(0, 0, 0, 255), width=5)
    rows.append((f"in-process {model} (sketch prep + model)", in_process_ms(direct, drawing, None, args)))
    outline = Image.new("RGBA", (512, 512), (0, 0, 0, 0))  # a closed shoe with a sole line
    pen = ImageDraw.Draw(outline)
    pen.line(
        [(60, 400), (60, 240), (180, 200), (300, 260), (440, 320), (470, 400), (60, 400)], (0, 0, 0, 255), 5
    )
    pen.line([(60, 360), (470, 360)], fill=(0, 0, 0, 255), width=5)
    hints = Image.new("RGBA", outline.size, (0, 0, 0, 0))  # the live canvas's colour layer: 12 dabs
    for i in range(12):
        x, y = 90 + 28 * i, 290 + 5 * i
        ImageDraw.Draw(hints).ellipse([x, y, x + 10, y + 10], fill=(30, 80, 200, 255))
    rows.append((f"  {model}, 12 colour dabs (+ pull)", in_process_ms(direct, outline, hints, args)))
    if direct.multimodal:  # a look chosen on the live canvas: its seed's code goes in too
        rows.append(
            (f"  {model}, a chosen look (seed 3)", in_process_ms(direct, outline, None, args, Look(seed=3)))
        )
    return rows


if __name__ == "__main__":
    main()
