"""`pip install .` (not editable) gives the engine and its command line, with the bundled
models and without any UI library, usable from any folder."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def test_plain_install_translates_with_the_bundled_default_from_any_folder(tmp_path):
    source = tmp_path / "source"  # a copy of the tracked tree, as a user's clone would be
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    for name in files:
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            (source / name).write_bytes((ROOT / name).read_bytes())
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", str(source)], capture_output=True, text=True, timeout=900
    )
    assert install.returncode == 0, install.stderr[-2000:]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    sketch = ROOT / "assets" / "examples" / "sketch_boot.png"
    result = subprocess.run(
        [str(python), "-m", "engine", "translate", "--model", "default", str(sketch), "shoe.png", "--sketch"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert (elsewhere / "shoe.png").stat().st_size > 1000
    for ui in ("gradio", "streamlit", "playwright"):
        found = subprocess.run([str(python), "-c", f"import {ui}"], capture_output=True, cwd=elsewhere)
        assert found.returncode != 0, f"{ui} was installed by a plain install"
