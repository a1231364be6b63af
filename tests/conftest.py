"""Shared fixtures: an isolated run store per test, small datasets made on the fly, one tiny
pix2pix run trained once per session (and one taking colour hints, per test), the development
data when it is there."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from support.style import write_tiny_vgg
from support.tiny import TINY_PIX2PIX, write_shapes_dataset

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(autouse=True)
def studio_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("STUDIO_HOME", str(home))
    return home


@pytest.fixture
def aligned_dataset(tmp_path: Path) -> Path:
    """DIR/train (8 pairs) and DIR/val (3 pairs) of 32x32 halves, pix2pix layout."""
    return write_shapes_dataset(tmp_path / "shapes")


@pytest.fixture
def shared_data() -> Path:
    """../shared/data (development datasets); tests that need it skip cleanly without it."""
    if not SHARED_DATA.is_dir():
        pytest.skip("needs ../shared/data (the development datasets)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def tiny_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A run store holding one finished two-step pix2pix run, trained once per session."""
    from engine.training.loop import TrainSettings, train

    home = tmp_path_factory.mktemp("tiny-store")
    data = write_shapes_dataset(tmp_path_factory.mktemp("tiny-data") / "shapes")
    settings = TrainSettings(data=str(data), max_steps=2, batch_size=2, sample_size=2)
    return home, train("pix2pix", settings, TINY_PIX2PIX, home=str(home))


@pytest.fixture
def tiny_run(tiny_store: tuple[Path, str], studio_home: Path) -> str:
    """The session's tiny run, copied into this test's own store (tests may change it)."""
    shutil.copytree(tiny_store[0], studio_home, dirs_exist_ok=True)
    return tiny_store[1]


@pytest.fixture
def hint_run(aligned_dataset: Path) -> str:
    """A one-step pix2pix run whose generator takes colour hints."""
    from engine.training.loop import TrainSettings, train

    config = {**TINY_PIX2PIX, "hints": True, "mode": "l1"}
    return train("pix2pix", TrainSettings(data=str(aligned_dataset), max_steps=1, batch_size=2), config)


@pytest.fixture(scope="module")
def one_thread():
    """Tiny tensors: one thread avoids OpenMP barriers that stall when the cores are busy."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def tiny_vgg(tmp_path_factory: pytest.TempPathFactory) -> str:
    return write_tiny_vgg(tmp_path_factory.mktemp("vgg") / "tiny_vgg.safetensors")
