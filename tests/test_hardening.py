"""Bad files and hostile names: clear errors, nothing half-written, no code from data."""

import ast
import shutil

import numpy as np
import pytest
from PIL import Image

from engine.data.images import list_images, load_image, output_paths
from engine.errors import UserError
from engine.inference.loader import load_predictor
from engine.store.checkpoints import read_weights, save_weights
from engine.store.runs import RunStore


def test_sixteen_bit_greyscale_is_scaled_not_clipped_to_white(tmp_path):
    ramp = (np.arange(64 * 64, dtype=np.uint32).reshape(64, 64) * 16).astype(np.uint16)
    Image.fromarray(ramp).save(tmp_path / "deep.png")
    assert Image.open(tmp_path / "deep.png").mode.startswith("I")
    rgb = np.asarray(load_image(tmp_path / "deep.png"))
    assert rgb.shape == (64, 64, 3) and rgb[0, 0, 0] == 0
    assert abs(int(rgb[32, 0, 0]) - round(32 * 64 * 16 / 65535 * 255)) <= 1  # mid-grey stays mid-grey


def test_folders_list_regular_image_files_only(tmp_path):
    (tmp_path / "photo.jpg").mkdir()  # a folder with an image's name
    Image.new("RGB", (8, 8)).save(tmp_path / "real.png")
    assert [p.name for p in list_images(tmp_path)] == ["real.png"]


def test_inputs_sharing_a_stem_get_outputs_of_their_own(tmp_path):
    files = [tmp_path / n for n in ("a.jpg", "a.png", "b.png")]
    assert [p.name for p in output_paths(files, tmp_path / "out")] == ["a_jpg.png", "a_png.png", "b.png"]


@pytest.mark.parametrize("content", [b"", b"not a pickle at all", b"PK\x03\x04broken zip"])
def test_a_broken_pth_file_is_one_clear_error_naming_it(tmp_path, content):
    path = tmp_path / "latest_net_G.pth"
    path.write_bytes(content)
    with pytest.raises(UserError, match="latest_net_G.pth is not a PyTorch weights file"):
        load_predictor(str(path))


def test_a_checkpoint_cannot_ask_for_absurd_sizes(tiny_run, tmp_path):
    nets, meta = read_weights(RunStore().latest_checkpoint(tiny_run))
    huge = tmp_path / "huge.safetensors"
    save_weights(huge, nets, {**meta, "config": {**meta["config"], "crop_size": 2**20}})
    with pytest.raises(UserError, match="--crop-size must be 16 to 4096, got 1048576"):
        load_predictor(str(huge))
    wide = tmp_path / "wide.safetensors"
    save_weights(wide, nets, {**meta, "config": {**meta["config"], "ngf": 200_000}})
    with pytest.raises(UserError, match="--ngf must be 1 to 1024, got 200000"):
        load_predictor(str(wide))


def test_a_crafted_model_name_stays_a_string_in_the_space_app(tiny_run, tmp_path):
    from studio.space import export_space

    evil = tmp_path / 'x": 1}); import os; os.system("touch PWNED"); d = ({"y.safetensors'
    shutil.copy(RunStore().latest_checkpoint(tiny_run), evil)
    out = export_space(tmp_path / "space", "sketch", str(evil))
    tree = ast.parse((out / "app.py").read_text())
    calls = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "build_sketch_demo"
    ]
    (models,) = [c.args[0] for c in calls]
    assert isinstance(models, ast.Dict) and isinstance(models.keys[0], ast.Constant)
    assert "os.system" in models.keys[0].value
    assert not any(
        isinstance(n, ast.Import) and n.names[0].name == "os" and n.lineno > 10 for n in ast.walk(tree)
    )


def test_streamlit_server_neither_watches_files_nor_offers_deploy(monkeypatch):
    import sys

    from studio import streamlit_server

    seen = {}
    monkeypatch.setattr(sys, "argv", list(sys.argv))  # the launcher sets argv for streamlit
    monkeypatch.setattr("streamlit.runtime.pages_manager.PagesManager.uses_pages_directory", None)
    monkeypatch.setattr("streamlit.web.cli.main", lambda: seen.setdefault("argv", list(sys.argv)))
    streamlit_server.main(["--server.port", "1"])
    argv = seen["argv"]
    assert argv[argv.index("--server.fileWatcherType") + 1] == "none"
    assert argv[argv.index("--client.toolbarMode") + 1] == "viewer"


def zero_bomb(path, kind: str, size: int = 256 * 2**20):
    """`size` bytes of zeros packed into about a thousandth of that (zip or tar.gz)."""
    import io
    import tarfile
    import zipfile

    chunk = bytes(2**20)
    if kind == "zip":
        with (
            zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive,
            archive.open("d/zeros.jpg", "w") as f,
        ):
            for _ in range(size // len(chunk)):
                f.write(chunk)
        return path

    class Zeros(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            buffer[:] = bytes(len(buffer))
            return len(buffer)

    with tarfile.open(path, "w:gz", compresslevel=1) as archive:
        info = tarfile.TarInfo("d/zeros.jpg")
        info.size = size
        archive.addfile(info, io.BufferedReader(Zeros()))
    return path


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_an_archive_bomb_is_refused_before_anything_is_written(tmp_path, kind):
    from engine.data.archives import UnsafeArchiveError, extract_archive

    bomb = zero_bomb(tmp_path / f"bomb.{kind}", kind)
    assert bomb.stat().st_size < 2**20 * 2
    dest = tmp_path / "datasets"
    with pytest.raises(UnsafeArchiveError, match=r"would unpack to more than .*not an image dataset"):
        extract_archive(bomb, dest, "shoes")
    assert list(dest.iterdir()) == []


def test_an_archive_larger_than_the_free_space_is_refused_first(tmp_path, monkeypatch):
    import zipfile
    from collections import namedtuple

    from engine.data import archives
    from engine.data.download import DatasetUnavailableError

    archive = tmp_path / "small.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("d/trainA/1.jpg", np.random.default_rng(0).bytes(4096))
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(archives.shutil, "disk_usage", lambda path: usage(10**9, 10**9, archives.SPARE + 100))
    with pytest.raises(DatasetUnavailableError, match="no space left to unpack small.zip"):
        archives.extract_archive(archive, tmp_path / "datasets", "shoes")
    assert list((tmp_path / "datasets").iterdir()) == []
