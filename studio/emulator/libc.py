"""The two C library calls the emulator's process needs on Linux; elsewhere they do nothing."""

from __future__ import annotations

import ctypes
import ctypes.util
import signal
import sys

_LIBC = ctypes.CDLL(ctypes.util.find_library("c")) if sys.platform == "linux" else None
_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Between fork and exec: the child gets SIGTERM when the process that started it dies."""
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def give_back_free_heap() -> None:
    """Return the free parts of the heap to the system (glibc keeps them for reuse otherwise)."""
    if _LIBC is not None and hasattr(_LIBC, "malloc_trim"):
        _LIBC.malloc_trim(0)
