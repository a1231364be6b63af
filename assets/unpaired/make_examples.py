"""Makes the bundled CycleGAN's example pictures (run once; the JPEGs are committed).

Shoes: the bundled pix2pix's photos of the example sketches (assets/examples), in a few
colours, made by this project's own model. Handbags: drawn here as product shots on white, as
edges2handbags shows them. One of each is not square, to show that aspect is kept.

    python assets/unpaired/make_examples.py
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

from engine.pipelines.sketch import SketchPipeline

HERE = Path(__file__).resolve().parent
SKETCHES = HERE.parent / "examples"
SIDE = 256
SHOE_COLOURS = {"sneaker": None, "boot": (110, 70, 40), "heel": (170, 30, 40)}
BAGS = [  # (body colour, body box, handle kind, flap)
    ((120, 72, 40), (48, 100, 208, 220), "arc", True),
    ((30, 30, 34), (40, 110, 216, 210), "straps", False),
    ((196, 150, 110), (70, 96, 186, 214), "arc", False),
    ((150, 30, 50), (36, 120, 220, 206), "chain", True),
]


def shoe(name: str, colour: tuple[int, int, int] | None) -> Image.Image:
    """The bundled pix2pix's photo of an example sketch, tinted by a dab of colour hint."""
    drawing = Image.open(SKETCHES / f"sketch_{name}.png").convert("RGB")
    hints = None
    if colour is not None:
        hints = Image.new("RGBA", drawing.size, (0, 0, 0, 0))
        w, h = drawing.size
        ImageDraw.Draw(hints).ellipse((w * 0.4, h * 0.5, w * 0.55, h * 0.62), fill=(*colour, 255))
    return SketchPipeline.load("default")(drawing, hints).photo.resize((SIDE, SIDE), Image.BICUBIC)


def handbag(
    colour: tuple[int, int, int], box: tuple[int, int, int, int], handle: str, flap: bool
) -> Image.Image:
    """A handbag on white: a trapezoid body shaded left to right, a handle, maybe a flap."""
    img = Image.new("RGB", (SIDE, SIDE), "white")
    d = ImageDraw.Draw(img)
    x0, y0, x1, y1 = box
    dark = tuple(int(c * 0.6) for c in colour)
    if handle == "arc":
        d.arc((x0 + 30, y0 - 70, x1 - 30, y0 + 40), 180, 360, fill=dark, width=9)
    elif handle == "straps":
        for x in (x0 + 40, x1 - 40):
            d.line([(x, y0), ((x0 + x1) // 2, y0 - 80), (x, y0)], fill=dark, width=6)
    else:
        d.arc((x0 + 20, y0 - 60, x1 - 20, y0 + 30), 180, 360, fill=(200, 180, 90), width=4)
    body = Image.new("L", img.size, 0)
    ImageDraw.Draw(body).rounded_rectangle((x0, y0, x1, y1), radius=22, fill=255)
    body = body.transform(img.size, Image.PERSPECTIVE, (1.0, 0.08, -10, 0, 1, 0, 0, 0.0004), Image.BICUBIC)
    shade = Image.linear_gradient("L").rotate(90).resize(img.size)
    lit = Image.merge("RGB", [shade.point(lambda v, c=c: int(c * (0.75 + 0.45 * v / 255))) for c in colour])
    img.paste(lit, mask=body.filter(ImageFilter.GaussianBlur(1)))
    if flap:
        d.polygon([(x0 + 4, y0 + 4), (x1 - 4, y0 + 4), ((x0 + x1) // 2, y0 + 60)], fill=dark)
        d.ellipse(((x0 + x1) // 2 - 7, y0 + 48, (x0 + x1) // 2 + 7, y0 + 62), fill=(210, 190, 110))
    return img


def main() -> None:
    for folder in ("shoes", "handbags"):
        (HERE / folder).mkdir(exist_ok=True)
    for name, colour in SHOE_COLOURS.items():
        shoe(name, colour).save(HERE / "shoes" / f"{name}.jpg", quality=88)
    wide = shoe("sneaker", (40, 80, 160)).crop((0, 70, SIDE, SIDE - 26))  # 256x160: not square
    wide.save(HERE / "shoes" / "sneaker_wide.jpg", quality=88)
    for i, bag in enumerate(BAGS, 1):
        handbag(*bag).save(HERE / "handbags" / f"handbag_{i}.jpg", quality=88)
    handbag(*BAGS[0]).crop((0, 20, SIDE, SIDE - 40)).save(HERE / "handbags" / "handbag_wide.jpg", quality=88)


if __name__ == "__main__":
    main()
