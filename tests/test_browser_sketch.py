"""A real browser draws on the sketchpad and gets a shoe back."""

import os

import pytest

from browser import chromium_page
from conftest import TINY_PIX2PIX
from engine.train import TrainSettings, train
from studio.sketch import build_sketch_demo

pytestmark = pytest.mark.browser
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


def test_drawing_strokes_produces_an_output_image(aligned_dataset, tmp_path):
    run_id = train(
        "pix2pix",
        TrainSettings(data=str(aligned_dataset), max_steps=2, batch_size=2, sample_size=2),
        TINY_PIX2PIX,
    )
    demo = build_sketch_demo({"tiny": run_id})
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    try:
        with chromium_page() as page:
            page.goto(demo.local_url, wait_until="networkidle")
            canvas = page.locator("canvas").first
            canvas.wait_for(state="visible", timeout=30_000)
            box = canvas.bounding_box()
            x0, y0, w, h = box["x"], box["y"], box["width"], box["height"]
            for stroke in (((0.2, 0.6), (0.5, 0.35), (0.8, 0.65)), ((0.25, 0.7), (0.8, 0.7))):
                page.mouse.move(x0 + stroke[0][0] * w, y0 + stroke[0][1] * h)
                page.mouse.down()
                for px, py in stroke[1:]:
                    page.mouse.move(x0 + px * w, y0 + py * h, steps=12)
                page.mouse.up()
            for elem in ("#edges img", "#shoe img"):  # what the model sees, and its answer
                image = page.locator(elem).first
                image.wait_for(state="visible", timeout=60_000)
                assert "/gradio_api/file=" in image.get_attribute("src")
            page.screenshot(path=str(tmp_path / "sketch_demo.png"))
    finally:
        demo.close()
