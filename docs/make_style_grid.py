"""Makes docs/style_grid.jpg for the README: scikit-image's sample photos stylised with the
default Gatys settings. The paintings are given as arguments (they are not shipped); only the
results appear in the picture.

    python docs/make_style_grid.py STYLE_A.jpg STYLE_B.jpg
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from PIL import Image

from engine.data.images import load_image
from engine.style.examples import example_photo
from engine.style.gatys import stylize

SIDE = 256


def main(style_paths: list[str]) -> None:
    rows = []
    for name in ("astronaut", "chelsea"):
        content = example_photo(name)
        row = [content.resize((SIDE, round(SIDE * content.height / content.width)))]
        for path in style_paths:
            start = time.perf_counter()
            row.append(stylize(content, [load_image(path)]).resize(row[0].size))
            print(f"{name} x {Path(path).stem}: {time.perf_counter() - start:.1f} s")
        rows.append(row)
    heights = [row[0].height for row in rows]
    grid = Image.new(
        "RGB", (SIDE * len(rows[0]) + 4 * (len(rows[0]) - 1), sum(heights) + 4 * (len(rows) - 1)), "white"
    )
    for i, row in enumerate(rows):
        for j, img in enumerate(row):
            grid.paste(img, (j * (SIDE + 4), sum(heights[:i]) + 4 * i))
    out = Path(__file__).resolve().parent / "style_grid.jpg"
    grid.save(out, quality=88)
    print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv[1:])
