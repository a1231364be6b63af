"""A static Hugging Face Space (`sdk: static`) for the sketch demo: a page that draws and runs the
ONNX generator in the visitor's browser with onnxruntime-web, answering each stroke without a
server. The page's JavaScript (studio/static_space/app.js) prepares a drawing as
engine/data/sketch.py does; the colour pull after the model is left out there.

onnxruntime-web comes from the npm registry (`npm pack`) into a cache folder outside the
repository, once per version, and is copied into each exported folder: nothing is fetched from a
CDN when the page runs, and no 11 MB .wasm file lives in the repository."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from engine.errors import UserError
from engine.inference.loader import load_predictor

ORT_WEB_VERSION = "1.22.0"
ORT_FILES = ("ort.wasm.min.js", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")
TEMPLATES = Path(__file__).resolve().parent / "static_space"
TITLE = "Sketch to shoe, in your browser"

README = """---
title: {title}
emoji: 👟
colorFrom: gray
colorTo: blue
sdk: static
app_file: index.html
short_description: Draw a shoe; the generator runs in your browser (ONNX)
tags: [pix2pix, onnx, onnxruntime-web, image-to-image]
---

# {title}

Every stroke is answered in the visitor's browser: `model.onnx` ({model}, opset {opset}) runs
with onnxruntime-web {version} (WebAssembly, files in `ort/`, no CDN, no server).

The page prepares a drawing as the Python pipeline does (engine/data/sketch.py): coloured strokes
become colour hints, the strokes' box is scaled into the square with 2 % margins, standing on the
bottom margin, with PIL's Lanczos weights, then thinned to 1 px lines. What differs: the thinning
is Zhang-Suen (skimage's `skeletonize` removes a few other pixels), the canvas is always dark ink
on white (no polarity check), and the colour pull after the model (which moves colours toward the
hints) is left out: the generator's own colours are shown.
"""


def ort_cache() -> Path:
    """Where onnxruntime-web's files are kept between exports (outside the repository)."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "image-studio" / f"onnxruntime-web-{ORT_WEB_VERSION}"


def ort_web_files() -> Path:
    """The folder holding ORT_FILES, fetched with `npm pack` on first use."""
    folder = ort_cache()
    if all((folder / name).is_file() for name in ORT_FILES):
        return folder
    npm = shutil.which("npm")
    if npm is None:
        raise UserError(
            f"a static Space needs onnxruntime-web: install npm (node) or put {', '.join(ORT_FILES)} in {folder}"
        )
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(
            [npm, "pack", f"onnxruntime-web@{ORT_WEB_VERSION}", "--silent"],
            cwd=tmp, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        if done.returncode:
            raise UserError(f"npm pack onnxruntime-web@{ORT_WEB_VERSION} failed: {done.stderr.strip()[:200]}")
        with tarfile.open(next(Path(tmp).glob("*.tgz"))) as tar:
            folder.mkdir(parents=True, exist_ok=True)
            for name in ORT_FILES:
                source = tar.extractfile(f"package/dist/{name}")
                if source is None:
                    raise UserError(f"onnxruntime-web {ORT_WEB_VERSION} has no dist/{name}")
                (folder / name).write_bytes(source.read())
    return folder


def export_static_space(out_dir: str | Path, model: str | None = None, home: str | None = None) -> Path:
    """Write the static sketch Space folder; returns it. A non-empty folder is refused."""
    from engine.onnx_export import DEFAULT_OPSET, export_onnx

    out, model = Path(out_dir), model or "default"
    if out.exists() and any(out.iterdir()):
        raise UserError(f"{out} is not empty; choose a new folder")
    predictor = load_predictor(model, home)  # one clear error for a model of another kind
    ort_files = ort_web_files()
    out.mkdir(parents=True, exist_ok=True)
    export_onnx(model, out / "model.onnx", home)
    (out / "ort").mkdir()
    for name in ORT_FILES:
        shutil.copyfile(ort_files / name, out / "ort" / name)
    space = {"size": predictor.size, "hints": predictor.takes_hints, "nz": predictor.nz, "backend": "wasm"}
    page = (TEMPLATES / "index.html").read_text()
    (out / "index.html").write_text(
        page.format(title=TITLE, size=predictor.size, space_json=json.dumps(space))
    )
    shutil.copyfile(TEMPLATES / "app.js", out / "app.js")
    label = Path(model).stem if model.endswith(".safetensors") else model
    (out / "README.md").write_text(
        README.format(title=TITLE, model=label, opset=DEFAULT_OPSET, version=ORT_WEB_VERSION)
    )
    return out
