"""Draws the example sketches shipped with the studio (run once; the PNGs are committed).

They are line drawings in the style of a person sketching on the canvas: side views, toe to
the right, as edges2shoes shows shoes.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
SIZE = 512


def canvas() -> tuple[Image.Image, ImageDraw.ImageDraw]:
    img = Image.new("RGB", (SIZE, SIZE), "white")
    return img, ImageDraw.Draw(img)


def scaled(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    return [(x * SIZE / 256, y * SIZE / 256) for x, y in points]


def sneaker() -> Image.Image:
    img, d = canvas()
    upper = [
        (34, 178),
        (30, 128),
        (38, 104),
        (58, 98),
        (84, 112),
        (104, 100),
        (122, 86),
        (136, 92),
        (150, 112),
        (188, 132),
        (218, 146),
        (234, 160),
        (238, 178),
    ]
    d.line(scaled(upper), fill="black", width=6, joint="curve")
    d.rounded_rectangle(scaled([(26, 178), (242, 200)]), radius=18, outline="black", width=6)
    d.line(scaled([(190, 178), (200, 160), (222, 152)]), fill="black", width=5)  # toe cap
    for i in range(5):  # laces
        x = 118 + i * 13
        d.line(scaled([(x, 100 + i * 6), (x + 16, 116 + i * 6)]), fill="black", width=5)
    d.line(scaled([(60, 178), (70, 150), (110, 140)]), fill="black", width=5)  # side panel
    return img


def boot() -> Image.Image:
    img, d = canvas()
    outline = [
        (70, 200),
        (66, 120),
        (64, 40),
        (128, 36),
        (132, 110),
        (150, 130),
        (200, 150),
        (228, 168),
        (232, 200),
    ]
    d.line(scaled(outline), fill="black", width=6, joint="curve")
    d.rounded_rectangle(scaled([(62, 198), (236, 216)]), radius=10, outline="black", width=6)
    d.line(scaled([(64, 60), (128, 56)]), fill="black", width=5)  # collar
    d.line(scaled([(132, 110), (120, 150), (150, 176)]), fill="black", width=5)
    return img


def heel() -> Image.Image:
    img, d = canvas()
    d.line(
        scaled(
            [
                (40, 120),
                (60, 100),
                (90, 104),
                (150, 170),
                (210, 178),
                (236, 186),
                (226, 198),
                (150, 196),
                (92, 160),
                (70, 150),
                (62, 210),
            ]
        ),
        fill="black",
        width=6,
        joint="curve",
    )
    d.line(scaled([(40, 120), (44, 150), (50, 210), (62, 210)]), fill="black", width=6)
    d.line(scaled([(90, 104), (120, 150)]), fill="black", width=5)
    return img


if __name__ == "__main__":
    for name, draw in (("sketch_sneaker", sneaker), ("sketch_boot", boot), ("sketch_heel", heel)):
        draw().save(HERE / f"{name}.png")
