"""A real browser draws on the live canvas (and uploads) and gets a shoe back."""

import os

import pytest

from engine.training.loop import TrainSettings, train
from studio.sketch import build_sketch_demo
from support.browser import chromium_page, demo_page
from support.tiny import TINY_PIX2PIX

pytestmark = [pytest.mark.browser, pytest.mark.slow]
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


def test_an_upload_gives_a_shoe_that_a_model_switch_keeps(tiny_run, aligned_dataset, tmp_path):
    other = train(
        "pix2pix", TrainSettings(data=str(aligned_dataset), max_steps=1, batch_size=2), TINY_PIX2PIX
    )
    with demo_page(build_sketch_demo({"tiny": tiny_run, "other": other})) as page:
        page.get_by_role("tab", name="Upload").click()
        page.locator(".gallery-item").first.click()  # an example sketch
        shoe = page.locator("#shoe img").first
        shoe.wait_for(state="visible", timeout=60_000)
        first = shoe.get_attribute("src")
        assert first.endswith("/shoe.png")
        page.get_by_role("combobox", name="Model").click()
        page.get_by_role("option", name="other").click()
        page.wait_for_function(
            f"document.querySelector('#shoe img')?.getAttribute('src') !== {first!r}", timeout=60_000
        )
        assert page.locator("#shoe img").first.get_attribute("src").endswith("/shoe.png")
        assert "Draw a shoe" not in page.locator("#sketch-status").inner_text()
        page.screenshot(path=str(tmp_path / "upload.png"))


def test_live_canvas_answers_each_stroke(tiny_run, tmp_path):
    """A stroke is answered by the canvas's own route (a JPEG shown from a blob URL, captioned a
    draft where a student drafts the model's strokes), then, once the pen rests, by the server
    function's PNG with what the model saw."""
    from studio.live_canvas import DRAFT_CAPTION

    with demo_page(build_sketch_demo({"tiny": tiny_run}, drafts={tiny_run: tiny_run})) as page:
        canvas = page.locator(".live-canvas")
        canvas.wait_for(state="visible", timeout=30_000)
        page.wait_for_function("document.querySelector('.live').dataset.route", timeout=30_000)
        assert not page.locator(".live-model-label").is_visible()  # one model: no empty picker
        page.evaluate("""() => { window.__srcs = []; window.__captions = [];
          new MutationObserver(() => {
            window.__srcs.push(document.querySelector('.live-photo').src);
            window.__captions.push(document.querySelector('.live-caption').textContent);
          }).observe(document.querySelector('.live-photo'), {attributes: true, attributeFilter: ['src']}); }""")
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
        srcs = page.evaluate("window.__srcs")
        assert srcs[0].startswith("blob:") and srcs[-1].startswith("data:image/png"), srcs[:3]
        captions = page.evaluate("window.__captions")
        assert captions[0] == DRAFT_CAPTION and page.locator(".live-caption").inner_text() == "shoe"
        assert page.locator(".live-download").get_attribute("href").startswith("data:image/png")
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


def test_a_colour_dab_alone_says_to_draw_the_outline(tiny_run):
    with demo_page(build_sketch_demo({"tiny": tiny_run})) as page:
        page.locator("input[value=colour]").check()
        live_stroke(page, 150, 150, 170, 160)
        assert page.locator(".live-status").text_content() == "Draw the shoe's outline; colour dabs tint it."


def test_at_1024x768_the_shoe_is_beside_the_canvas_above_the_fold(tiny_run):
    demo = build_sketch_demo({"tiny": tiny_run})
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    try:
        with chromium_page(1024, 768) as page:
            page.goto(demo.local_url, wait_until="networkidle")
            caption = page.locator(".live-answer figcaption").inner_text()
            assert "·" not in caption and "appears here" in caption  # nothing dangles before a shoe
            live_stroke(page, 60, 250, 320, 120)
            page.wait_for_function("document.querySelector('.live-photo').src.startsWith('data:')")
            canvas = page.locator(".live-canvas").bounding_box()
            photo = page.locator(".live-photo").bounding_box()
            assert photo["x"] > canvas["x"] + canvas["width"] - 1 and photo["y"] < canvas["y"] + 50
            assert photo["x"] + photo["width"] <= 1024 and photo["y"] + photo["height"] <= 768
            assert page.locator(".live-download").inner_text() == "download shoe.png"
    finally:
        demo.close()
