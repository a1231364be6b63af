"""Shared fixtures: small datasets made on the fly, an isolated run store per test."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def shape_pair(i: int, size: int) -> tuple[Image.Image, Image.Image]:
    """A: black outline of a shape on white; B: the same shape filled with a colour."""
    rng = np.random.default_rng(i)
    a = Image.new("RGB", (size, size), "white")
    b = Image.new("RGB", (size, size), (235, 235, 235))
    x0, y0 = rng.integers(2, size // 3, 2)
    x1, y1 = rng.integers(size // 2, size - 2, 2)
    colour = tuple(int(c) for c in rng.integers(30, 220, 3))
    ImageDraw.Draw(a).ellipse((x0, y0, x1, y1), outline="black", width=1)
    ImageDraw.Draw(b).ellipse((x0, y0, x1, y1), fill=colour)
    return a, b


def write_aligned(folder: Path, count: int, size: int, start: int = 0) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(start, start + count):
        a, b = shape_pair(i, size)
        ab = Image.new("RGB", (2 * size, size))
        ab.paste(a, (0, 0))
        ab.paste(b, (size, 0))
        paths.append(folder / f"{i}_AB.png")
        ab.save(paths[-1])
    return paths


@pytest.fixture
def aligned_dataset(tmp_path: Path) -> Path:
    """DIR/train (8 pairs) and DIR/val (3 pairs) of 32x32 halves, pix2pix layout."""
    root = tmp_path / "shapes"
    write_aligned(root / "train", 8, 32)
    write_aligned(root / "val", 3, 32, start=100)
    return root


@pytest.fixture(autouse=True)
def studio_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("STUDIO_HOME", str(home))
    return home


# a pix2pix small enough to train in seconds on 32x32 images
TINY_PIX2PIX = {"ngf": 8, "ndf": 8, "n_layers": 2, "load_size": 36, "crop_size": 32}

TINY_FLAGS = ["--ngf", "8", "--ndf", "8", "--n-layers", "2", "--load-size", "36", "--crop-size", "32"]


@pytest.fixture
def tiny_run(aligned_dataset: Path) -> str:
    """A finished two-step pix2pix run in the test's store."""
    from engine.train import TrainSettings, train

    settings = TrainSettings(data=str(aligned_dataset), max_steps=2, batch_size=2, sample_size=2)
    return train("pix2pix", settings, TINY_PIX2PIX)
