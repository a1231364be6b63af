"""The one exception type for input a user can fix: a missing file, a bad image, a wrong flag.

The command line and the demos turn a UserError into one line; any other exception is a bug in
the studio and shows as one (a traceback), instead of being dressed up as `error: 'G'`.
"""

from __future__ import annotations

import errno
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class UserError(ValueError):
    """Something the person running the studio can fix; the message says what and how."""


class DiskFull(UserError):
    """The disk filled up while writing; the message says what was being written."""


def is_disk_full(err: BaseException) -> bool:
    """ENOSPC as an OSError, or inside another library's error (safetensors wraps the OS error
    in its own type and puts the code in the message)."""
    if isinstance(err, OSError):
        return err.errno == errno.ENOSPC
    text = str(err)
    return "No space left" in text or "StorageFull" in text or "code: 28," in text


@contextmanager
def disk_full_is_one_line(
    what: str, then: str = "", cleanup: Callable[[], object] | None = None
) -> Iterator[None]:
    """A full disk while writing `what` becomes one line (DiskFull) instead of a writer's
    traceback; `cleanup` removes what was half written."""
    try:
        yield
    except Exception as err:
        if not is_disk_full(err):
            raise
        if cleanup is not None:
            cleanup()
        raise DiskFull(f"no space left on the disk while writing {what}{then}") from err
