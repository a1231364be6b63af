"""Named datasets: where the official copies are downloaded from and where offline copies live.

Downloads try https first, stream to a temporary file while hashing it, are kept only when the
checksum matches (where one is known or given) and are unpacked with checks against path
traversal. Offline, a download fails at once with a message that says how to point `--data` at
a local copy instead. The pix2pix archives come without published checksums: `--sha256` checks
one, and the SHA-256 of every download is written beside the dataset (SOURCE.txt).
"""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import tarfile
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from tqdm import tqdm

from engine.data.images import IMAGE_EXTENSIONS
from engine.errors import UserError

PIX2PIX_HOST = "efrosgans.eecs.berkeley.edu/pix2pix/datasets/{name}.tar.gz"
CONNECT_TIMEOUT_S = 10.0  # also the longest wait for any read of the download
CHUNK_BYTES = 1 << 20
SPLITS = ("train", "val", "test")


class DatasetUnavailableError(UserError):
    """A named dataset could not be downloaded or unpacked; the message says what to do."""


class ChecksumMismatchError(DatasetUnavailableError):
    """A downloaded file's digest differs from the expected one; the file is not kept."""


class UnsafeArchiveError(DatasetUnavailableError):
    """An archive member would land outside the destination folder (absolute path, `..`, link)."""


@dataclass(frozen=True)
class DatasetSource:
    """One named dataset: its download URLs (https first), pix2pix direction and what it holds."""

    name: str
    urls: tuple[str, ...]
    direction: str  # "AtoB" or "BtoA": which half is the input in the usual task
    description: str
    sha256: str = ""  # of the archive, where one is published


def _pix2pix(name: str, direction: str, description: str) -> DatasetSource:
    host = PIX2PIX_HOST.format(name=name)
    return DatasetSource(name, (f"https://{host}", f"http://{host}"), direction, description)


DATASETS: dict[str, DatasetSource] = {
    s.name: s
    for s in (
        _pix2pix("edges2shoes", "AtoB", "50k UT Zappos50K shoe photos with HED edge maps: sketch -> shoe"),
        _pix2pix("edges2handbags", "AtoB", "137k iGAN handbag photos with HED edge maps: sketch -> bag"),
        _pix2pix("facades", "BtoA", "400 CMP building facades with architectural labels: labels -> photo"),
        _pix2pix("maps", "AtoB", "1096 Google Maps aerial photos and map tiles of New York: aerial -> map"),
        _pix2pix("cityscapes", "BtoA", "2975 Cityscapes street scenes with semantic labels: labels -> photo"),
        _pix2pix("night2day", "AtoB", "17k outdoor webcam frames (Transient Attributes): night -> day"),
    )
}


def get_source(name: str) -> DatasetSource:
    """The source of a named dataset; unknown names raise ValueError listing the known ones."""
    if name not in DATASETS:
        raise UserError(f"unknown dataset {name!r}; known datasets: {', '.join(DATASETS)}")
    return DATASETS[name]


def default_dataset_roots() -> list[Path]:
    """Folders searched for offline copies: $STUDIO_HOME/datasets (see engine.store.runs.default_home)."""
    from engine.store.runs import default_home

    return [default_home() / "datasets"]


def is_dataset_folder(folder: Path) -> bool:
    """True when `folder` has a train/val/test split folder holding at least one image."""
    for split in SPLITS:
        sub = folder / split
        if sub.is_dir() and any(p.suffix.lower() in IMAGE_EXTENSIONS for p in sub.iterdir()):
            return True
    return False


def find_local_dataset(name: str, roots: Iterable[str | Path] | None = None) -> Path | None:
    """An existing copy of dataset `name` as ROOT/name in the standard layout, else None.

    Any folder name works here (a user's own dataset too); `roots` defaults to
    default_dataset_roots()."""
    for root in default_dataset_roots() if roots is None else roots:
        candidate = Path(root).expanduser() / name
        if candidate.is_dir() and is_dataset_folder(candidate):
            return candidate
    return None


def _offline_hint(name: str, dest: Path) -> str:
    return (
        f"If this machine cannot download it, get {name} another way and either pass --data DIR, where DIR "
        f"holds train/ and val/ (or test/) folders of A|B side-by-side images (the pix2pix aligned "
        f"layout), or unpack it to {dest / name}."
    )


DOWNLOAD_ERRORS = (urllib.error.URLError, OSError, http.client.HTTPException, ValueError)


def fetch(url: str, target: Path, progress: bool, digest: tuple[str, str] = ("sha256", "")) -> str:
    """Stream `url` to target + '.part', hashing it, then rename: a partial file or one whose
    digest ("md5" or "sha256", expected hex; "" checks nothing) differs never looks complete.
    Returns the file's hex digest."""
    algorithm, expected = digest
    part = target.with_name(target.name + ".part")
    hasher = hashlib.new(algorithm)
    try:
        with urllib.request.urlopen(url, timeout=CONNECT_TIMEOUT_S) as response, open(part, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            done = 0
            with tqdm(total=total, unit="B", unit_scale=True, desc=target.name, disable=not progress) as bar:
                while chunk := response.read(CHUNK_BYTES):
                    out.write(chunk)
                    hasher.update(chunk)
                    done += len(chunk)
                    bar.update(len(chunk))
            if total is not None and done != total:
                raise http.client.IncompleteRead(b"", total - done)
        found = hasher.hexdigest()
        if expected and found != expected.lower():
            raise ChecksumMismatchError(
                f"{url} has {algorithm} {found}, expected {expected}: not kept (a damaged or altered file)"
            )
        os.replace(part, target)
        return found
    finally:
        part.unlink(missing_ok=True)


def fetch_any(
    urls: Iterable[str], target: Path, progress: bool, digest: tuple[str, str] = ("sha256", "")
) -> str:
    """`fetch` from the first URL that works (https before http); a checksum mismatch on one
    mirror moves on to the next. Raises DatasetUnavailableError naming every failure."""
    failures = []
    for url in urls:
        try:
            return fetch(url, target, progress, digest)
        except ChecksumMismatchError as err:
            failures.append(str(err))
        except DOWNLOAD_ERRORS as err:
            failures.append(f"{url}: {getattr(err, 'reason', None) or err}")
    raise DatasetUnavailableError("; ".join(failures))


def file_digest(path: Path, algorithm: str = "sha256") -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, algorithm).hexdigest()


def check_members(members: list[tarfile.TarInfo]) -> None:
    """Refuse members that could escape the destination, before anything is written."""
    for member in members:
        path = PurePosixPath(member.name)
        if path.is_absolute() or ".." in path.parts or member.name.startswith("\\"):
            raise UnsafeArchiveError(f"archive member {member.name!r} points outside the destination")
        link = PurePosixPath(member.linkname)
        if (member.issym() or member.islnk()) and (link.is_absolute() or ".." in link.parts):
            raise UnsafeArchiveError(f"archive link {member.name!r} -> {member.linkname!r} is not allowed")


def extract_archive(archive_path: Path, dest_root: Path, name: str) -> Path:
    """Unpack a .tar.gz safely into dest_root/name and return that folder. A single top-level
    folder in the archive (edges2shoes/...) is unwrapped. Unpacking happens in a hidden folder
    that is renamed at the end, so an interrupted run never leaves a half dataset behind."""
    staging = dest_root / f".{name}.unpacking"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        with tarfile.open(archive_path, "r:*") as archive:
            members = archive.getmembers()
            check_members(members)
            archive.extractall(staging, filter="data")
        entries = list(staging.iterdir())
        content = entries[0] if len(entries) == 1 and entries[0].is_dir() else staging
        target = dest_root / name
        if target.is_dir() and not any(target.iterdir()):
            target.rmdir()
        os.replace(content, target)
    except UnsafeArchiveError:
        raise
    except (tarfile.TarError, EOFError, OSError) as err:
        raise DatasetUnavailableError(f"cannot unpack {archive_path} into {dest_root / name}: {err}") from err
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def download_dataset(
    name: str, dest_root: str | Path, progress: bool = True, keep_archive: bool = False, sha256: str = ""
) -> Path:
    """Download and unpack a named dataset into dest_root (nothing is fetched when
    dest_root/name already holds it); returns the dataset folder (DIR/train, DIR/val, ...).
    `sha256` (else the source's own, where published) must match the archive."""
    source = get_source(name)
    dest_root = Path(dest_root).expanduser()
    existing = find_local_dataset(name, [dest_root])
    if existing is not None:
        return existing
    target = dest_root / name
    if target.is_dir() and any(target.iterdir()):
        raise DatasetUnavailableError(
            f"{target} exists but holds no train/val/test images; move it away to download {name} again"
        )
    dest_root.mkdir(parents=True, exist_ok=True)
    archive = dest_root / f"{name}.tar.gz"
    expected = sha256 or source.sha256
    if archive.is_file():  # kept from an earlier download (--keep-archive)
        found = file_digest(archive)
        if expected and found != expected.lower():
            archive.unlink()
            raise ChecksumMismatchError(f"{archive} has sha256 {found}, expected {expected}: removed")
    else:
        try:
            found = fetch_any(source.urls, archive, progress, ("sha256", expected))
        except DatasetUnavailableError as err:
            raise DatasetUnavailableError(
                f"downloading {name} failed ({err}). {_offline_hint(name, dest_root)}"
            ) from err
    try:
        folder = extract_archive(archive, dest_root, name)
    except DatasetUnavailableError:
        archive.unlink(missing_ok=True)  # a damaged download must not be reused next time
        raise
    if not keep_archive:
        archive.unlink(missing_ok=True)
    (folder / "SOURCE.txt").write_text(f"{name}: {', '.join(source.urls)}\nsha256 of the archive: {found}\n")
    if not is_dataset_folder(folder):
        raise DatasetUnavailableError(
            f"{archive.name} unpacked to {folder}, which has no train/val/test images"
        )
    return folder
