"""`python -m engine ...`: the command line over the library."""

import sys

from engine.runtime.threads import apply_cli_thread_policy

# Before torch starts OpenMP: idle threads spin about a millisecond, then sleep; training's
# sleep at once, as it shares a small machine with the studio for hours (engine/runtime/threads.py).
apply_cli_thread_policy(sys.argv[1:])

from engine.cli import main  # noqa: E402

raise SystemExit(main())
