"""Unpacking downloaded datasets safely: .tar.gz (pix2pix) and .zip (CycleGAN) archives, every
member checked before anything is written, unpacked aside and renamed into place at the end."""

from __future__ import annotations

import os
import shutil
import tarfile
import zipfile
from pathlib import Path, PurePosixPath

from engine.data.download import DatasetUnavailableError


class UnsafeArchiveError(DatasetUnavailableError):
    """An archive member would land outside the destination folder (absolute path, `..`, link)."""


def check_member_name(name: str) -> None:
    path = PurePosixPath(name.replace("\\", "/"))
    if (
        path.is_absolute()
        or ".." in path.parts
        or name.startswith(("\\", "/"))
        or ":" in (path.parts or ("",))[0]
    ):
        raise UnsafeArchiveError(f"archive member {name!r} points outside the destination")


def check_members(members: list[tarfile.TarInfo]) -> None:
    """Refuse members that could escape the destination, before anything is written."""
    for member in members:
        check_member_name(member.name)
        link = PurePosixPath(member.linkname)
        if (member.issym() or member.islnk()) and (link.is_absolute() or ".." in link.parts):
            raise UnsafeArchiveError(f"archive link {member.name!r} -> {member.linkname!r} is not allowed")


def extract_archive(archive_path: Path, dest_root: Path, name: str) -> Path:
    """Unpack a .tar.gz or .zip safely into dest_root/name and return that folder. A single top-level
    folder in the archive (edges2shoes/...) is unwrapped. Unpacking happens in a hidden folder
    that is renamed at the end, so an interrupted run never leaves a half dataset behind."""
    staging = dest_root / f".{name}.unpacking"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        if zipfile.is_zipfile(archive_path):
            with zipfile.ZipFile(archive_path) as archive:
                for member in archive.namelist():
                    check_member_name(member)
                archive.extractall(staging)
        else:
            with tarfile.open(archive_path, "r:*") as archive:
                check_members(archive.getmembers())
                archive.extractall(staging, filter="data")
        entries = list(staging.iterdir())
        content = entries[0] if len(entries) == 1 and entries[0].is_dir() else staging
        target = dest_root / name
        if target.is_dir() and not any(target.iterdir()):
            target.rmdir()
        os.replace(content, target)
    except UnsafeArchiveError:
        raise
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as err:
        raise DatasetUnavailableError(f"cannot unpack {archive_path} into {dest_root / name}: {err}") from err
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
