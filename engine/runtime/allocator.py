"""glibc malloc tuning, so big tensors stay mapped between training steps."""

from __future__ import annotations

import ctypes
import functools
import sys


@functools.cache
def keep_large_buffers_mapped() -> bool:
    """Stop glibc from unmapping and re-faulting big tensors every step.

    By default glibc returns freed blocks over its (adaptive) mmap threshold to the kernel, so a
    256 px U-Net re-maps its large buffers on every forward (tens of thousands of page faults per
    step). Raising the mmap and trim thresholds, as MALLOC_MMAP_THRESHOLD_/MALLOC_TRIM_THRESHOLD_
    would before start-up, keeps them. Linux/glibc only; a no-op elsewhere.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    return bool(libc.mallopt(m_mmap_threshold, 32 * 2**20)) and bool(
        libc.mallopt(m_trim_threshold, 2**31 - 1)
    )
