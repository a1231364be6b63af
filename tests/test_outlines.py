"""The held-out outline set: outline drawings of the photos on a canvas, written by
`data make-drawings --style outline` and scored by `eval --outlines` with the same seeds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from engine.data.datasets import open_paired_dataset, split_aligned
from engine.data.images import image_to_tensor
from engine.data.outline_set import OutlinePairs
from engine.data.outlines import outline_canvas, shoe_mask
from engine.data.sketch import prepare_sketch, stroke_width
from engine.store.runs import RunStore


def shoe_photo(size: int = 256) -> np.ndarray:
    """A dark shoe-like shape (an upper on a sole) on a white product-photo background."""
    img = Image.new("RGB", (size, size), "white")
    pen = ImageDraw.Draw(img)
    s = size / 256
    pen.ellipse((40 * s, 80 * s, 200 * s, 190 * s), fill=(120, 60, 30))
    pen.rectangle((30 * s, 170 * s, 220 * s, 200 * s), fill=(40, 40, 40))
    return np.asarray(img)


def ink(canvas: Image.Image) -> np.ndarray:
    return np.asarray(canvas.convert("L")) < 128


def test_outline_canvas_is_seeded_inked_inside_and_varied() -> None:
    photo = shoe_photo()
    canvases = [outline_canvas(photo, np.random.default_rng([0, i])) for i in range(12)]
    again = outline_canvas(photo, np.random.default_rng([0, 0]))
    assert np.array_equal(np.asarray(again), np.asarray(canvases[0]))
    assert canvases[0].size == (256, 256) and canvases[0].mode == "RGB"
    drawn = [ink(c) for c in canvases]
    assert all(d.sum() > 100 for d in drawn)  # a whole outline, not a dot
    for d in drawn:  # the strokes never run off the canvas: no ink on its outermost pixels
        assert not (d[0].any() or d[-1].any() or d[:, 0].any() or d[:, -1].any())
    assert len({d.tobytes() for d in drawn}) == len(drawn)
    boxes = {tuple(np.argwhere(d).min(0)) + tuple(np.argwhere(d).max(0)) for d in drawn}
    assert len(boxes) == len(drawn)  # placed and sized anew each time
    widths = [stroke_width(c) for c in canvases]
    assert max(widths) > 1.8 * min(widths)  # the pen's size changes too


def test_tiny_photos_have_an_object_to_outline(aligned_dataset: Path) -> None:
    pairs = open_paired_dataset(aligned_dataset, "val", "AtoB", 32, 32, False)
    for i in range(len(pairs)):
        photo = ((pairs[i]["B"].permute(1, 2, 0) + 1) * 127.5).round().byte().numpy()
        mask = shoe_mask(photo)
        shape = (photo != 235).any(axis=2)  # the ellipse on its light grey paper
        assert (mask == shape).mean() > 0.95
    assert len(OutlinePairs(pairs)) == len(pairs)


def write_outlines(data: Path, out: Path, *extra: str) -> list[Path]:
    from engine.cli import main

    assert (
        main(["data", "make-drawings", str(data), str(out), "--style", "outline", "--size", "32", *extra])
        == 0
    )
    return sorted((out / "val").iterdir())


def test_make_drawings_outline_writes_a_fixed_set(aligned_dataset: Path, tmp_path: Path) -> None:
    written = write_outlines(aligned_dataset, tmp_path / "a")
    assert [p.name for p in written] == ["100_AB.png", "101_AB.png", "102_AB.png"]
    pairs = open_paired_dataset(aligned_dataset, "val", "AtoB", 32, 32, False)
    for i, path in enumerate(written):
        with Image.open(path) as img:
            assert img.size == (64, 32)
            canvas, photo = split_aligned(img.convert("RGB"))
        assert ink(canvas).any()
        assert torch.equal(image_to_tensor(photo), pairs[i]["B"])
    first = [p.read_bytes() for p in written]
    assert [p.read_bytes() for p in write_outlines(aligned_dataset, tmp_path / "b")] == first
    assert [p.read_bytes() for p in write_outlines(aligned_dataset, tmp_path / "c", "--seed", "1")] != first


def test_eval_outlines_scores_the_written_set_prepared(aligned_dataset: Path, tmp_path: Path) -> None:
    """What `eval --outlines` feeds the model is the written set's canvases, prepared."""
    written = write_outlines(aligned_dataset, tmp_path / "outlines")

    def prepare(canvas: Image.Image) -> Image.Image:
        return prepare_sketch(canvas, 32)

    outlines = OutlinePairs(open_paired_dataset(aligned_dataset, "val", "AtoB", 32, 32, False), prepare)
    assert len(outlines) == len(written) == 3
    for i, path in enumerate(written):
        with Image.open(path) as img:
            canvas, photo = split_aligned(img.convert("RGB"))
        item = outlines[i]
        assert torch.equal(item["A"], image_to_tensor(prepare(canvas)))
        assert torch.equal(item["B"], image_to_tensor(photo))


def pixel_features(x: torch.Tensor) -> np.ndarray:
    """A cheap stand-in for the Inception network: each channel's mean."""
    return x.float().mean(dim=(2, 3)).double().cpu().numpy()


def test_eval_outlines_prints_and_stores_its_row(
    tiny_run: str, aligned_dataset: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine.cli import main

    monkeypatch.setattr("engine.inference.evaluate.InceptionFeatures", lambda: pixel_features)
    args = ["eval", tiny_run, "--data", str(aligned_dataset), "--outlines", "--hints", "2", "--raw-hints"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "without hints" in printed and f"{tiny_run} on {aligned_dataset} (val outlines, AtoB):" in printed
    rows = RunStore().evals(tiny_run)
    assert {row[2] for row in rows} == {"val +2 hints raw", "val outlines", "val open outlines"}  # no hints
    stored = {row[3]: row[4] for row in rows if row[2] == "val outlines"}
    assert {"L1", "PSNR", "SSIM", "FID", "KID", "KID_std", "count"} <= set(stored)
    assert stored["count"] == 3 and 0 < stored["L1"] < 2 and np.isfinite(stored["FID"])


def test_pix2pix_trains_on_peoples_outlines_when_asked(aligned_dataset):
    import torch

    from engine.runtime.precision import Precision
    from engine.tasks.pix2pix import Pix2Pix, Pix2PixConfig
    from support.tiny import TINY_PIX2PIX

    cpu = torch.device("cpu")
    drawn = []
    for rate in (0.0, 1.0):
        config = Pix2PixConfig(**TINY_PIX2PIX, drawing_aug=True, outline_rate=rate)
        data = Pix2Pix(config, cpu, Precision(cpu, "fp32")).make_dataset(str(aligned_dataset), "train", True)
        drawn.append([data[i, 7]["A"] for i in range(4)])
    assert any(not torch.equal(a, b) for a, b in zip(*drawn))
    for item in drawn[1]:  # an outline: ink only where the drawing's silhouette is
        ink = item.mean(0) < 0
        assert ink.any() and ink.float().mean() < 0.35


def test_an_outline_set_left_open_draws_the_open_set(aligned_dataset: Path) -> None:
    pairs = open_paired_dataset(aligned_dataset, "val", "AtoB", 32, 32, False)
    closed = OutlinePairs(pairs)
    opened, direct = closed.left_open(), OutlinePairs(pairs, open_ends=True)
    assert not closed.open_ends and opened.indices == direct.indices
    for i in range(len(direct)):
        assert np.array_equal(np.asarray(opened.drawn(i)[0]), np.asarray(direct.drawn(i)[0]))
