"""Where a drawing goes in the model's square, and the smudge under the sole.

The sketch pipeline places a drawing's strokes as edges2shoes places its shoes: filling the width
and standing on the bottom edge. The reference is the framing it replaced: the strokes centred
in a square with a 6% margin. For the bundled example sketches it prints the dark area under the
lowest drawn line (`engine.metrics.dark_below_lines`, px per column); with `--data` also, on val
edge maps run through each framing, L1 against the photo and that dark area, beside the same
edge maps given to the model as they are.

    python bench/sketch_framing.py [--model default] [--data datasets/edges2shoes --count 60]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from engine.data.datasets import split_aligned
from engine.data.images import flatten_alpha, image_to_tensor, list_images, load_image
from engine.data.sketch import PreparedDrawing, StrokeFrame, edge_map, ink_of, prepare_drawing
from engine.metrics import dark_below_lines, l1_per_image
from engine.pipelines.sketch import SketchPipeline
from engine.runtime.device import cpu_model

EXAMPLES = Path(__file__).resolve().parents[1] / "assets" / "examples"


def centred(drawing: Image.Image, size: int, margin: float = 0.06) -> PreparedDrawing:
    """The replaced framing: the strokes' box centred in a square `margin` wider than its long side."""
    ink = ink_of(flatten_alpha(drawing))
    rows, cols = np.nonzero(ink < 160)
    box = (int(cols.min()), int(rows.min()), int(cols.max()) + 1, int(rows.max()) + 1)
    width, height = box[2] - box[0], box[3] - box[1]
    side = int(max(width, height) * (1 + 2 * margin)) + 1
    square = Image.new("L", (side, side), 255)
    square.paste(Image.fromarray(ink).crop(box), ((side - width) // 2, (side - height) // 2))
    whole = StrokeFrame((0, 0, size, size), 1.0, (0, 0))
    return PreparedDrawing(
        edge_map(np.asarray(square.resize((size, size), Image.LANCZOS)), whole, size), None
    )


def scores(pipeline: SketchPipeline, prepared: list[PreparedDrawing], targets: list | None) -> str:
    photos = pipeline.translate(prepared)
    edges = torch.stack([image_to_tensor(p.edges) for p in prepared])
    outputs = torch.stack([image_to_tensor(p) for p in photos])
    smudge = dark_below_lines(edges, outputs)
    text = f"dark under the lowest line {' '.join(f'{v:5.1f}' for v in smudge.tolist()[:3])} px"
    if targets is not None:
        l1 = l1_per_image(outputs, torch.stack([image_to_tensor(t) for t in targets])).mean()
        text = f"L1 {l1:.3f}, dark under the lowest line {smudge.mean():.1f} px (mean)"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--data", type=Path, help="an edges2shoes folder (val/ of A|B pairs)")
    parser.add_argument("--count", type=int, default=60)
    args = parser.parse_args()
    pipeline = SketchPipeline.load(args.model)
    size = pipeline.size
    print(f"{args.model} on {cpu_model()}")
    drawings = [load_image(p) for p in sorted(EXAMPLES.glob("sketch_*.png"))]
    print("example sketches (boot, heel, sneaker):")
    print(
        f"  centred in a square (reference): {scores(pipeline, [centred(d, size) for d in drawings], None)}"
    )
    print(
        f"  standing on the bottom edge:     {scores(pipeline, [prepare_drawing(d, None, size) for d in drawings], None)}"
    )
    if args.data:
        pairs = [split_aligned(load_image(p)) for p in list_images(args.data / "val")[: args.count]]
        edges = [a.resize((size, size), Image.BICUBIC) for a, _ in pairs]
        targets = [b.resize((size, size), Image.BICUBIC) for _, b in pairs]
        print(f"{len(pairs)} val edge maps:")
        as_is = [PreparedDrawing(e, None) for e in edges]
        print(f"  as they are (no framing):        {scores(pipeline, as_is, targets)}")
        print(
            f"  centred in a square (reference): {scores(pipeline, [centred(e, size) for e in edges], targets)}"
        )
        print(
            f"  standing on the bottom edge:     {scores(pipeline, [prepare_drawing(e, None, size) for e in edges], targets)}"
        )


if __name__ == "__main__":
    main()
