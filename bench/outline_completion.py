"""What outline completion adds to a drawing's way to the model, beside the preparation itself.

For val outlines (the `eval --outlines` set) and clean val edge maps: the studio's preparation
of a canvas (the plain reference) and `SketchPipeline.complete` on the prepared drawing (a bare
outline: detection, retrieval, borrowing; an edge map: detection only), interleaved, median of
repeats, in one process.

    python bench/outline_completion.py --data datasets/edges2shoes [--count 40] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from engine.data.datasets import open_paired_dataset
from engine.data.images import tensor_to_image
from engine.data.outline_set import OutlinePairs
from engine.pipelines.sketch import Look, SketchPipeline
from engine.runtime.device import cpu_model


def per_call_ms(call, inputs: list, repeats: int) -> float:
    """Median over repeats of the mean time per input, in ms."""
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        for item in inputs:
            call(item)
        runs.append((time.perf_counter() - start) / len(inputs) * 1000)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    pipeline = SketchPipeline.load("default")
    if pipeline.outline_index is None:
        raise SystemExit("the outline index is not installed (python -m engine data make-outline-index)")
    pairs = open_paired_dataset(args.data, "val", "AtoB", 256, 256, False)
    outlines = OutlinePairs(pairs)
    canvases = [outlines.drawn(i)[0] for i in range(args.count)]
    prepared = [pipeline.prepare(canvas).edges for canvas in canvases]
    edge_maps = [tensor_to_image(pairs[i]["A"]) for i in range(args.count)]
    print(f"{cpu_model()}, {os.cpu_count()} cores; load average before {os.getloadavg()[0]:.2f}")
    for _ in range(2):  # interleaved: the machine's load falls on both alike
        rows = {
            "prepare an outline canvas (reference)": per_call_ms(pipeline.prepare, canvases, args.repeats),
            "complete a prepared outline, nearest": per_call_ms(pipeline.complete, prepared, args.repeats),
            "complete a prepared outline, seed 5": per_call_ms(
                lambda edges: pipeline.complete(edges, Look(seed=5)), prepared, args.repeats
            ),
            "complete a clean edge map (no outline)": per_call_ms(pipeline.complete, edge_maps, args.repeats),
        }
        for name, ms in rows.items():
            print(f"  {name:<42} {ms:6.2f} ms")


if __name__ == "__main__":
    main()
