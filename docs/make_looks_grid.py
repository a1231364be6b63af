"""Draw docs/looks_grid.jpg: drawings answered in several looks by a multimodal model.

Rows: the bundled example sketches, then outline drawings of edges2shoes val photos (as
`data make-drawings --style outline` draws them). Columns: the drawing, the typical look, looks
of seeds 0..K-1, and the look taken from a reference photo (the row's own photo for outlines,
a val photo for the sketches) beside that photo.

    python docs/make_looks_grid.py --model RUN_OR_FILE --data datasets/edges2shoes
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from make_sketch_grid import paste_grid
from PIL import Image

from engine.data.datasets import split_aligned
from engine.data.images import list_images, load_image
from engine.data.outlines import outline_canvas
from engine.pipelines.sketch import Look, SketchPipeline

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE.parent / "assets" / "examples"
SIDE = 160


def row(
    pipeline: SketchPipeline, drawing: Image.Image, reference: Image.Image, looks: int
) -> list[Image.Image]:
    prepared = pipeline.prepare(drawing)
    typical = pipeline.translate([prepared])[0]
    seeded = pipeline.looks(prepared, list(range(looks)))
    referenced = pipeline.translate([prepared], Look(reference=reference))[0]
    return [drawing.convert("RGB"), typical, *seeded, referenced, reference.convert("RGB")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--data", type=Path, required=True, help="an edges2shoes folder (val/ of A|B pairs)")
    parser.add_argument("--outlines", type=int, default=3, help="outline rows")
    parser.add_argument("--looks", type=int, default=4)
    parser.add_argument("--out", type=Path, default=HERE / "looks_grid.jpg")
    args = parser.parse_args()
    pipeline = SketchPipeline.load(args.model)
    files = list_images(args.data / "val")
    photos = [
        split_aligned(load_image(p))[1].resize((256, 256), Image.BICUBIC) for p in files[:: len(files) // 8]
    ]
    rows = [
        row(pipeline, load_image(path), photos[i], args.looks)
        for i, path in enumerate(sorted(EXAMPLES.glob("sketch_*.png")))
    ]
    for i, photo in enumerate(photos[3 : 3 + args.outlines]):
        canvas = outline_canvas(np.asarray(photo), np.random.default_rng([0, i]))
        rows.append(row(pipeline, canvas, photo, args.looks))
    paste_grid(rows, side=SIDE).save(args.out, quality=90)
    print(f"wrote {args.out} ({len(rows)} rows)")


if __name__ == "__main__":
    main()
