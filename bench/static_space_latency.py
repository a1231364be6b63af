"""Strokes -> output latency of the static sketch Space (issue 25, target p50 <= 50 ms): the
Space is exported for `default` and for a fast model (default-live when installed, or --model),
served with the cross-origin isolation headers the Hub sends (studio.static_space.serving), and
strokes are drawn in headless chromium with onnxruntime-web on 1 and 2 wasm threads. Rounds
alternate the configurations so a busy machine disturbs them alike. The plain reference is
`default` on 1 thread, what the page did before isolation. On a busy machine `min` is the
figure closest to an idle one.

    python bench/static_space_latency.py [--model RUN --home DIR] [--strokes 20] [--threads 1 2]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np

from engine.runtime.device import cpu_model
from studio.headless import chromium_page
from studio.static_space import default_static_model, export_static_space, serving
from studio.static_space_probe import MORE, SHOE, clear, draw_strokes, open_space, stroke_timings

TARGET_MS = 50.0
PHASES = ("prepare", "infer", "draw")


def strokes_for(count: int) -> list[list]:
    """`count` strokes: the shoe and its details, again from a clear page when they run out."""
    drawing = SHOE + MORE
    return [drawing[i % len(drawing)] for i in range(count)]


def measure(url: str, threads: int, count: int) -> tuple[dict[str, list[float]], bool]:
    """Draw `count` strokes on a fresh page capped at `threads`; the page's timings, isolation."""
    with chromium_page() as page:
        state = open_space(page, f"{url}?threads={threads}")
        if state.threads != threads:
            raise SystemExit(
                f"the page runs {state.threads} threads, not {threads} (isolated: {state.isolated})"
            )
        draw_strokes(page, SHOE[:1])  # warm-up: the first run allocates; not counted
        clear(page)
        start = len(stroke_timings(page)["total"])
        per_drawing = len(SHOE + MORE)
        for first in range(0, count, per_drawing):
            draw_strokes(page, strokes_for(count)[first : first + per_drawing])
            clear(page)
        timings = stroke_timings(page)
        return {name: values[start:] for name, values in timings.items()}, state.isolated


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="the fast model (default: default-live when installed)")
    parser.add_argument("--home", help="run store of --model")
    parser.add_argument("--strokes", type=int, default=20, help="strokes per configuration and round")
    parser.add_argument("--rounds", type=int, default=2, help="rounds over all configurations")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    fast = args.model or (None if default_static_model() == "default" else default_static_model())
    models = {"default": ("default", None)} | ({"fast": (fast, args.home)} if fast else {})
    if not fast:
        print("default-live is not installed: timing default only (--model RUN times a fast model)")
    load = os.getloadavg()[0]
    results: dict[tuple[str, int], dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folders = {
            label: export_static_space(Path(tmp) / label, model, home)
            for label, (model, home) in models.items()
        }
        for _ in range(args.rounds):
            for label, folder in folders.items():
                with serving(folder) as url:
                    for threads in args.threads:
                        timings, isolated = measure(url, threads, args.strokes)
                        assert isolated, "the served page is not cross-origin isolated"
                        got = results.setdefault((label, threads), {})
                        for name, values in timings.items():
                            got.setdefault(name, []).extend(values)
    print(f"static Space strokes -> output, headless chromium, onnxruntime-web wasm, {cpu_model()}")
    print(f"{args.rounds} rounds x {args.strokes} strokes per row; target p50 <= {TARGET_MS:.0f} ms")
    print(
        f"load average {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end, {os.cpu_count()} cores"
    )
    print(
        f"{'model':<28} {'threads':>7} {'p50 ms':>7} {'p95 ms':>7} {'min ms':>7}   p50 of "
        + " / ".join(PHASES)
    )
    plain = results.get(("default", 1)) or next(iter(results.values()))
    reference = float(np.median(plain["total"]))
    for (label, threads), timings in results.items():
        p50, p95 = np.percentile(timings["total"], [50, 95])
        parts = " / ".join(f"{np.median(timings[name]):.1f}" for name in PHASES)
        name = models[label][0] + (" (plain reference)" if (label, threads) == ("default", 1) else "")
        fastest = min(timings["total"])
        print(
            f"{name:<28} {threads:>7} {p50:>7.1f} {p95:>7.1f} {fastest:>7.1f}   {parts}   {reference / p50:.2f}x faster"
        )


if __name__ == "__main__":
    main()
