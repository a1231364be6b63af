"""`python -m studio` starts the Gradio demos and the Streamlit app and prints their URLs."""

import pytest

from support.servers import free_port, start, stop, wait_for_url

pytestmark = pytest.mark.slow


def test_studio_starts_both_apps(studio_home):
    gradio_port, streamlit_port = free_port(), free_port()
    proc = start(
        ["-m", "studio", "--port", str(gradio_port), "--streamlit-port", str(streamlit_port)], studio_home
    )
    try:
        wait_for_url(f"http://127.0.0.1:{gradio_port}/", proc)
        wait_for_url(f"http://127.0.0.1:{streamlit_port}/_stcore/health", proc)
    finally:
        output = stop(proc)
    assert f"http://127.0.0.1:{gradio_port}" in output and f"http://127.0.0.1:{streamlit_port}" in output


def test_export_space_command_refuses_unknown_models(studio_home, tmp_path):
    proc = start(
        ["-m", "studio", "export-space", str(tmp_path / "space"), "--model", "no-such-run"], studio_home
    )
    output = proc.communicate(timeout=120)[0]
    assert proc.returncode == 1 and "error:" in output and "Traceback" not in output
