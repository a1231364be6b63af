"""Paint a scene: latency from a finished stroke to the three models' photos, in chromium.

Starts the scene demo with its bundled models (pix2pix, pix2pixHD and SPADE on facades), paints
rectangles of changing classes on the live canvas in headless chromium (Playwright) and
measures, in the page's own clock, the time from the pointer going up to the photos being
replaced (all three are set together): by the stroke's JPEGs through the canvas's own route
(studio/live_route.py), then by the PNGs the server function sends once the pen has rested;
and, as the reference, with every stroke through Gradio's server function (the page's
fallback, the only way before the route). The two ways take turns, round after round, in one
page each, so a busy machine disturbs both alike. Also prints the three models' render
in-process, the plain reference for what the page adds (snapping, reading the map, transport,
encoding), beside the same with the plain networks under autocast (before the fast copies of
engine/models/fast_label_maps.py), taking turns stroke by stroke. Run as the studio's server
runs (idle OpenMP threads spin about a millisecond, then sleep; the models on its inference thread). Target (issue 24): every drawing surface <= 300 ms p50 per
stroke.

    python bench/scene_latency.py [--strokes 20]
"""

from __future__ import annotations

import argparse
import os
import shutil
import time

from engine.runtime.threads import apply_server_thread_policy

apply_server_thread_policy()  # as the studio's server: before torch starts, how idle OpenMP threads wait

from PIL import Image, ImageDraw  # noqa: E402
from sketch_latency import REST_MS, WATCH, percentiles  # noqa: E402

from engine.runtime.device import cpu_model  # noqa: E402
from studio.headless import chromium_page  # noqa: E402


def paint_stroke(page, canvas, i: int) -> None:
    """A rectangle of another class somewhere new each time."""
    buttons = page.locator(".scene-palette button")
    buttons.nth(1 + i % (buttons.count() - 1)).click()
    box = canvas.bounding_box()
    x = box["x"] + box["width"] * (0.1 + 0.05 * (i % 12))
    y = box["y"] + box["height"] * (0.1 + 0.04 * (i % 15))
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + box["width"] * 0.2, y + box["height"] * 0.15, steps=6)
    page.mouse.up()
    page.wait_for_timeout(REST_MS)  # the page's clock measures; this only waits


def browser_latencies(url: str, strokes: int, rounds: int = 3) -> dict[str, list[float]]:
    """Stroke -> first new photos, and -> the PNGs after the pen's rest, per way (the canvas's
    route; Gradio's server function): one page each, `rounds` turns of strokes/rounds strokes."""
    ways = {"route": True, "server function": False}
    times: dict[str, list[float]] = {"route": [], "route, PNGs after the rest": [], "server function": []}
    with chromium_page() as route_page:
        plain_page = route_page.context.browser.new_page(viewport=route_page.viewport_size)
        pages = {"route": route_page, "server function": plain_page}
        canvases = {}
        for way, page in pages.items():
            page.goto(url, wait_until="networkidle")
            canvases[way] = page.locator(".scene-canvas").first
            canvases[way].wait_for(state="visible")
            page.wait_for_function("document.querySelector('.scene').dataset.route")
            if not ways[way]:
                page.evaluate("delete document.querySelector('.scene').dataset.route")
            page.evaluate(WATCH, ".scene-outputs")
            for i in range(3):  # warm-up strokes (the first load the models)
                paint_stroke(page, canvases[way], i)
        per_round = max(1, strokes // rounds)
        for r in range(rounds):
            for way, page in pages.items():
                for i in range(per_round):
                    paint_stroke(page, canvases[way], 3 + r * per_round + i)
        for way, page in pages.items():
            changes = [c for c in page.evaluate("window.__lat") if c][3:]  # palette clicks have none
            times[way] = [c[0] for c in changes]
            if ways[way]:
                times["route, PNGs after the rest"] = [c[-1] for c in changes if len(c) > 1]
    return times


def in_process_ms(renders: dict, strokes: int) -> dict[str, list[float]]:
    """Each way of rendering (name -> the scene demo's paint) on a painted map, as the canvas's
    functions call it, no transport; the ways take turns stroke by stroke."""
    from engine.data.label_maps import FACADES

    label_map = Image.new("RGB", (256, 256), tuple(FACADES.colours[1]))
    pen = ImageDraw.Draw(label_map)
    times: dict[str, list[float]] = {name: [] for name in renders}
    for i in range(strokes + 3):
        pen.rectangle([20 + 8 * i, 30, 120 + 8 * i, 140], fill=tuple(FACADES.colours[2 + i % 8]))
        for name, render in renders.items():
            start = time.perf_counter()
            render(label_map, None, 0)
            if i >= 3:
                times[name].append((time.perf_counter() - start) * 1000)
    return times


def plain_scene(scene):
    """The scene demo with its models on their plain networks under autocast (as before the
    fast copies of engine/models/fast_label_maps.py), the reference for the models' share."""
    from engine.inference.label_maps import LabelMapModel
    from engine.inference.predictor import Predictor
    from studio.scene import SceneDemo

    plain = {}
    for label in scene.live:
        m = scene._load(label)
        if isinstance(m, LabelMapModel):
            plain[label] = LabelMapModel(m.nets, m.meta, m.source, m.device, m.precision.mode, fast=False)
        else:
            plain[label] = Predictor(m.net, m.meta, m.source, m.device, m.precision.mode, fast=False)
    demo = SceneDemo(scene.models, None)
    demo._load = plain.__getitem__
    return demo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strokes", type=int, default=20)
    args = parser.parse_args()
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from studio.scene import SceneDemo, build_scene_demo

    demo = build_scene_demo()
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    rows = []
    try:
        if shutil.which("chromium"):
            for way, ms in browser_latencies(demo.local_url, args.strokes).items():
                rows.append((f"stroke -> three photos, live canvas, {way}", ms))
    finally:
        demo.close()
    scene = SceneDemo()
    ways = {
        f"in-process, {', '.join(scene.live)}": scene.paint,
        "  the same, plain networks": plain_scene(scene).paint,
    }
    rows += list(in_process_ms(ways, args.strokes).items())
    for name, ms in rows:
        p50, p95 = percentiles(ms)
        print(f"{name:<60} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   (n={len(ms)})")
    print(f"CPU: {cpu_model()}; target: p50 <= 300 ms per stroke")


if __name__ == "__main__":
    main()
