"""`python -m engine` ends without tearing the interpreter down, and loses nothing by it: the
exit code, everything printed (to a pipe too) and the exit handlers' work all arrive."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent


def engine(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "engine", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def test_exit_codes_and_output_survive_the_quick_exit(tmp_path: Path) -> None:
    ok = engine("--help")
    assert ok.returncode == 0 and "usage: python -m engine" in ok.stdout
    missing = engine(
        "stylize", str(tmp_path / "none.jpg"), str(tmp_path / "none.jpg"), str(tmp_path / "o.png")
    )
    assert missing.returncode == 1 and "cannot read image" in missing.stderr
    photo = tmp_path / "photo.png"
    Image.new("RGB", (64, 48), (120, 80, 40)).save(photo)
    out = tmp_path / "out.png"
    done = engine(
        "stylize",
        str(photo),
        str(photo),
        str(out),
        "--size",
        "64",
        "--steps",
        "2",
        "--coarse-steps",
        "1",
        "--quiet",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith("wrote") and Image.open(out).size == (64, 48)


def test_exit_handlers_still_run_but_the_teardown_is_skipped() -> None:
    """A temporary folder left to its finaliser is removed at exit and an exit handler runs, as
    before; an object that only the interpreter's teardown would free is not (the quick exit)."""
    code = (
        "import atexit, runpy, sys, tempfile\n"
        "held = tempfile.TemporaryDirectory(); print(held.name, flush=True)\n"
        "atexit.register(lambda: print('handler ran', flush=True))\n"
        "class Torn:\n"
        "    def __del__(self): print('torn down', flush=True)\n"
        "keep = Torn()\n"
        "sys.argv = ['engine', '--help']; runpy.run_module('engine', run_name='__main__')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    lines = done.stdout.splitlines()
    assert done.returncode == 0 and not Path(lines[0]).exists()
    assert "handler ran" in lines and "torn down" not in lines
