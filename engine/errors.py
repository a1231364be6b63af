"""The one exception type for input a user can fix: a missing file, a bad image, a wrong flag.

The command line and the demos turn a UserError into one line; any other exception is a bug in
the studio and shows as one (a traceback), instead of being dressed up as `error: 'G'`.
"""

from __future__ import annotations


class UserError(ValueError):
    """Something the person running the studio can fix; the message says what and how."""
