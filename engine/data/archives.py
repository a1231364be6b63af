"""Unpacking downloaded datasets safely: .tar.gz (pix2pix) and .zip (CycleGAN) archives, every
member checked before anything is written, unpacked aside and renamed into place at the end.

Sizes are checked first too: an archive bomb (1 GiB of zeros in about 1 MB) is refused from its
declared member sizes, before a byte is written, when it would unpack to more than MAX_RATIO
times its own size (image datasets barely compress: JPEGs and PNGs are about 1x) or to more
than the free space of the disk it unpacks to. The declared sizes bind: zipfile stops each
member at its declared size and a tar member is exactly its header's size.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import zipfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from engine.data.download import DatasetUnavailableError

MAX_RATIO = 50  # unpacked size / archive size beyond which an archive is not an image dataset
SMALL_ARCHIVE = 64 * 2**20  # below this much unpacked, the ratio is not held against it
SPARE = 256 * 2**20  # free space left on the disk after unpacking


class UnsafeArchiveError(DatasetUnavailableError):
    """An archive member would land outside the destination folder (absolute path, `..`, link),
    or the archive would unpack to far more than an image dataset does (an archive bomb)."""


def size_text(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


class SizeCheck:
    """Adds up the declared sizes of an archive's members and refuses it as soon as the total
    passes the ratio bound or the free space (reading a tar's headers stops there, too)."""

    def __init__(self, archive_path: Path, dest_root: Path) -> None:
        self.archive_path, self.total = archive_path, 0
        self.packed = max(archive_path.stat().st_size, 1)
        self.free = shutil.disk_usage(dest_root).free - SPARE

    def add(self, size: int) -> None:
        self.total += max(size, 0)
        name, total = self.archive_path.name, size_text(self.total)
        if self.total > max(MAX_RATIO * self.packed, SMALL_ARCHIVE):
            raise UnsafeArchiveError(
                f"{name} would unpack to more than {total} from {size_text(self.packed)} (over {MAX_RATIO}x): "
                "an archive that compresses this much is not an image dataset; not unpacking it"
            )
        if self.total > self.free:
            raise DatasetUnavailableError(
                f"no space left to unpack {name}: it needs more than {total}, the disk has "
                f"{size_text(max(self.free + SPARE, 0))} free"
            )


def check_member_name(name: str) -> None:
    path = PurePosixPath(name.replace("\\", "/"))
    if (
        path.is_absolute()
        or ".." in path.parts
        or name.startswith(("\\", "/"))
        or ":" in (path.parts or ("",))[0]
    ):
        raise UnsafeArchiveError(f"archive member {name!r} points outside the destination")


def check_members(
    members: Iterable[tarfile.TarInfo], sizes: SizeCheck | None = None
) -> list[tarfile.TarInfo]:
    """Refuse members that could escape the destination, or too large in all, before anything
    is written; returns them."""
    checked = []
    for member in members:
        check_member_name(member.name)
        if sizes is not None:
            sizes.add(member.size)
        checked.append(member)
        link = PurePosixPath(member.linkname)
        if (member.issym() or member.islnk()) and (link.is_absolute() or ".." in link.parts):
            raise UnsafeArchiveError(f"archive link {member.name!r} -> {member.linkname!r} is not allowed")
    return checked


def extract_archive(archive_path: Path, dest_root: Path, name: str) -> Path:
    """Unpack a .tar.gz or .zip safely into dest_root/name and return that folder. A single top-level
    folder in the archive (edges2shoes/...) is unwrapped. Unpacking happens in a hidden folder
    that is renamed at the end, so an interrupted run never leaves a half dataset behind."""
    staging = dest_root / f".{name}.unpacking"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        sizes = SizeCheck(archive_path, dest_root)
        if zipfile.is_zipfile(archive_path):
            with zipfile.ZipFile(archive_path) as archive:
                for member in archive.infolist():
                    check_member_name(member.filename)
                    sizes.add(member.file_size)
                archive.extractall(staging)
        else:
            with tarfile.open(archive_path, "r:*") as archive:
                members = check_members(archive, sizes)  # one pass over the headers, stopped early
                archive.extractall(staging, members, filter="data")
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
