"""Paint a scene: latency from a finished stroke to the three models' photos, in chromium.

Starts the scene demo with its bundled models (pix2pix, pix2pixHD and SPADE on facades), paints
rectangles of changing classes on the live canvas in headless chromium (Playwright) and
measures, in the page's own clock, the time from the pointer going up to the photos being
replaced (all three are set together). Also prints the three models' render in-process, the
plain reference for what the page adds (snapping the map to the palette, the server function's
round trip, encoding). Target (issue 24): every drawing surface <= 300 ms p50 per stroke.

    python bench/scene_latency.py [--strokes 20]
"""

from __future__ import annotations

import argparse
import os
import shutil
import time

from PIL import Image, ImageDraw
from sketch_latency import REST_MS, WATCH, percentiles

from engine.runtime.device import cpu_model
from studio.headless import chromium_page


def browser_latencies(url: str, strokes: int) -> list[float]:
    """Stroke -> the photos replaced, per stroke, in the page's clock (the first strokes warm up)."""
    with chromium_page() as page:
        page.goto(url, wait_until="networkidle")
        canvas = page.locator(".scene-canvas").first
        canvas.wait_for(state="visible")
        page.evaluate(WATCH, ".scene-outputs")
        buttons = page.locator(".scene-palette button")
        box = canvas.bounding_box()
        for i in range(strokes + 3):  # a rectangle of another class somewhere new each time
            buttons.nth(1 + i % (buttons.count() - 1)).click()
            x = box["x"] + box["width"] * (0.1 + 0.05 * (i % 12))
            y = box["y"] + box["height"] * (0.1 + 0.04 * (i % 15))
            page.mouse.move(x, y)
            page.mouse.down()
            page.mouse.move(x + box["width"] * 0.2, y + box["height"] * 0.15, steps=6)
            page.mouse.up()
            page.wait_for_timeout(REST_MS)  # the page's clock measures; this only waits
        changes = [c for c in page.evaluate("window.__lat") if c][3:]  # palette clicks have none
    return [c[0] for c in changes]


def in_process_ms(render, strokes: int) -> list[float]:
    """The three models on a painted map, as the server function calls them, no transport."""
    from engine.data.label_maps import FACADES

    label_map = Image.new("RGB", (256, 256), tuple(FACADES.colours[1]))
    pen = ImageDraw.Draw(label_map)
    times = []
    for i in range(strokes + 3):
        pen.rectangle([20 + 8 * i, 30, 120 + 8 * i, 140], fill=tuple(FACADES.colours[2 + i % 8]))
        start = time.perf_counter()
        render(label_map, None, 0)
        if i >= 3:
            times.append((time.perf_counter() - start) * 1000)
    return times


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
            rows.append(
                (
                    "stroke -> three photos, live canvas (browser)",
                    browser_latencies(demo.local_url, args.strokes),
                )
            )
    finally:
        demo.close()
    scene = SceneDemo()
    rows.append((f"in-process, {', '.join(scene.live)}", in_process_ms(scene.paint, args.strokes)))
    for name, ms in rows:
        p50, p95 = percentiles(ms)
        print(f"{name:<60} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   (n={len(ms)})")
    print(f"CPU: {cpu_model()}; target: p50 <= 300 ms per stroke")


if __name__ == "__main__":
    main()
