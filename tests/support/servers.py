"""Start the studio's servers in child processes for tests, and wait until they answer."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_url(url: str, proc: subprocess.Popen, timeout: float = 90) -> None:
    """Poll until `url` answers 200; fail with the process output if it died first."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {proc.stdout.read() if proc.stdout else ''}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"{url} did not answer within {timeout} s")


def connect_client(url: str, proc: subprocess.Popen, timeout: float = 90):
    """A gradio_client Client for the app `proc` serves at `url`, once it answers; None if the
    process died or `timeout` passed first."""
    from gradio_client import Client

    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        try:
            return Client(url, verbose=False)
        except Exception:
            time.sleep(0.5)
    return None


def start(args: list[str], home: Path) -> subprocess.Popen:
    env = {**os.environ, "STUDIO_HOME": str(home), "GRADIO_ANALYTICS_ENABLED": "False"}
    return subprocess.Popen(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def stop(proc: subprocess.Popen) -> str:
    proc.terminate()
    try:
        return proc.communicate(timeout=30)[0] or ""
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.communicate()[0] or ""


def start_streamlit(home: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = start(
        [
            "-m",
            "studio.streamlit_server",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
        ],
        home,
    )
    url = f"http://127.0.0.1:{port}"
    wait_for_url(f"{url}/_stcore/health", proc)
    return proc, url
