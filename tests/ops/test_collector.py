"""A runner freezes the heap start-up built, so full collections stop walking it, and collects its
young generation less often."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from studio.generation.assembly import build_runner
from studio.ops.collector import YOUNG_THRESHOLD


@pytest.fixture
def thawed() -> Iterator[None]:
    gc.unfreeze()
    thresholds = gc.get_threshold()
    gc.set_threshold(700, *thresholds[1:])
    yield
    gc.unfreeze()  # the rest of the test session collects as usual
    gc.set_threshold(*thresholds)


class Cycle:
    def __init__(self) -> None:
        self.me = self


def test_a_built_runner_freezes_the_startup_heap_and_later_garbage_is_still_collected(thawed: None) -> None:
    assert gc.get_freeze_count() == 0
    older = gc.get_threshold()[1:]
    build_runner(concurrency=2)
    frozen = gc.get_freeze_count()
    assert frozen > 10_000, "Django, the SDK and the studio's modules are out of the collector's reach"
    assert gc.get_threshold() == (YOUNG_THRESHOLD, *older), "young garbage collected less often, the rest as before"

    later = Cycle()
    gone = weakref.ref(later)
    del later
    gc.collect()
    assert gone() is None, "a cycle made after start-up is still collected"
    assert gc.get_freeze_count() == frozen
