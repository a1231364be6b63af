"""How much SPADE's style code moves its output: mean absolute pixel difference (0-255) between
renderings of one label map under two style codes (random codes, and the style encoder's codes
of real facade photos), against the difference between renderings of two different maps under
one code. A ratio near 0 means the model ignores its style code.

    python bench/spade_style.py [--model default-spade] [--maps 8]

Maps are random facades (engine/data/facade_layouts.py); the style photos are the real photos
in the last column of docs/scene_grid.jpg (facades test photos), so it runs without the dataset.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from engine.data.facade_layouts import random_facade
from engine.inference.loader import load_label_model
from engine.runtime.device import cpu_model

GRID = Path(__file__).resolve().parent.parent / "docs" / "scene_grid.jpg"
SIDE, PAD, PHOTO_COLUMN = 160, 4, 6  # docs/make_scene_grid.py's layout


def grid_photos() -> list[Image.Image]:
    """The real facade photos of docs/scene_grid.jpg (one per row)."""
    grid = Image.open(GRID).convert("RGB")
    rows = (grid.height + PAD) // (SIDE + PAD)
    x = PHOTO_COLUMN * (SIDE + PAD)
    return [grid.crop((x, r * (SIDE + PAD), x + SIDE, r * (SIDE + PAD) + SIDE)) for r in range(rows)]


def mean_abs(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute pixel difference, 0-255."""
    return float(np.abs(np.asarray(a, np.float32) - np.asarray(b, np.float32)).mean())


def colour_gap(a: Image.Image, b: Image.Image) -> float:
    """Distance between the two images' mean RGB colours, 0-255 per channel (the overall look)."""
    mean = [np.asarray(x, np.float32).reshape(-1, 3).mean(0) for x in (a, b)]
    return float(np.abs(mean[0] - mean[1]).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default-spade")
    parser.add_argument("--maps", type=int, default=4)
    parser.add_argument("--codes", type=int, default=4, help="random style codes per map")
    args = parser.parse_args()
    torch.manual_seed(0)
    model = load_label_model(args.model)
    maps = [Image.fromarray(random_facade(np.random.default_rng(i)), "L") for i in range(args.maps)]
    photos = grid_photos()
    by_seed = [[model(m, seed=s) for s in range(args.codes)] for m in maps]
    by_photo = [[model(m, style=p) for p in photos] for m in maps]
    seeds = [mean_abs(a, b) for row in by_seed for a, b in itertools.combinations(row, 2)]
    styles = [mean_abs(a, b) for row in by_photo for a, b in itertools.combinations(row, 2)]
    layouts = [mean_abs(by_seed[i][s], by_seed[j][s]) for s in range(args.codes)
               for i, j in itertools.combinations(range(len(maps)), 2)]  # fmt: skip
    between = np.mean(layouts)
    photo_colours = np.mean([colour_gap(a, b) for a, b in itertools.combinations(photos, 2)])
    output_colours = np.mean(
        [colour_gap(a, b) for row in by_photo for a, b in itertools.combinations(row, 2)]
    )
    print(f"{args.model} on {cpu_model()}: {len(maps)} random facades, mean |difference| in 0-255 px")
    print(
        f"  two random style codes, same map:   {np.mean(seeds):6.2f}  ({np.mean(seeds) / between:.0%} of maps)"
    )
    print(
        f"  two style photos, same map:         {np.mean(styles):6.2f}  ({np.mean(styles) / between:.0%} of maps)"
    )
    print(f"  two different maps, same code:      {between:6.2f}")
    print(
        f"mean colour gap between the style photos: {photo_colours:.1f}; between their renderings: "
        f"{output_colours:.1f} ({output_colours / photo_colours:.0%} of the photos' gap carried over)"
    )


if __name__ == "__main__":
    main()
