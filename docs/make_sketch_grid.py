"""Makes docs/sketch_grid.jpg for the README: what a model makes of the example sketches and of
edges2shoes val edge maps, without and with colour hints.

Columns: the input the model sees | its shoe | the input with colour dabs | the shoe with them |
the real photo (val rows). The example sketches get dabs of a chosen colour inside their outline;
val rows get 12 dabs of the photo's own colours (as `eval --hints 12` gives).

    python docs/make_sketch_grid.py [--model default] [--data datasets/edges2shoes] [--count 4]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from engine.data.datasets import split_aligned
from engine.data.drawing import filled_outline, hints_to_rgba, sample_hints
from engine.data.images import list_images, load_image
from engine.data.sketch import paint_hints_over, prepare_sketch
from engine.pipelines.sketch import SketchPipeline

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE.parent / "assets" / "examples"
SKETCH_COLOURS = {"boot": (120, 70, 30), "heel": (170, 20, 40), "sneaker": (30, 90, 200)}
SIDE, PAD = 192, 4


def sketch_hints(edges: Image.Image, colour: tuple[int, int, int], seed: int) -> Image.Image:
    """Dabs of one colour inside a sketch's outline: the outline filled with it stands in for a photo."""
    solid = filled_outline(np.asarray(edges.convert("L")) < 128)
    photo = np.where(solid[..., None], np.array(colour, np.uint8), np.uint8(255)).astype(np.uint8)
    return hints_to_rgba(sample_hints(photo, np.random.default_rng(seed), count=10))


def row(
    pipeline: SketchPipeline, edges: Image.Image, hints: Image.Image, target: Image.Image | None
) -> list[Image.Image]:
    """edges | photo | edges + dabs | photo with the dabs (the studio's colour pull) | target."""
    blank = Image.new("RGB", edges.size, "white")
    plain, hinted = pipeline.translate_images([edges, edges], [None, hints])
    return [edges, plain, paint_hints_over(edges, hints), hinted, target if target is not None else blank]


def paste_grid(rows: list[list[Image.Image]], side: int = SIDE, pad: int = PAD) -> Image.Image:
    """Rows of pictures, each resized to side x side, on white with `pad` px between."""
    columns = max(len(images) for images in rows)
    grid = Image.new(
        "RGB", (columns * side + (columns - 1) * pad, len(rows) * side + (len(rows) - 1) * pad), "white"
    )
    for r, images in enumerate(rows):
        for c, image in enumerate(images):
            grid.paste(image.resize((side, side), Image.BICUBIC), (c * (side + pad), r * (side + pad)))
    return grid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--data", type=Path, help="an edges2shoes folder (val/ of A|B pairs)")
    parser.add_argument("--count", type=int, default=4, help="val pairs to show")
    parser.add_argument("--out", type=Path, default=HERE / "sketch_grid.jpg")
    args = parser.parse_args()
    pipeline = SketchPipeline.load(args.model)
    rows = []
    for i, (name, colour) in enumerate(SKETCH_COLOURS.items()):
        edges = prepare_sketch(load_image(EXAMPLES / f"sketch_{name}.png"), pipeline.size)
        rows.append(row(pipeline, edges, sketch_hints(edges, colour, i), None))
    if args.data:
        files = list_images(args.data / "val")
        for i, path in enumerate(files[:: max(1, len(files) // args.count)][: args.count]):
            edges, photo = (
                half.resize((pipeline.size,) * 2, Image.BICUBIC) for half in split_aligned(load_image(path))
            )
            hints = hints_to_rgba(sample_hints(np.asarray(photo), np.random.default_rng(i), count=12))
            rows.append(row(pipeline, edges, hints, photo))
    paste_grid(rows).save(args.out, quality=90)
    print(f"wrote {args.out} ({len(rows)} rows)")


if __name__ == "__main__":
    main()
