"""Downloads that never leave a half or altered file: streamed to a temporary file while hashed,
renamed only when complete and, where a digest is expected, matching; https mirrors first."""

from __future__ import annotations

import hashlib
import http.client
import os
import urllib.error
import urllib.request
from collections.abc import Iterable
from pathlib import Path

from tqdm import tqdm

from engine.errors import UserError

CONNECT_TIMEOUT_S = 10.0  # also the longest wait for any read of the download
CHUNK_BYTES = 1 << 20


class DatasetUnavailableError(UserError):
    """A named dataset could not be downloaded or unpacked; the message says what to do."""


class ChecksumMismatchError(DatasetUnavailableError):
    """A downloaded file's digest differs from the expected one; the file is not kept."""


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
