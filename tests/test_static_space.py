"""The static sketch Space in headless chromium: exported, served by a plain static server,
strokes drawn with the mouse, each answered in the page by onnxruntime-web (wasm) with no
server-side model; the output canvas shows a shoe close to what the Python pipeline makes of
the same drawing (colour pull off: the page leaves it out), and strokes -> output is timed."""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from support.browser import chromium_page

pytestmark = [pytest.mark.browser, pytest.mark.slow]
TOLERANCE = 0.02  # mean abs pixel difference (of 1), page vs Python; measured 0.0036


@pytest.fixture(scope="module")
def served_space(tmp_path_factory: pytest.TempPathFactory):
    from engine.errors import UserError
    from studio.space import export_space

    try:
        folder = export_space(tmp_path_factory.mktemp("static") / "space", "sketch", "default", static=True)
    except UserError as err:  # no npm and no cached onnxruntime-web: nothing to serve the page with
        if "onnxruntime-web" not in str(err):
            raise
        pytest.skip(str(err))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)  # a free port
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


SHOE = [  # strokes on the 384 px drawing box: sole, toe, heel, top line, laces
    [(40, 300), (340, 300)],
    [(340, 300), (350, 260), (300, 220), (220, 190)],
    [(40, 300), (45, 160), (110, 150)],
    [(110, 150), (150, 200), (220, 190)],
    [(150, 200), (170, 230), (200, 215)],
]


def canvas_pixels(page, selector: str) -> np.ndarray:
    data = page.evaluate(
        f"""() => {{ const c = document.querySelector('{selector}');
        return [c.width, c.height, Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)]; }}"""
    )
    return np.array(data[2], np.uint8).reshape(data[1], data[0], 4)


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


def test_static_space_draws_a_shoe_in_the_browser(served_space):
    from engine.pipelines.sketch import SketchPipeline

    folder, url = served_space
    readme = (folder / "README.md").read_text()
    assert "sdk: static" in readme and "colour pull" in readme
    assert "cdn" not in (folder / "index.html").read_text().lower()
    with chromium_page() as page:
        page.goto(url)
        page.wait_for_function("window.ready === true", timeout=60_000)
        box = page.locator("#drawing").bounding_box()
        for n, stroke in enumerate(SHOE, 1):
            page.mouse.move(box["x"] + stroke[0][0], box["y"] + stroke[0][1])
            page.mouse.down()
            for x, y in stroke[1:]:
                page.mouse.move(box["x"] + x, box["y"] + y, steps=8)
            page.mouse.up()
            page.wait_for_function(f"window.answers >= {n}", timeout=60_000)
        drawn = canvas_pixels(page, "#drawing")
        shown = canvas_pixels(page, "#output")[..., :3]
        timings = page.evaluate("window.timings")
    pipeline = SketchPipeline.load("default", device="cpu", colour_pull=False, table_looks=False)
    expected = np.asarray(pipeline(Image.fromarray(drawn[..., :3])).photo, np.float32)
    difference = float(np.abs(shown.astype(np.float32) - expected).mean() / 255)
    p50 = float(np.median(timings))
    print(
        f"\nstatic Space: mean abs difference page vs Python {difference:.4f} (tolerance {TOLERANCE}); "
        f"strokes -> output p50 {p50:.0f} ms, max {max(timings):.0f} ms over {len(timings)} strokes "
        f"(onnxruntime-web wasm, headless chromium, {cpu_name()})"
    )
    assert shown.std() > 20 and (shown.mean(2) < 200).mean() > 0.05  # a shoe, not a blank page
    assert difference < TOLERANCE
