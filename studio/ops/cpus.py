"""Keep a worker process's threads on the cores it is given (`STUDIO_WORKER_CPUS`).

A worker runs Python one thread at a time (the GIL): its event loop parses every stream while its
database and storage threads take turns with it. Spread over several cores, those threads hand the
GIL from core to core, and their GIL-free parts (SQLite, hashing, file writes) run beside the loop
and slow it. Kept on one core, the crowd bench's worker did its 200 generations with a third less
CPU, in 1.13x the floor's time instead of 1.24x (bench/studio_generation.py against `--unpinned`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from pathlib import Path


class CpuSpecError(ValueError):
    pass


def parse_cpus(spec: str) -> frozenset[int]:
    """`"0"`, `"0,2"`, `"2-3"` or a mix (`"0, 2-3"`): the cores named."""
    cores: set[int] = set()
    for item in spec.split(","):
        first, dash, last = item.strip().partition("-")
        if not first.isdigit() or (dash and not last.isdigit()):
            raise CpuSpecError(f"{spec!r} is not a list of cores such as 0 or 0,2 or 2-3.")
        low, high = int(first), int(last) if dash else int(first)
        if high < low:
            raise CpuSpecError(f"{item.strip()!r} runs backwards: write the lower core first.")
        cores.update(range(low, high + 1))
    return frozenset(cores)


def allowed_cpus() -> frozenset[int] | None:
    """The cores this process may run on; None where the system does not say (not Linux)."""
    if not hasattr(os, "sched_getaffinity"):
        return None
    return frozenset(os.sched_getaffinity(0))


def pin_threads(cores: Iterable[int]) -> frozenset[int]:
    """Run every thread of this process, and every thread it starts from now on, on `cores` only.
    Raises CpuSpecError for cores the process may not use (or where affinity cannot be set)."""
    wanted = frozenset(cores)
    allowed = allowed_cpus()
    if allowed is None:
        raise CpuSpecError("This system cannot keep a process on chosen cores; leave STUDIO_WORKER_CPUS empty.")
    if not wanted or not wanted <= allowed:
        raise CpuSpecError(f"Cores {sorted(wanted)} are not all available: this process may use {sorted(allowed)}.")
    # Linux sets affinity per thread; a new thread takes its starter's, so the threads already
    # running are set one by one and the calling thread last.
    for task in Path("/proc/self/task").iterdir():
        if int(task.name) != threading.get_native_id():
            try:
                os.sched_setaffinity(int(task.name), wanted)
            except ProcessLookupError:  # it ended meanwhile
                continue
    os.sched_setaffinity(0, wanted)
    return wanted
