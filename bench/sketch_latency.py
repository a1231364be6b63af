"""Latency from a finished stroke to the updated shoe, through the Gradio server.

Starts the sketch demo with a bundled model, then sends the canvas value a browser sends after a
stroke (the composite PNG) with gradio_client and waits for the generated photo, N times with a
growing drawing. Prints p50/p95 end to end, and the model call alone for comparison. Target: p50
under 150 ms on a 2-core CPU.

    python bench/sketch_latency.py [--runs 30] [--model default]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere: python bench/x.py

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw


def strokes(count: int, folder: Path) -> list[Path]:
    """Canvas snapshots of a drawing that gains one stroke at a time."""
    img = Image.new("RGBA", (512, 512), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    paths = []
    for i in range(count):
        x = 60 + (i * 37) % 380
        draw.line([(x, 300), (x + 60, 220 + (i * 13) % 80), (x + 120, 320)], fill=(0, 0, 0, 255), width=5)
        paths.append(folder / f"stroke_{i:03d}.png")
        img.save(paths[-1])
    return paths


def percentiles(ms: list[float]) -> tuple[float, float]:
    ms = sorted(ms)
    return statistics.median(ms), ms[int(0.95 * (len(ms) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--model", default="default")
    args = parser.parse_args()
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from gradio_client import Client, handle_file

    from studio.sketch import SketchDemo, build_sketch_demo

    demo = build_sketch_demo({args.model: args.model})
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    try:
        client = Client(demo.local_url, verbose=False)
        with tempfile.TemporaryDirectory() as tmp:
            paths = strokes(args.runs + 3, Path(tmp))
            end_to_end = []
            for i, path in enumerate(paths):
                value = {"background": None, "layers": [], "composite": handle_file(str(path))}
                start = time.perf_counter()
                client.predict(value, args.model, api_name="/sketch_to_photo")
                if i >= 3:  # the first calls load the model and warm up
                    end_to_end.append((time.perf_counter() - start) * 1000)
            direct = SketchDemo({args.model: args.model})
            in_process = []
            for path in paths[3:]:
                value = {"composite": Image.open(path)}
                start = time.perf_counter()
                direct.from_sketch(value, args.model)
                in_process.append((time.perf_counter() - start) * 1000)
    finally:
        demo.close()
    for name, ms in (
        ("through the Gradio server", end_to_end),
        ("in-process (sketch prep + model)", in_process),
    ):
        p50, p95 = percentiles(ms)
        print(f"{name:<34} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms")


if __name__ == "__main__":
    main()
