"""`python -m studio` starts the Gradio demos and the Streamlit app and prints their URLs."""

import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from engine.errors import UserError
from studio.__main__ import main, pick_port
from support.servers import free_port, start, stop, wait_for_url

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def busy_port():
    """A port another program listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_a_taken_default_port_gives_the_next_free_one(busy_port: int, capsys):
    port = pick_port("127.0.0.1", None, busy_port, "--port")
    assert port > busy_port and f"port {busy_port} is in use; using {port}" in capsys.readouterr().out
    assert pick_port("127.0.0.1", None, port, "--port", taken=(port,)) != port


def test_a_taken_chosen_port_fails_before_any_url_naming_the_option(busy_port: int, capsys):
    with pytest.raises(UserError, match="--port PORT"):
        pick_port("127.0.0.1", busy_port, 7860, "--port")
    assert main(["--port", str(busy_port), "--no-streamlit"]) == 1
    out, err = capsys.readouterr()
    assert "http://" not in out + err and "--port" in err and "GRADIO_SERVER_PORT" not in err
    assert main(["--port", str(free_port()), "--streamlit-port", str(busy_port)]) == 1
    assert "--streamlit-port" in capsys.readouterr().err


def test_make_studio_passes_options_and_says_what_the_set_up_does():
    dry = ["make", "--no-print-directory", "-n", "-B", "studio", "ARGS=--port 7900 --no-streamlit"]
    lines = subprocess.run(dry, cwd=ROOT, capture_output=True, text=True, check=True).stdout.splitlines()
    first_pip = next(i for i, line in enumerate(lines) if "pip install" in line)
    assert any(line.startswith("echo") and "install" in line for line in lines[:first_pip])
    assert lines[-1].endswith("-m studio --port 7900 --no-streamlit")


@pytest.mark.slow
def test_studio_starts_both_apps(studio_home):
    gradio_port, streamlit_port = free_port(), free_port()
    proc = start(
        ["-m", "studio", "--port", str(gradio_port), "--streamlit-port", str(streamlit_port)], studio_home
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True)
    reader.start()
    try:
        wait_for_url(f"http://127.0.0.1:{gradio_port}/", proc)
        wait_for_url(f"http://127.0.0.1:{streamlit_port}/_stcore/health", proc)
        deadline = time.time() + 60  # the URLs are printed once launch() returns, a moment later
        while not any("Streamlit app:" in line for line in lines) and time.time() < deadline:
            time.sleep(0.2)
    finally:
        stop(proc)
        reader.join(timeout=30)
    output = "".join(lines)
    assert f"http://127.0.0.1:{gradio_port}" in output and f"http://127.0.0.1:{streamlit_port}" in output


@pytest.mark.slow
def test_export_space_command_refuses_unknown_models(studio_home, tmp_path):
    proc = start(
        ["-m", "studio", "export-space", str(tmp_path / "space"), "--model", "no-such-run"], studio_home
    )
    output = proc.communicate(timeout=120)[0]
    assert proc.returncode == 1 and "error:" in output and "Traceback" not in output


@pytest.mark.slow
def test_the_studio_refuses_uploads_over_the_limit_before_storing_them(studio_home, tmp_path, monkeypatch):
    from gradio.utils import _parse_file_size

    from studio.inputs import MAX_FILE_SIZE
    from support.api import post_upload

    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "uploads"))
    port, limit = free_port(), _parse_file_size(MAX_FILE_SIZE)
    proc = start(["-m", "studio", "--port", str(port), "--no-streamlit"], studio_home)
    try:
        wait_for_url(f"http://127.0.0.1:{port}/", proc)
        assert post_upload(f"http://127.0.0.1:{port}/", limit + 1) == 413
        assert post_upload(f"http://127.0.0.1:{port}/", 1000) == 200  # a picture still goes in
    finally:
        stop(proc)
    stored = [p.stat().st_size for p in (tmp_path / "uploads").rglob("*") if p.is_file()]
    assert stored and max(stored) < limit
