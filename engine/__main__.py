"""`python -m engine ...`: the command line over the library."""

import atexit
import os
import sys
import threading

from engine.runtime.threads import apply_cli_thread_policy

# Before torch starts OpenMP: idle threads spin about a millisecond, then sleep; training's
# sleep at once, as it shares a small machine with the studio for hours (engine/runtime/threads.py).
apply_cli_thread_policy(sys.argv[1:])

from engine.cli import main  # noqa: E402


def exit_now(code: int) -> None:
    """End the process once the command is done without tearing the interpreter down (with
    torch loaded that took about 0.45 s of every command, a Gatys picture's included). Only when
    nothing else runs: another Python thread gets the normal exit, which waits for it. Exit
    handlers (temporary folders, child processes, logging) still run, and output is flushed."""
    if threading.active_count() > 1:
        raise SystemExit(code)
    atexit._run_exitfuncs()  # logging's shutdown among them
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing left to say
            pass
    os._exit(code)


exit_now(main())
