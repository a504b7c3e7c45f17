"""Ask glibc to give large freed buffers back to the system (long-running processes on Linux)."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys

_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c") if sys.platform == "linux" else None
    libc = ctypes.CDLL(name) if name else None
    return libc if libc is not None and hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


def return_large_buffers(threshold_bytes: int = 1024 * 1024, arenas: int = 2) -> bool:
    """Every allocation of `threshold_bytes` or more is mapped on its own and unmapped when freed.

    glibc raises its mmap threshold after the first large free, so later decoded images (a 4K
    canvas is 25-50 MB) come from arenas that keep the memory; setting the threshold stops that.
    Fewer arenas also keep threads from each holding their own. False where this is not glibc.
    """
    libc = _glibc()
    if libc is None:
        return False
    return bool(libc.mallopt(_M_MMAP_THRESHOLD, threshold_bytes)) and bool(libc.mallopt(_M_ARENA_MAX, arenas))


def trim_free_heap() -> None:
    """Give the heap's free pages back to the system (a few milliseconds; call when going idle)."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
