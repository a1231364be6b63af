"""Closing the gaps a quick hand leaves: an outline whose end stops short of its start, or of
the sole line, is closed and completed; strokes that are meant to stay apart are left alone."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw
from skimage.morphology import skeletonize

from engine.data.drawing import filled_outline
from engine.data.outline_completion import outline_silhouette
from engine.data.outlines import leave_open, outline_canvas
from engine.data.sketch import thin_lines
from engine.data.stroke_gaps import MAX_ENDS, REACH, Strokes, close_gaps, stroke_ends
from engine.pipelines.sketch import SketchPipeline

SIDE = 256
SHOE = [(30, 200), (30, 110), (90, 90), (150, 120), (220, 160), (235, 200), (30, 200)]


def drawn(strokes: list[list[tuple[float, float]]], width: int = 2) -> np.ndarray:
    canvas = Image.new("L", (SIDE, SIDE), 255)
    for points in strokes:
        ImageDraw.Draw(canvas).line(points, fill=0, width=width, joint="curve")
    return np.asarray(canvas) < 128


def open_by(gap: float) -> list[tuple[float, float]]:
    return [tuple(p) for p in leave_open(np.asarray(SHOE, dtype=float), gap)]


@pytest.mark.parametrize("gap", [6, 8, 11])
def test_a_contour_that_stops_short_of_its_start_is_closed(gap: int) -> None:
    ink = drawn([open_by(gap)])
    assert outline_silhouette(ink) is None  # a 2 px dilation does not bridge it
    closed = close_gaps(ink)
    assert closed is not None and (closed & ink).sum() == ink.sum()  # the drawing is kept
    silhouette = outline_silhouette(closed)
    whole = filled_outline(drawn([SHOE]))
    assert silhouette is not None and (silhouette ^ whole).mean() < 0.01  # the shoe's own area


def test_an_upper_that_stops_short_of_the_sole_line_is_closed() -> None:
    upper = [(40, 196), (40, 110), (100, 90), (160, 120), (225, 160), (228, 190)]
    sole = [(30, 200), (235, 200)]
    ink = drawn([upper, sole])
    assert outline_silhouette(ink) is None
    assert outline_silhouette(close_gaps(ink)) is not None


def test_gaps_wider_than_the_reach_and_lone_strokes_stay_open() -> None:
    wide = close_gaps(drawn([open_by(2.5 * REACH)]))  # its ends are too far apart to join
    assert wide is None or outline_silhouette(wide) is None
    arc = drawn([[(30, 200), (90, 90), (150, 60), (220, 90)]])  # one stroke: nothing across its ends
    assert close_gaps(arc) is None
    assert len(stroke_ends(np.zeros((8, 8), bool))) == 0


def test_thinning_in_the_ink_box_and_ends_by_shifted_sums_match_the_full_image() -> None:
    """thin_lines skeletonizes only around the ink; stroke_ends counts neighbours by slices:
    both must give skimage's and scipy's full-image answers, ink at the borders included."""
    from scipy import ndimage

    rng = np.random.default_rng(0)
    for trial in range(12):
        strokes = [[tuple(rng.uniform(-10, SIDE + 10, 2)) for _ in range(3)] for _ in range(1 + trial % 4)]
        ink = drawn(strokes, width=1 + trial % 5)
        assert np.array_equal(thin_lines(ink), skeletonize(ink))
        skeleton = skeletonize(ink)
        around = ndimage.convolve(skeleton.astype(np.uint8), np.ones((3, 3), np.uint8), mode="constant")
        assert np.array_equal(stroke_ends(skeleton), np.argwhere(skeleton & (around == 2)))
    assert not thin_lines(np.zeros((8, 8), bool)).any()


def test_walking_along_a_stroke_counts_8_connected_steps() -> None:
    """A stroke is walked pixel by pixel, diagonals included: a hook of 5 + 4 pixels is walked
    whole in 7 steps (the corner cut diagonally) and never onto another stroke; the nearest other
    ink within reach is the gap."""
    skeleton = np.zeros((12, 12), bool)
    skeleton[2, 2:7] = True  # across, then down from the corner at (2, 6)
    skeleton[3:7, 6] = True
    skeleton[9, 0:12] = True  # another stroke, apart
    strokes = Strokes(skeleton)
    assert {tuple(p) for p in strokes.along((2, 2), 3)} == {(2, c) for c in range(2, 6)}
    assert len(strokes.along((2, 2), 6)) == 8 and len(strokes.along((2, 2), 7)) == 9
    assert len(strokes.along((2, 2), 50)) == 9
    assert {tuple(p) for p in strokes.along((9, 0), 0)} == {(9, 0)}
    assert strokes.gap_across((6, 6), 3) == (9, 6)  # the hook's tip is 3 px above the other line
    assert strokes.gap_across((2, 2), 3) is None  # nothing but its own stroke within reach


def test_a_drawing_with_many_stroke_ends_is_not_searched() -> None:
    """An edge map or a scribble has hundreds of ends: searching each would take seconds."""
    dashes = [
        [(20 + 12 * k, 40 + 9 * row), (26 + 12 * k, 40 + 9 * row)] for k in range(16) for row in range(3)
    ]
    ink = drawn(dashes)
    assert len(stroke_ends(skeletonize(ink))) > MAX_ENDS
    assert close_gaps(ink) is None


def test_an_open_outline_is_completed_by_the_pipeline() -> None:
    pipeline = SketchPipeline.load("default")
    if pipeline.outline_index is None:
        pytest.skip("the bundled outline index is not installed")
    canvas = Image.new("RGBA", (2 * SIDE, 2 * SIDE), (0, 0, 0, 0))  # the live canvas's layer
    ImageDraw.Draw(canvas).line([(2 * x, 2 * y) for x, y in open_by(8)], (0, 0, 0, 255), 5, joint="curve")
    edges = pipeline.prepare(canvas).edges  # what the model is given, before completion
    ink = np.asarray(edges.convert("L")) < 128
    assert outline_silhouette(ink) is None
    done = pipeline.complete(edges)
    assert done.entry is not None
    thin = pipeline.complete(edges, thin=True)  # the edge map is its own skeleton: same answer
    assert thin.entry == done.entry and np.array_equal(np.asarray(thin.edges), np.asarray(done.edges))
    completed = np.asarray(done.edges.convert("L")) < 128
    assert (completed & ~ink).sum() > 50  # interior edges borrowed, and the gap drawn shut
    assert filled_outline(completed).sum() > 5 * completed.sum()


def test_open_outline_canvases_are_the_closed_ones_left_open() -> None:
    photo = np.full((SIDE, SIDE, 3), 255, np.uint8)
    photo[90:200, 30:230] = (120, 60, 40)
    closed = outline_canvas(photo, np.random.default_rng([0, 3]))
    opened = outline_canvas(photo, np.random.default_rng([0, 3]), open_ends=True)
    again = outline_canvas(photo, np.random.default_rng([0, 3]), open_ends=True)
    assert np.array_equal(np.asarray(opened), np.asarray(again))
    closed_ink, open_ink = (np.asarray(c.convert("L")) < 128 for c in (closed, opened))
    assert (open_ink & ~closed_ink).sum() == 0 and 0 < (closed_ink & ~open_ink).sum() < 200
    assert filled_outline(closed_ink).sum() > 3 * filled_outline(open_ink).sum()
