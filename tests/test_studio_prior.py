"""The deep image prior demo: its functions in-process (a small network on 48 px photos), and
its Space through a real server."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_prior import smooth_scene

from engine.prior.fit import PriorConfig
from studio.prior import PriorDemo, painted_holes
from studio.space import export_space

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def demo(tmp_path: Path) -> PriorDemo:
    return PriorDemo(PriorConfig(channels=8, levels=3, preview_every=5, log_every=5), roots=[tmp_path])


@pytest.fixture
def photo(tmp_path: Path) -> str:
    path = tmp_path / "photo.png"
    smooth_scene(64).resize((64, 48)).save(path)
    return str(path)


def restore(demo: PriorDemo, photo: str, kind: str = "Denoise", editor=None, steps=20, as_is=False, scale=4):
    return list(demo.restore(photo, kind, 25, scale, editor, steps, 64, as_is))


def test_denoise_streams_the_input_pictures_and_the_psnr_curve(demo, photo):
    updates = restore(demo, photo)
    first, last = updates[0], updates[-1]
    assert isinstance(first[0], Image.Image) and first[0].size == (64, 48)
    assert first[3].startswith("Fitting a fresh network for 20 steps")
    assert len(updates) == 1 + 4  # the input, then a picture every 5 steps
    assert isinstance(last[1], Image.Image) and last[1].size == (64, 48)
    traces = {trace.name: trace for trace in last[2].data}
    assert list(traces["averaged output"].x) == [5, 10, 15, 20]
    assert last[3].startswith("Done: 20 steps") and "PSNR" in last[3] and "input" in last[3]


def test_inpainting_uses_the_painted_layer_or_cuts_random_strokes(demo, photo):
    layer = Image.new("RGBA", (64, 48), (0, 0, 0, 0))
    layer.paste((255, 0, 255, 255), (20, 10, 30, 40))
    editor = {"background": Image.open(photo), "layers": [layer], "composite": None}
    holes = painted_holes(editor, (64, 48))
    assert np.asarray(holes).astype(bool).sum() == 10 * 30
    shown = restore(demo, photo, "Inpaint (paint the holes)", editor, steps=5)[0][0]
    assert np.asarray(shown)[25, 25].tolist() == [128, 128, 128]  # the painted hole, shown grey
    assert np.asarray(shown)[5, 5].tolist() != [128, 128, 128]
    updates = restore(demo, photo, "Inpaint (paint the holes)", {"layers": []}, steps=5)
    assert "random strokes were cut out" in updates[-1][3]


def test_upscale_restores_the_photo_size_and_as_is_plots_the_loss(demo, photo):
    last = restore(demo, photo, "Upscale", steps=5)[-1]
    assert last[1].size == (64, 48)
    last = restore(demo, photo, "Upscale", steps=5, as_is=True, scale=2)[-1]
    assert last[1].size == (64, 48)  # the photo itself is the small input, shrunk to fit the work size
    assert [trace.name for trace in last[2].data] == ["loss (MSE to the input)"]
    assert "PSNR" not in last[3]


def test_stop_keeps_the_picture_so_far(demo, photo):
    assert demo.stop() == "Nothing is running."
    stream = demo.restore(photo, "Denoise", 25, 4, None, 500, 64, False)
    seen = [next(stream), next(stream)]
    assert demo.stop() == "Stopping…"
    seen += list(stream)
    assert seen[-1][3].startswith("Stopped at step") and isinstance(seen[-1][1], Image.Image)


def test_bad_inputs_give_messages_not_tracebacks(demo, photo, tmp_path):
    assert restore(demo, None)[-1][3] == "Add a photo image: upload one or pick an example."
    assert "must be an upload" in restore(PriorDemo(demo.base, roots=[tmp_path / "sub"]), photo)[-1][3]
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    message = restore(demo, str(broken))[-1][3]
    assert "cannot read image broken.png" in message and str(tmp_path) not in message
    assert "choose one of" in restore(demo, photo, "Sharpen")[-1][3]


@pytest.mark.slow
def test_exported_prior_space_restores_an_upload(tmp_path):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError
    from test_space import running_space

    out = export_space(tmp_path / "space", "prior")
    assert (out / "studio" / "prior.py").is_file() and (out / "studio" / "sessions.py").is_file()
    assert "plotly" in (out / "requirements.txt").read_text()
    photo = tmp_path / "photo.png"
    smooth_scene(64).save(photo)
    with running_space(out) as client:
        corrupted, restored, _, message = client.predict(
            handle_file(str(photo)), "Denoise", 25, 4, None, 10, 64, False, api_name="/restore"
        )
        assert Image.open(restored).size == (64, 64) and message.startswith("Done: 10 steps")
        # a visitor cannot name a file on the server's disk: Gradio refuses a bare path
        with pytest.raises(AppError):
            client.predict(str(out / "app.py"), "Denoise", 25, 4, None, 10, 64, False, api_name="/restore")


def test_a_second_restore_says_starting_at_once_and_the_old_fit_ends_quietly(demo, photo):
    old = demo.restore(photo, "Denoise", 25, 4, None, 500, 64, False)
    seen = [next(old), next(old)]
    picture, plot, message = demo.restart()  # Restore's immediate first step
    assert (picture, plot, message) == (None, None, "Starting a new fit…")
    seen += list(old)  # the old fit stops after its step and says nothing more
    assert not any("Stopped at step" in str(update[3]) for update in seen)
    new = restore(demo, photo, steps=5)
    assert new[0][3].startswith("Fitting a fresh network") and new[-1][3].startswith("Done: 5 steps")
    stream = demo.restore(photo, "Denoise", 25, 4, None, 500, 64, False)
    next(stream), next(stream)
    demo.stop()  # the Stop button still reports where it stopped
    assert list(stream)[-1][3].startswith("Stopped at step")
