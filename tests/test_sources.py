"""Named datasets: known names, fast offline failure, safe unpacking, offline copies."""

from __future__ import annotations

import dataclasses
import io
import tarfile
import time
from pathlib import Path

import pytest
from PIL import Image

from engine.data import sources
from engine.data.sources import (
    DATASETS,
    DatasetUnavailableError,
    UnsafeArchiveError,
    download_dataset,
    find_local_dataset,
    get_source,
)


def point_at(monkeypatch: pytest.MonkeyPatch, name: str, url: str) -> None:
    monkeypatch.setitem(DATASETS, name, dataclasses.replace(DATASETS[name], urls=(url,)))


def jpeg_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 4), "white").save(buf, format="JPEG")
    return buf.getvalue()


def make_tar(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_catalogue_lists_the_pix2pix_datasets() -> None:
    expected = {
        "edges2shoes": "AtoB",
        "edges2handbags": "AtoB",
        "facades": "BtoA",
        "maps": "AtoB",
        "cityscapes": "BtoA",
        "night2day": "AtoB",
    }
    pix2pix = {n: s for n, s in DATASETS.items() if s.layout == "aligned"}
    assert {n: s.direction for n, s in pix2pix.items()} == expected
    for name, source in pix2pix.items():
        host = f"efrosgans.eecs.berkeley.edu/pix2pix/datasets/{name}.tar.gz"
        assert source.urls == (f"https://{host}", f"http://{host}")  # https first
    cyclegan = {n: s for n, s in DATASETS.items() if s.layout == "unaligned"}
    assert {"horse2zebra", "monet2photo", "summer2winter_yosemite"} <= set(cyclegan)
    assert all(s.urls[0].startswith("https://") and s.urls[0].endswith(".zip") for s in cyclegan.values())
    for source in DATASETS.values():
        assert source.description and "\n" not in source.description


def test_unknown_name_lists_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="edges2shoes"):
        get_source("shoes2edges")
    with pytest.raises(ValueError, match="facades"):
        download_dataset("shoes2edges", tmp_path)


def test_unreachable_server_fails_fast(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    point_at(monkeypatch, "facades", "http://127.0.0.1:9/x.tar.gz")  # port 9 refuses connections
    start = time.monotonic()
    with pytest.raises(DatasetUnavailableError, match="--data") as info:
        download_dataset("facades", tmp_path / "datasets", progress=False)
    assert time.monotonic() - start < 5
    assert "failed" in str(info.value) and "train" in str(info.value)
    assert not list((tmp_path / "datasets").glob("facades*")), "no partial download left behind"


def test_download_unpacks_a_tarball(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {"facades/train/1.jpg": jpeg_bytes(), "facades/test/2.jpg": jpeg_bytes()}
    for name, data in files.items():
        (tmp_path / "src" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "src" / name).write_bytes(data)
    archive = tmp_path / "facades.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:  # like the real tarballs: folder entries included
        tar.add(tmp_path / "src" / "facades", arcname="facades")
    point_at(monkeypatch, "facades", archive.as_uri())
    dest = tmp_path / "datasets"
    folder = download_dataset("facades", dest, progress=False)
    assert folder == dest / "facades"
    assert (folder / "train" / "1.jpg").read_bytes() == files["facades/train/1.jpg"]
    assert (folder / "test" / "2.jpg").is_file()
    assert sorted(p.name for p in dest.iterdir()) == ["facades"], "archive and staging folder removed"
    # present now: found again without fetching (the URL no longer works)
    point_at(monkeypatch, "facades", "http://127.0.0.1:9/x.tar.gz")
    assert download_dataset("facades", dest, progress=False) == folder


def test_archive_without_top_folder_lands_in_named_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = make_tar(tmp_path / "maps.tar.gz", {"train/1.jpg": jpeg_bytes(), "val/2.jpg": jpeg_bytes()})
    point_at(monkeypatch, "maps", archive.as_uri())
    folder = download_dataset("maps", tmp_path / "d", progress=False, keep_archive=True)
    assert folder == tmp_path / "d" / "maps" and (folder / "val" / "2.jpg").is_file()
    assert (tmp_path / "d" / "maps.tar.gz").is_file()


@pytest.mark.parametrize("member", ["../evil", "/tmp/evil-abs", "facades/../../evil"])
def test_traversal_is_rejected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, member: str) -> None:
    archive = make_tar(tmp_path / "evil.tar.gz", {"facades/train/1.jpg": jpeg_bytes(), member: b"x"})
    point_at(monkeypatch, "facades", archive.as_uri())
    dest = tmp_path / "a" / "datasets"
    with pytest.raises(UnsafeArchiveError, match="outside"):
        download_dataset("facades", dest, progress=False)
    assert not (tmp_path / "a" / "evil").exists() and not (tmp_path / "evil").exists()
    assert not (dest / "facades").exists() and not list(dest.glob("*.tar.gz"))


def test_symlink_out_of_the_archive_is_rejected(tmp_path: Path) -> None:
    archive = tmp_path / "link.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("facades/train/link.jpg")
        info.type, info.linkname = tarfile.SYMTYPE, "../../../etc/passwd"
        tar.addfile(info)
    with pytest.raises(UnsafeArchiveError):
        sources.extract_archive(archive, tmp_path / "out", "facades")


def test_corrupt_archive_is_reported_and_removed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "bad.tar.gz"
    bad.write_bytes(b"not a tarball")
    point_at(monkeypatch, "night2day", bad.as_uri())
    with pytest.raises(DatasetUnavailableError, match="unpack"):
        download_dataset("night2day", tmp_path / "d", progress=False)
    assert not (tmp_path / "d" / "night2day.tar.gz").exists()


def test_find_local_dataset(tmp_path: Path, studio_home: Path) -> None:
    assert find_local_dataset("edges2shoes", [tmp_path]) is None
    (tmp_path / "edges2shoes" / "train").mkdir(parents=True)
    assert find_local_dataset("edges2shoes", [tmp_path]) is None, "an empty split is no dataset"
    (tmp_path / "edges2shoes" / "train" / "1_AB.jpg").write_bytes(jpeg_bytes())
    assert find_local_dataset("edges2shoes", [tmp_path / "nowhere", tmp_path]) == tmp_path / "edges2shoes"
    home_copy = studio_home / "datasets" / "mine" / "val"
    home_copy.mkdir(parents=True)
    (home_copy / "a.png").write_bytes(b"")
    assert find_local_dataset("mine") == studio_home / "datasets" / "mine"


def archive_with_one_pair(tmp_path: Path) -> Path:
    return make_tar(tmp_path / "facades.tar.gz", {"facades/train/1.jpg": jpeg_bytes()})


def test_a_checksum_mismatch_keeps_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    point_at(monkeypatch, "facades", archive_with_one_pair(tmp_path).as_uri())
    dest = tmp_path / "datasets"
    with pytest.raises(DatasetUnavailableError, match="expected 00ff.*not kept"):
        download_dataset("facades", dest, progress=False, sha256="00ff")
    assert list(dest.iterdir()) == []


def test_a_matching_checksum_is_accepted_and_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = archive_with_one_pair(tmp_path)
    digest = sources.file_digest(archive)
    point_at(monkeypatch, "facades", archive.as_uri())
    folder = download_dataset("facades", tmp_path / "datasets", progress=False, sha256=digest.upper())
    assert (folder / "train" / "1.jpg").is_file()
    assert f"sha256 of the archive: {digest}" in (folder / "SOURCE.txt").read_text()


def test_the_next_mirror_is_tried_when_the_first_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = archive_with_one_pair(tmp_path)
    urls = ("http://127.0.0.1:9/x.tar.gz", archive.as_uri())
    monkeypatch.setitem(DATASETS, "facades", dataclasses.replace(DATASETS["facades"], urls=urls))
    assert (download_dataset("facades", tmp_path / "datasets", progress=False) / "train" / "1.jpg").is_file()


def test_fashion_mnist_downloads_are_checked_against_the_published_md5(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine.data import image_folders

    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for name in image_folders.FASHION_MNIST_MD5:
        (mirror / name).write_bytes(b"not the real file")
    monkeypatch.setattr(image_folders, "FASHION_MNIST_URLS", (mirror.as_uri() + "/",))
    with pytest.raises(DatasetUnavailableError, match="md5 .* expected 8d4fb7e6c68d591d4c3dfef9ec88bf0d"):
        image_folders.download_fashion_mnist(tmp_path / "fm", progress=False)
    assert list((tmp_path / "fm").iterdir()) == []


def test_a_cyclegan_zip_unpacks_into_the_unaligned_layout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import zipfile

    archive = tmp_path / "horse2zebra.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for split in ("trainA", "trainB", "testA", "testB"):
            zipped.writestr(f"horse2zebra/{split}/1.jpg", jpeg_bytes())
    point_at(monkeypatch, "horse2zebra", archive.as_uri())
    folder = download_dataset("horse2zebra", tmp_path / "datasets", progress=False)
    assert sorted(p.name for p in folder.iterdir() if p.is_dir()) == ["testA", "testB", "trainA", "trainB"]
    assert DATASETS["horse2zebra"].task == "cyclegan"


@pytest.mark.parametrize("member", ["../evil.jpg", "/etc/evil.jpg", "C:/evil.jpg"])
def test_zip_traversal_is_rejected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, member: str) -> None:
    import zipfile

    archive = tmp_path / "horse2zebra.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("horse2zebra/trainA/1.jpg", jpeg_bytes())
        zipped.writestr(member, b"x")
    point_at(monkeypatch, "horse2zebra", archive.as_uri())
    with pytest.raises(UnsafeArchiveError):
        download_dataset("horse2zebra", tmp_path / "datasets", progress=False)
    assert not (tmp_path / "evil.jpg").exists()
