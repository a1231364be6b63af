"""Outlines of val photos completed from the training shoes, and what the model draws of them.

Each row: the outline as the model would be shown it without completion, the shoe drawn from it
(seed 0's table look), the outline completed by seed 0's neighbour (the nearest training shoe by
silhouette), the shoe drawn from that, the shoes of seeds 1 and 2 (the next neighbours), and the
photo the outline was traced from (never in the index: it is built from train/ only).

    python docs/make_outline_grid.py --model default --data datasets/edges2shoes
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image

from engine.data.datasets import open_paired_dataset
from engine.data.outline_set import OutlinePairs
from engine.pipelines.sketch import Look, SketchPipeline

TILE = 192


def row(
    drawn: SketchPipeline, bare: SketchPipeline, canvas: Image.Image, photo: Image.Image
) -> list[Image.Image]:
    prepared = drawn.prepare(canvas)
    as_drawn = bare.translate([prepared], Look(seed=0))[0]
    completed = [drawn.complete(prepared.edges, Look(seed=s)).edges for s in range(3)]
    shoes = drawn.looks(prepared, [0, 1, 2])
    return [prepared.edges, as_drawn, completed[0], shoes[0], shoes[1], shoes[2], photo]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--data", required=True)
    parser.add_argument("--rows", type=int, default=8)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "outline_completion.jpg")
    args = parser.parse_args()
    drawn = SketchPipeline.load(args.model)
    bare = SketchPipeline.load(args.model, complete_outlines=False)
    outlines = OutlinePairs(open_paired_dataset(args.data, "val", "AtoB", 256, 256, False))
    picks = range(0, len(outlines), max(1, len(outlines) // args.rows))[: args.rows]
    rows = [row(drawn, bare, *outlines.drawn(i)) for i in picks]
    sheet = Image.new("RGB", (TILE * len(rows[0]), TILE * len(rows)), "white")
    for r, tiles in enumerate(rows):
        for c, tile in enumerate(tiles):
            sheet.paste(tile.convert("RGB").resize((TILE, TILE), Image.LANCZOS), (c * TILE, r * TILE))
    sheet.save(args.out, quality=88)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
