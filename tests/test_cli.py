"""The command line, run as a user would run it."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from engine.errors import UserError
from engine.inference.loader import export_model
from engine.store.runs import RunStore
from support.tiny import TINY_FLAGS


def engine_cli(*args: str, home: Path, tool: list[str] | None = None) -> subprocess.CompletedProcess:
    cmd = (tool or [sys.executable, "-m"]) + ["engine", *args]
    return subprocess.run(
        cmd, capture_output=True, text=True, timeout=300, env={**os.environ, "STUDIO_HOME": str(home)}
    )


def test_receptive_field_command_prints_70_for_the_default():
    out = engine_cli("receptive-field", home=Path("/tmp")).stdout
    assert out.strip().splitlines()[-1].split()[-1] == "70x70"


@pytest.mark.slow
def test_unknown_command_and_missing_data_fail_clearly(studio_home, tmp_path):
    assert engine_cli("fly", home=studio_home).returncode == 2
    result = engine_cli("train", "pix2pix", "--data", str(tmp_path / "nowhere"), home=studio_home)
    assert result.returncode == 1 and "dataset folder not found" in result.stderr
    assert "Traceback" not in result.stderr


def test_translate_a_folder_of_aligned_pairs(tiny_run, aligned_dataset, studio_home, tmp_path):
    out = tmp_path / "out"
    result = engine_cli(
        "translate",
        "--model",
        tiny_run,
        str(aligned_dataset / "val"),
        str(out),
        "--direction",
        "AtoB",
        "--batch-size",
        "2",
        home=studio_home,
    )
    assert result.returncode == 0, result.stderr
    written = sorted(p.name for p in out.iterdir())
    assert written == ["100_AB.png", "101_AB.png", "102_AB.png"]
    assert Image.open(out / "100_AB.png").size == (32, 32)


@pytest.mark.slow
def test_translate_one_sketch_with_a_checkpoint_path(tiny_run, studio_home, tmp_path):
    ckpt = RunStore(studio_home).latest_checkpoint(tiny_run)
    sketch = tmp_path / "drawing.png"
    img = Image.new("RGBA", (300, 200), (0, 0, 0, 0))
    img.paste((0, 0, 0, 255), (40, 40, 260, 60))
    img.save(sketch)
    result = engine_cli(
        "translate",
        "--model",
        str(ckpt),
        str(sketch),
        str(tmp_path / "shoe.jpg"),
        "--sketch",
        home=studio_home,
    )
    assert result.returncode == 0, result.stderr
    assert Image.open(tmp_path / "shoe.jpg").size == (32, 32)
    padded = engine_cli(
        "translate",
        "--model",
        str(ckpt),
        str(sketch),
        str(tmp_path / "pad.png"),
        "--fit",
        "pad",
        home=studio_home,
    )
    assert padded.returncode == 0 and Image.open(tmp_path / "pad.png").size == (300, 200)


@pytest.mark.skipif(
    shutil.which("torchrun", path=str(Path(sys.executable).parent)) is None,
    reason="torchrun is not installed next to this python",
)
@pytest.mark.slow
def test_ddp_with_two_cpu_processes(aligned_dataset, studio_home):
    torchrun = [str(Path(sys.executable).parent / "torchrun"), "--nproc_per_node", "2", "-m"]
    result = engine_cli(
        "train",
        "pix2pix",
        "--data",
        str(aligned_dataset),
        "--max-steps",
        "4",
        "--batch-size",
        "2",
        *TINY_FLAGS,
        home=studio_home,
        tool=torchrun,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("run: ") == 1  # rank 0 alone reports
    store = RunStore(studio_home)
    run = store.list()[0]
    assert run.status == "finished" and run.step == 4
    assert any("2 process(es)" in msg for _, kind, msg in store.events(run.id) if kind == "started")


def test_export_writes_a_small_fp16_generator_that_loads(tiny_run, studio_home, tmp_path):
    from engine.inference.loader import load_predictor
    from engine.store.checkpoints import read_weights

    out = tmp_path / "small.safetensors"
    result = engine_cli("export", tiny_run, str(out), home=studio_home)
    assert result.returncode == 0, result.stderr
    nets, meta = read_weights(out)
    assert set(nets) == {"G"} and meta["task"] == "pix2pix" and meta["exported_from"] == tiny_run
    assert all(t.dtype == torch.float16 for t in nets["G"].values() if t.is_floating_point())
    full = load_predictor(tiny_run, precision="fp32")
    small = load_predictor(str(out), precision="fp32")
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    torch.testing.assert_close(small.translate_tensor(x), full.translate_tensor(x), atol=5e-3, rtol=0)


def test_export_best_needs_evaluations(tiny_run, tmp_path):
    with pytest.raises(UserError, match="--eval-every"):
        export_model(tiny_run, tmp_path / "x.safetensors", best=True)


@pytest.mark.slow
def test_make_edges_builds_an_aligned_dataset_that_trains(tmp_path, studio_home):
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(4):
        img = Image.new("RGB", (80, 60), "white")
        img.paste((30 + 40 * i, 90, 140), (15, 10, 65, 50))
        img.save(photos / f"p{i}.jpg")
    out = tmp_path / "edges2things"
    result = engine_cli(
        "data",
        "make-edges",
        str(photos),
        str(out),
        "--method",
        "xdog",
        "--size",
        "32",
        "--val-fraction",
        "0.25",
        home=studio_home,
    )
    assert result.returncode == 0, result.stderr
    assert len(list((out / "train").iterdir())) == 3 and len(list((out / "val").iterdir())) == 1
    pair = Image.open(next((out / "train").iterdir()))
    assert pair.size == (64, 32)
    result = engine_cli(
        "train",
        "pix2pix",
        "--data",
        str(out),
        "--max-steps",
        "2",
        "--batch-size",
        "2",
        *TINY_FLAGS,
        home=studio_home,
    )
    assert result.returncode == 0, result.stderr


def test_download_refuses_unknown_dataset_names(studio_home):
    result = engine_cli("data", "download", "nosuchset", home=studio_home)
    assert result.returncode == 2 and "invalid choice" in result.stderr


@pytest.mark.slow
def test_resume_from_the_command_line_with_more_steps(tiny_run, studio_home):
    result = engine_cli("train", "--resume", tiny_run, "--max-steps", "3", home=studio_home)
    assert result.returncode == 0, result.stderr
    assert RunStore(studio_home).get(tiny_run).step == 3
