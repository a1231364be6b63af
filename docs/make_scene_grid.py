"""Makes docs/scene_grid.jpg for the README: facades test label maps through the bundled
pix2pix, pix2pixHD and SPADE (two random styles, and the style of another test photo), beside
the real photo.

    python docs/make_scene_grid.py --data datasets/facades [--count 4]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from make_sketch_grid import paste_grid

from engine.data.datasets import split_aligned
from engine.data.images import list_images, load_image
from engine.data.label_maps import FACADES
from engine.inference.loader import load_label_model, load_predictor

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, required=True, help="a facades folder (test/ of photo|map pairs)"
    )
    parser.add_argument("--count", type=int, default=4)
    parser.add_argument("--out", type=Path, default=HERE / "scene_grid.jpg")
    args = parser.parse_args()
    pix2pix = load_predictor("default-facades-pix2pix")
    hd, spade = load_label_model("default-pix2pixhd"), load_label_model("default-spade")
    files = list_images(args.data / "test")
    picked = files[:: max(1, len(files) // args.count)][: args.count]
    rows = []
    for i, path in enumerate(picked):
        label_half, photo = split_aligned(load_image(path), "BtoA")  # facades: photo | map
        label_map = FACADES.render(FACADES.decode(np.asarray(label_half)))
        style = split_aligned(load_image(picked[(i + 1) % len(picked)]))[0]  # another test photo
        rows.append(
            [label_map, pix2pix(label_map), hd(label_map), spade(label_map, seed=0), spade(label_map, seed=1),
             spade(label_map, style=style), photo]
        )  # fmt: skip
    paste_grid(rows, side=160).save(args.out, quality=90)
    print(f"wrote {args.out} ({len(rows)} rows)")


if __name__ == "__main__":
    main()
