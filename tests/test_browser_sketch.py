"""A real browser draws on the sketchpad and gets a shoe back."""

import os

import pytest

from engine.training.loop import TrainSettings, train
from studio.sketch import build_sketch_demo
from support.browser import demo_page
from support.tiny import TINY_PIX2PIX

pytestmark = [pytest.mark.browser, pytest.mark.slow]
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


def test_drawing_strokes_produces_an_output_image(aligned_dataset, tmp_path):
    run_id = train(
        "pix2pix",
        TrainSettings(data=str(aligned_dataset), max_steps=2, batch_size=2, sample_size=2),
        TINY_PIX2PIX,
    )
    with demo_page(build_sketch_demo({"tiny": run_id})) as page:
        page.get_by_role("tab", name="Editor, upload, other models").click()
        canvas = page.locator("canvas:not(.live-canvas):not(.live-hints)").first
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


def test_live_canvas_answers_each_stroke(tiny_run, tmp_path):
    with demo_page(build_sketch_demo({"tiny": tiny_run})) as page:
        canvas = page.locator(".live-canvas")
        canvas.wait_for(state="visible", timeout=30_000)
        box = canvas.bounding_box()
        page.mouse.move(box["x"] + 60, box["y"] + 200)
        page.mouse.down()
        page.mouse.move(box["x"] + 300, box["y"] + 120, steps=10)
        page.mouse.up()
        photo = page.locator(".live-photo")
        page.wait_for_function(
            "document.querySelector('.live-photo').src.startsWith('data:image/png')", timeout=30_000
        )
        assert photo.get_attribute("src").startswith("data:image/png;base64,")
        assert page.locator(".live-edges").get_attribute("src").startswith("data:image/png;base64,")
        page.locator(".live-clear").click()
        assert page.locator(".live-photo").get_attribute("src") is None


def live_stroke(page, x0: float, y0: float, x1: float, y1: float) -> None:
    """A pen stroke on the live canvas, in its own pixels (where it is now: choosing a look may
    scroll the page)."""
    canvas = page.locator(".live-canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + x0, box["y"] + y0)
    page.mouse.down()
    page.mouse.move(box["x"] + x1, box["y"] + y1, steps=10)
    page.mouse.up()


def test_live_canvas_colour_brush_paints_hints(aligned_dataset):
    config = {**TINY_PIX2PIX, "hints": True, "mode": "l1"}
    run_id = train("pix2pix", TrainSettings(data=str(aligned_dataset), max_steps=1, batch_size=2), config)
    with demo_page(build_sketch_demo({"hints": run_id})) as page:
        live_stroke(page, 60, 250, 320, 120)
        page.wait_for_function("document.querySelector('.live-photo').src.startsWith('data:')")
        plain = page.locator(".live-photo").get_attribute("src")
        page.locator("input[value=colour]").check()
        page.locator(".live-colour").evaluate("e => e.value = '#1f618d'")
        live_stroke(page, 80, 200, 300, 220)
        page.wait_for_function(f"document.querySelector('.live-photo').src !== {plain!r}", timeout=30_000)
        assert page.locator(".live-status").text_content() == ""
        page.locator(".live-undo").click()  # the colour stroke goes: the plain shoe comes back
        page.wait_for_function(f"document.querySelector('.live-photo').src === {plain!r}", timeout=30_000)


def test_live_canvas_shows_looks_keeps_the_chosen_one_and_takes_a_photos_look(aligned_dataset, tmp_path):
    from PIL import Image

    config = {"ngf": 8, "ndf": 8, "nef": 8, "n_layers": 2, "load_size": 36, "crop_size": 32, "nz": 4}
    run_id = train("bicyclegan", TrainSettings(data=str(aligned_dataset), max_steps=2, batch_size=2), config)
    with demo_page(build_sketch_demo({"looks": run_id})) as page:
        live_stroke(page, 60, 250, 320, 120)
        page.wait_for_function(
            "document.querySelectorAll('.live-looks-row img').length === 4", timeout=30_000
        )
        typical = page.locator(".live-photo").get_attribute("src")
        page.locator(".live-looks-row img").nth(2).click()  # look 2
        page.wait_for_function(f"document.querySelector('.live-photo').src !== {typical!r}", timeout=30_000)
        assert page.locator(".live-look-name").text_content() == "look 2"
        chosen = page.locator(".live-photo").get_attribute("src")
        live_stroke(page, 80, 300, 300, 300)  # drawing on keeps look 2
        page.wait_for_function(f"document.querySelector('.live-photo').src !== {chosen!r}", timeout=30_000)
        page.wait_for_function(
            "document.querySelector('.live-looks-row img.chosen') !== null", timeout=30_000
        )
        assert page.locator(".live-looks-row img.chosen").get_attribute("title") == "look 2"
        Image.new("RGB", (60, 40), (200, 30, 30)).save(tmp_path / "red.png")
        before = page.locator(".live-photo").get_attribute("src")
        page.locator(".live-ref").set_input_files(str(tmp_path / "red.png"))
        page.wait_for_function(f"document.querySelector('.live-photo').src !== {before!r}", timeout=30_000)
        assert page.locator(".live-look-name").text_content() == "look of red.png"
        page.screenshot(path=str(tmp_path / "looks.png"))
