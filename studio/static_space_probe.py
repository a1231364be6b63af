"""Drive an exported static Space in headless chromium (studio.headless): open it, draw strokes
with the mouse, wait for each answer and read the page's timings and canvases. Shared by
tests/test_static_space.py (what the page answers) and bench/static_space_latency.py (how fast)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Stroke = list[tuple[float, float]]
SHOE: list[Stroke] = [  # strokes on the 384 px drawing box: sole, toe, heel, top line, laces
    [(40, 300), (340, 300)],
    [(340, 300), (350, 260), (300, 220), (220, 190)],
    [(40, 300), (45, 160), (110, 150)],
    [(110, 150), (150, 200), (220, 190)],
    [(150, 200), (170, 230), (200, 215)],
]
# a few more lines (tongue, stitching, heel tab) that keep a long drawing a shoe
MORE: list[Stroke] = [
    [(120, 160), (130, 185)],
    [(60, 280), (320, 280)],
    [(45, 200), (70, 200)],
    [(250, 215), (290, 235)],
    [(200, 200), (215, 225)],
]


@dataclass(frozen=True)
class PageState:
    """What the page says about itself once its model is loaded."""

    isolated: bool  # self.crossOriginIsolated
    threads: int  # onnxruntime-web's wasm threads


def open_space(page, url: str, timeout_ms: int = 120_000) -> PageState:
    """Load the Space at `url` and wait until its model is ready."""
    page.goto(url)
    page.wait_for_function("window.ready === true || window.failed", timeout=timeout_ms)
    failed = page.evaluate("window.failed || ''")
    if failed:
        raise RuntimeError(f"the page could not load its model: {failed}")
    isolated, threads = page.evaluate("[self.crossOriginIsolated, ort.env.wasm.numThreads]")
    return PageState(bool(isolated), int(threads))


def draw_strokes(page, strokes: list[Stroke], steps: int = 8, timeout_ms: int = 60_000) -> None:
    """Draw each stroke with the mouse on #drawing and wait until the page has answered it."""
    box = page.locator("#drawing").bounding_box()
    done = page.evaluate("window.answers")
    for stroke in strokes:
        page.mouse.move(box["x"] + stroke[0][0], box["y"] + stroke[0][1])
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + x, box["y"] + y, steps=steps)
        page.mouse.up()
        done += 1
        page.wait_for_function(f"window.answers >= {done}", timeout=timeout_ms)


def clear(page) -> None:
    """Clear the drawing (the page answers an empty sketch with a message, not a timing)."""
    page.click("#clear")


def stroke_timings(page) -> dict[str, list[float]]:
    """Per answered stroke, in ms: `total` (pen up -> output drawn) and its parts `prepare`
    (canvas -> input tensors), `infer` (session.run) and `draw` (output tensor -> canvas)."""
    return page.evaluate("window.phases")


def canvas_pixels(page, selector: str) -> np.ndarray:
    """A canvas's RGBA pixels, height x width x 4 uint8."""
    data = page.evaluate(
        """(selector) => { const c = document.querySelector(selector);
        return [c.width, c.height, Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)]; }""",
        selector,
    )
    return np.array(data[2], np.uint8).reshape(data[1], data[0], 4)
