"""One thread for a server's interactive inference, so that PyTorch keeps one OpenMP team.

libgomp gives every thread that starts a parallel operation a team of its own. A server that
runs its models on whichever worker thread takes the request ends up with several teams, more
OpenMP threads than cores, and libgomp then lets idle threads spin only ~100 times before they
sleep. Every one of a stroke's hundred-odd operations then pays a futex wake-up of the other
core's thread (about 0.1 ms on the development VM): bench/sketch_latency.py measured a live
stroke 10 ms slower for it. With every model call of the live canvases on this one thread
(loading included, so the main thread never makes a team), the server has a single team of one
thread per core, whose idle threads spin for a bounded while (`BRIEF_SPIN`, set by
`engine.runtime.threads.apply_server_thread_policy`) and then sleep.

Long jobs (a Gatys picture, a deep image prior) stay on Gradio's own threads: they would hold
up every stroke here.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

_thread_ident: list[int] = []  # the inference thread's ident, once it has started


def _mark() -> None:
    _thread_ident[:] = [threading.get_ident()]


_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inference", initializer=_mark)


def on_inference_thread() -> bool:
    return bool(_thread_ident) and threading.get_ident() == _thread_ident[0]


def run_inference(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`fn(*args, **kwargs)` on the inference thread (directly when already on it), waiting for
    its answer; its exception is raised here."""
    if on_inference_thread():
        return fn(*args, **kwargs)
    return _executor.submit(fn, *args, **kwargs).result()


async def run_inference_async(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`run_inference` for a coroutine: the event loop goes on while the model runs."""
    return await asyncio.wrap_future(_executor.submit(fn, *args, **kwargs))


def inference(fn: Callable[P, T]) -> Callable[P, T]:
    """Decorator: every call of `fn` runs on the inference thread."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        return run_inference(fn, *args, **kwargs)

    return wrapper
