"""Outline completion: a bare outline gets the interior edges of the training shoe whose
silhouette matches it best (the look's seed picks the k-th), anything else goes to the model as
drawn, and everything works without the index."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw
from scipy import ndimage

from engine.cli import main
from engine.data.drawing import fill_enclosed, filled_outline
from engine.data.images import image_to_tensor
from engine.data.outline_completion import (
    KEEP_INSIDE,
    complete_image,
    complete_outline,
    complete_tensor,
    outline_silhouette,
)
from engine.data.outline_index import read_outline_index, write_outline_index
from engine.errors import UserError
from engine.pipelines import sketch
from engine.pipelines.sketch import Look, SketchPipeline

SIDE = 256


def synthetic_shoe(i: int) -> tuple[np.ndarray, np.ndarray]:
    """(edge map as ink, photo): a dark oval on white, a little wider or taller per shoe, whose
    edges are its contour and lines inside it that differ from shoe to shoe (and are not mirror
    symmetric)."""
    box = (20, 70 - 4 * i, 236, 200)
    photo = Image.new("RGB", (SIDE, SIDE), "white")
    ImageDraw.Draw(photo).ellipse(box, fill=(60 + 20 * i, 40, 30))
    edges = Image.new("L", (SIDE, SIDE), 255)
    pen = ImageDraw.Draw(edges)
    pen.ellipse(box, outline=0)
    for k in range(3 + i):  # interior strokes, placed per shoe
        x = 60 + 25 * k + 7 * i
        pen.line([(x, 120), (x + 20 + 5 * i, 170)], fill=0)
    return np.asarray(edges) < 128, np.asarray(photo)


def outline_drawing(box=(30, 72, 226, 198), interior: int = 0) -> np.ndarray:
    """A bare oval outline as a person draws it (1 px), with `interior` dense lines inside."""
    canvas = Image.new("L", (SIDE, SIDE), 255)
    pen = ImageDraw.Draw(canvas)
    pen.ellipse(box, outline=0)
    for k in range(interior):
        pen.line([(60 + 4 * k, 100), (70 + 4 * k, 180)], fill=0)
    return np.asarray(canvas) < 128


@pytest.fixture
def index(tmp_path):
    path = tmp_path / "index.safetensors"
    pairs = [synthetic_shoe(i) for i in range(4)] + [
        (np.zeros((SIDE, SIDE), bool), np.full((SIDE, SIDE, 3), 255, np.uint8))
    ]
    assert write_outline_index(pairs, path) == 4  # the blank photo shows no shoe: left out
    return read_outline_index(path)


def test_the_index_writer_is_seeded_and_deterministic(tmp_path):
    pairs = [synthetic_shoe(i) for i in range(3)]
    first, again, other = (tmp_path / f"{n}.safetensors" for n in ("a", "b", "c"))
    write_outline_index(pairs, first, seed=0)
    write_outline_index(pairs, again, seed=0)
    write_outline_index(pairs, other, seed=1)
    assert first.read_bytes() == again.read_bytes()
    assert first.read_bytes() != other.read_bytes()  # the dabs' places follow the seed
    index = read_outline_index(first)
    assert len(index) == 6  # three shoes and their mirrors
    assert np.array_equal(index.edge_map(3), index.edge_map(0)[:, ::-1])
    assert np.array_equal(index.silhouette(4), index.silhouette(1)[:, ::-1])


def test_a_foreign_file_is_refused_in_one_line(tmp_path):
    (tmp_path / "bad.safetensors").write_bytes(b"not an index")
    with pytest.raises(UserError, match="not an outline index"):
        read_outline_index(tmp_path / "bad.safetensors")
    with pytest.raises(UserError, match="none of the photos"):
        write_outline_index([(np.zeros((8, 8), bool), np.full((8, 8, 3), 255, np.uint8))], tmp_path / "x")


def test_the_fast_fill_encloses_what_scipy_fills():
    rng = np.random.default_rng(0)
    drawings = [rng.random((48, 40)) < p for p in (0.03, 0.08, 0.15)] + [outline_drawing()[60:210, 20:]]
    for ink in drawings:  # the last touches the border: what it closes there still counts as inside
        reference = ndimage.binary_fill_holes(ndimage.binary_dilation(ink, iterations=2))
        assert np.array_equal(filled_outline(ink), reference)
    ring = np.zeros((30, 30), bool)  # lines in one corner: the fill works in their box only
    ring[18:27, 20:29] = True
    ring[20:25, 22:27] = False
    masks = [ring, np.zeros((9, 9), bool), np.ones((5, 7), bool)]
    masks += [ndimage.binary_dilation(rng.random((40, 56)) < 0.04, iterations=i) for i in (1, 2, 3)]
    for mask in masks:
        assert np.array_equal(fill_enclosed(mask), ndimage.binary_fill_holes(mask))
    assert fill_enclosed(ring)[22, 24] and not fill_enclosed(ring)[5, 5]


def test_completion_adds_interior_edges_well_inside_an_outline(index):
    ink = outline_drawing()
    done = complete_outline(ink, index)
    assert done.entry is not None
    added = done.ink & ~ink
    assert (done.ink >= ink).all() and added.sum() > 100  # the drawing kept, lines added
    inside = ndimage.binary_erosion(filled_outline(ink), iterations=KEEP_INSIDE)
    assert inside[added].all()  # the user's contour stays the outline


def test_a_dense_or_open_drawing_goes_to_the_model_as_drawn(index):
    dense = outline_drawing(interior=30)
    assert outline_silhouette(dense) is None
    done = complete_outline(dense, index)
    assert done.entry is None and np.array_equal(done.ink, dense)
    open_strokes = np.zeros((SIDE, SIDE), bool)
    open_strokes[100, 20:230] = open_strokes[100:200, 20] = True  # two strokes that enclose nothing
    assert complete_outline(open_strokes, index).entry is None


def test_each_look_seed_borrows_from_a_different_neighbour(index):
    ink = outline_drawing()
    done = [complete_outline(ink, index, rank) for rank in range(4)]
    assert len({d.entry for d in done}) == 4
    assert not np.array_equal(done[0].ink, done[1].ink)
    assert [Look(seed=s).neighbour for s in (None, 0, 1)] == [0, 0, 1]


def test_the_image_and_the_batch_paths_complete_alike(index):
    edges = Image.fromarray(np.where(outline_drawing(), 0, 255).astype(np.uint8)).convert("RGB")
    dense = Image.fromarray(np.where(outline_drawing(interior=30), 0, 255).astype(np.uint8)).convert("RGB")
    x = torch.stack([image_to_tensor(edges), image_to_tensor(dense)])
    batch, entries = complete_tensor(x, index, [1, 1])
    single = complete_image(edges, index, 1)
    assert entries == [single.entry, None]
    assert np.array_equal(batch[0, 0].numpy() < 0, np.asarray(single.edges.convert("L")) < 128)
    assert torch.equal(batch[1], x[1]) and complete_image(dense, index).edges is dense


def test_without_an_index_nothing_changes(monkeypatch, tmp_path):
    ink = outline_drawing()
    assert complete_outline(ink, None).entry is None
    x = image_to_tensor(Image.fromarray(np.where(ink, 0, 255).astype(np.uint8)).convert("RGB"))[None]
    assert complete_tensor(x, None, [0])[0] is x
    monkeypatch.setattr(sketch, "assets_models_dir", lambda: tmp_path)
    sketch.bundled_outline_index.cache_clear()
    try:
        assert sketch.bundled_outline_index() is None
    finally:
        sketch.bundled_outline_index.cache_clear()


@pytest.fixture
def hint_run_256(aligned_dataset) -> str:
    """A one-step pix2pix run at 256 px (the outline index's scale) that takes colour hints."""
    from engine.training.loop import TrainSettings, train
    from support.tiny import TINY_PIX2PIX

    config = {**TINY_PIX2PIX, "hints": True, "mode": "l1", "load_size": 256, "crop_size": 256}
    return train("pix2pix", TrainSettings(data=str(aligned_dataset), max_steps=1, batch_size=1), config)


def test_the_pipeline_shows_and_translates_the_completed_outline(hint_run_256, index):
    plain = SketchPipeline.load(hint_run_256, table_looks=False)
    assert plain.outline_index is None  # the bare pipeline
    completing = SketchPipeline(plain.predictor, outline_index=index)
    drawing = Image.fromarray(np.where(outline_drawing(), 0, 255).astype(np.uint8)).convert("RGB")
    prepared = np.asarray(completing.prepare(drawing).edges.convert("L")) < 128
    shown = [np.asarray(completing(drawing, look=Look(seed=s)).shown.convert("L")) < 128 for s in (0, 1)]
    assert shown[0].sum() > prepared.sum() and not np.array_equal(shown[0], shown[1])
    assert np.array_equal(np.asarray(plain(drawing).shown.convert("L")) < 128, prepared)
    looks = completing.looks(completing.prepare(drawing), [0, 1])
    assert not np.array_equal(np.asarray(looks[0]), np.asarray(plain(drawing).photo))


def test_translate_no_complete_sends_the_outline_as_drawn(hint_run_256, tmp_path):
    if sketch.bundled_outline_index() is None:
        pytest.skip("the outline index is not installed")
    drawing = tmp_path / "outline.png"
    Image.fromarray(np.where(outline_drawing(), 0, 255).astype(np.uint8)).save(drawing)
    photos = []
    for flags in ([], ["--no-complete"]):
        out = tmp_path / f"shoe{len(photos)}.png"
        assert main(["translate", "--model", hint_run_256, str(drawing), str(out), "--sketch", *flags]) == 0
        photos.append(np.asarray(Image.open(out)))
    assert not np.array_equal(*photos)


def test_make_outline_index_writes_a_file_and_never_over_one(aligned_dataset, tmp_path, capsys):
    out = tmp_path / "index.safetensors"
    assert main(["data", "make-outline-index", str(aligned_dataset), str(out)]) == 0
    assert len(read_outline_index(out)) == 2 * 8  # the 8 train shapes and their mirrors
    assert main(["data", "make-outline-index", str(aligned_dataset), str(out)]) == 1
    assert "exists" in capsys.readouterr().err


def test_the_bundled_index_is_small_and_reads():
    path = sketch.assets_models_dir() / sketch.OUTLINE_INDEX
    if not path.is_file():
        pytest.skip("the outline index is not installed")
    assert path.stat().st_size < 8 * 2**20
    index = read_outline_index(path)
    assert len(index) % 2 == 0 and index.dabs.shape[1:] == (12, 5)


def test_people_s_outlines_are_completed_and_edge_maps_are_not(shared_data):
    """On the first val pairs: the outline set's drawings (prepared as the studio prepares a
    canvas) are taken for outlines, the clean HED edge maps are not."""
    from engine.data.datasets import open_paired_dataset
    from engine.data.outline_set import OutlinePairs
    from engine.data.sketch import prepare_drawing

    pairs = open_paired_dataset(str(shared_data / "edges2shoes"), "val", "AtoB", 256, 256, False)
    outlines = OutlinePairs(pairs, lambda canvas: prepare_drawing(canvas, None, 256).edges)
    count = 12
    fired_outlines = sum(
        outline_silhouette(outlines[i]["A"][0].numpy() < 0) is not None for i in range(count)
    )
    fired_edges = sum(outline_silhouette(pairs[i]["A"][0].numpy() < 0) is not None for i in range(count))
    assert fired_outlines >= count * 2 // 3 and fired_edges <= 1
