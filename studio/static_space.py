"""A static Hugging Face Space (`sdk: static`) for the sketch demo: a page that draws and runs the
ONNX generator in the visitor's browser with onnxruntime-web, answering each stroke without a
server. The page's JavaScript (studio/static_space/app.js) prepares a drawing as
engine/data/sketch.py does; the colour pull after the model is left out there.

onnxruntime-web comes from the npm registry (`npm pack`) into a cache folder outside the
repository, once per version, and is copied into each exported folder: nothing is fetched from a
CDN when the page runs, and no 11 MB .wasm file lives in the repository.

onnxruntime-web runs the model on several threads only in a cross-origin isolated page (the
COOP/COEP headers below): the Hub sends them from the README's `custom_headers`, and
`serve_static` sends them locally, where `python -m http.server` does not."""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from engine.errors import UserError

ORT_WEB_VERSION = "1.22.0"
ORT_FILES = ("ort.wasm.min.js", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")
TEMPLATES = Path(__file__).resolve().parent / "static_space"
TITLE = "Sketch to shoe, in your browser"
# cross-origin isolation (SharedArrayBuffer, so wasm threads); CORP lets the Hub's page embed ours
ISOLATION_HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "cross-origin",
}
STUDENT_WORDS = ", a student distilled from default (a narrower U-Net, about 4x fewer FLOPs)"

README = """---
title: {title}
emoji: 👟
colorFrom: gray
colorTo: blue
sdk: static
app_file: index.html
short_description: Draw a shoe; the generator runs in your browser (ONNX)
tags: [pix2pix, onnx, onnxruntime-web, image-to-image]
custom_headers:
{headers}
---

# {title}

Every stroke is answered in the visitor's browser: `model.onnx` ({model}{about}, opset {opset})
runs with onnxruntime-web {version} (WebAssembly, files in `ort/`, no CDN, no server). The
`custom_headers` make the page cross-origin isolated, so the model runs on several threads; to
try the folder locally with them: `python -m studio serve-static FOLDER` (`python -m http.server`
works too, on one thread).

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


def default_static_model() -> str:
    """The model a static Space runs unless told: the fast student of `default` when it is
    installed (a stroke is answered in the browser's CPU time), else `default` itself."""
    from engine.pipelines.drawing_models import fast_companion

    return fast_companion("default") or "default"


def export_static_space(out_dir: str | Path, model: str | None = None, home: str | None = None) -> Path:
    """Write the static sketch Space folder; returns it. A non-empty folder is refused."""
    from engine.inference.loader import load_predictor
    from engine.onnx_export import DEFAULT_OPSET, export_onnx

    out, model = Path(out_dir), model or default_static_model()
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
    (out / "README.md").write_text(space_readme(model, DEFAULT_OPSET))
    return out


def space_readme(model: str, opset: int) -> str:
    """The Space's README: front matter (with the isolation headers) and what the page does."""
    from engine.pipelines.drawing_models import FAST_SUFFIX

    label = Path(model).stem if model.endswith(".safetensors") else model
    about = STUDENT_WORDS if model == "default" + FAST_SUFFIX else ""
    headers = "\n".join(f"  {name.lower()}: {value}" for name, value in ISOLATION_HEADERS.items())
    return README.format(
        title=TITLE, model=label, about=about, opset=opset, version=ORT_WEB_VERSION, headers=headers
    )


class IsolatedHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with the cross-origin isolation headers the Hub sends for the Space."""

    extensions_map = {
        ".mjs": "text/javascript",
        ".wasm": "application/wasm",
        ".onnx": "application/octet-stream",
    }

    def end_headers(self) -> None:
        for name, value in ISOLATION_HEADERS.items():
            self.send_header(name, value)
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the base class's name)
        pass


def static_server(
    folder: str | Path, host: str = "127.0.0.1", port: int = 0
) -> http.server.ThreadingHTTPServer:
    """An HTTP server of `folder` with ISOLATION_HEADERS (port 0: a free one); call serve_forever."""
    folder = Path(folder)
    if not (folder / "index.html").is_file():
        raise UserError(f"{folder} has no index.html; export a static Space there first")
    handler = functools.partial(IsolatedHandler, directory=str(folder))
    try:
        return http.server.ThreadingHTTPServer((host, port), handler)
    except OSError as err:
        raise UserError(f"could not serve on {host}:{port} ({err.strerror}); choose another --port") from err


@contextmanager
def serving(folder: str | Path) -> Iterator[str]:
    """`folder` served with isolation on a free localhost port, in a thread; yields its URL."""
    server = static_server(folder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def serve_folder(folder: str | Path, host: str = "127.0.0.1", port: int = 8000) -> int:
    """`python -m studio serve-static FOLDER`: serve a static Space as the Hub does, until Ctrl-C."""
    server = static_server(folder, host, port)
    print(
        f"serving {folder} at http://{host}:{server.server_address[1]}/ (cross-origin isolated; Ctrl-C stops)"
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
