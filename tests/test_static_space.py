"""The static sketch Space: exported, served with the cross-origin isolation headers the Hub
sends (studio.static_space.serving), strokes drawn with the mouse in headless chromium, each
answered in the page by onnxruntime-web (wasm) with no server-side model; the output canvas
shows a shoe close to what the Python pipeline makes of the same drawing (colour pull off: the
page leaves it out). Without the headers the page still works, on one thread. Speed is measured
by bench/static_space_latency.py, not here."""

from __future__ import annotations

import functools
import http.server
import threading
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from engine.errors import UserError
from studio.static_space import ISOLATION_HEADERS, default_static_model, serving, space_readme, static_server
from studio.static_space_probe import SHOE, canvas_pixels, draw_strokes, open_space, stroke_timings
from support.browser import chromium_page

TOLERANCE = 0.02  # mean abs pixel difference (of 1), page vs Python; measured 0.0036


def front_matter(readme: str) -> dict:
    return yaml.safe_load(readme.split("---\n")[1])


@pytest.fixture(scope="module")
def space_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sketch Space exported with no --model while default-live is not installed."""
    from studio.space import export_space

    with pytest.MonkeyPatch.context() as patch:  # as if the student were not bundled
        patch.setattr("engine.pipelines.drawing_models.fast_companion", lambda model: None)
        try:
            return export_space(tmp_path_factory.mktemp("static") / "space", "sketch", None, static=True)
        except UserError as err:  # no npm and no cached onnxruntime-web: nothing to serve the page with
            if "onnxruntime-web" not in str(err):
                raise
            pytest.skip(str(err))


def test_readme_asks_the_hub_for_cross_origin_isolation():
    meta = front_matter(space_readme("default", 17))
    assert meta["sdk"] == "static" and meta["app_file"] == "index.html"
    assert meta["custom_headers"] == {name.lower(): value for name, value in ISOLATION_HEADERS.items()}
    assert meta["custom_headers"]["cross-origin-embedder-policy"] == "require-corp"
    assert meta["custom_headers"]["cross-origin-opener-policy"] == "same-origin"


def test_readme_says_when_the_model_is_the_student():
    assert "a student distilled from default" in space_readme("default-live", 17)
    assert "student" not in space_readme("default", 17)
    assert "(ckpt, opset 17" in space_readme("runs/x/ckpt.safetensors", 17)


def test_the_student_is_exported_when_installed(monkeypatch):
    monkeypatch.setattr("engine.pipelines.drawing_models.fast_companion", lambda model: None)
    assert default_static_model() == "default"
    monkeypatch.setattr("engine.pipelines.drawing_models.fast_companion", lambda model: model + "-live")
    assert default_static_model() == "default-live"


def test_static_server_sends_isolation_headers_and_module_types(tmp_path):
    (tmp_path / "index.html").write_text("<p>hi</p>")
    (tmp_path / "a.mjs").write_text("export {};")
    (tmp_path / "b.wasm").write_bytes(b"\0asm")
    with serving(tmp_path) as url:
        for name, kind in (("", "text/html"), ("a.mjs", "text/javascript"), ("b.wasm", "application/wasm")):
            with urllib.request.urlopen(url + name) as reply:
                assert reply.headers["Content-Type"].startswith(kind)
                for header, value in ISOLATION_HEADERS.items():
                    assert reply.headers[header] == value


def test_static_server_refuses_a_folder_without_a_page(tmp_path):
    with pytest.raises(UserError, match="no index.html"):
        static_server(tmp_path)


def test_serve_static_command_says_what_is_wrong(tmp_path, capsys):
    from studio.__main__ import main

    assert main(["serve-static", str(tmp_path / "none")]) == 1
    assert "no index.html" in capsys.readouterr().err


@pytest.mark.browser
@pytest.mark.slow
def test_static_space_draws_a_shoe_in_the_browser(space_folder):
    from engine.pipelines.sketch import SketchPipeline

    readme = (space_folder / "README.md").read_text()
    assert "(default, opset" in readme and "student" not in readme  # the fallback when no student
    assert "colour pull" in readme and "custom_headers" in front_matter(readme)
    assert "cdn" not in (space_folder / "index.html").read_text().lower()
    with serving(space_folder) as url, chromium_page() as page:
        state = open_space(page, url)
        draw_strokes(page, SHOE)
        drawn = canvas_pixels(page, "#drawing")
        shown = canvas_pixels(page, "#output")[..., :3]
        timings = stroke_timings(page)
        cores = page.evaluate("navigator.hardwareConcurrency")
    assert state.isolated and state.threads == min(4, cores)  # the headers let the page use threads
    assert len(timings["total"]) == len(SHOE)
    for part in ("prepare", "infer", "draw"):  # the parts add up to no more than the whole
        assert all(0 <= p <= t for p, t in zip(timings[part], timings["total"]))
    pipeline = SketchPipeline.load("default", device="cpu", colour_pull=False, table_looks=False)
    expected = np.asarray(pipeline(Image.fromarray(drawn[..., :3])).photo, np.float32)
    difference = float(np.abs(shown.astype(np.float32) - expected).mean() / 255)
    print(f"\nstatic Space: mean abs difference page vs Python {difference:.4f} (tolerance {TOLERANCE})")
    assert shown.std() > 20 and (shown.mean(2) < 200).mean() > 0.05  # a shoe, not a blank page
    assert difference < TOLERANCE


@pytest.mark.browser
@pytest.mark.slow
def test_without_the_headers_the_page_runs_on_one_thread(space_folder):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(space_folder))
    handler.log_message = lambda *args: None
    plain = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)  # what `python -m http.server` does
    threading.Thread(target=plain.serve_forever, daemon=True).start()
    try:
        with chromium_page() as page:
            state = open_space(page, f"http://127.0.0.1:{plain.server_address[1]}/?threads=2")
            draw_strokes(page, SHOE[:1])
            assert page.evaluate("window.answers") == 1
    finally:
        plain.shutdown()
        plain.server_close()
    assert not state.isolated and state.threads == 1
    with serving(space_folder) as url, chromium_page() as page:
        assert open_space(page, f"{url}?threads=1").threads == 1  # ?threads= caps the page's threads
