"""A byte-bounded LRU of rendered images: identical requests render once (same request, same bytes)."""

from __future__ import annotations

import threading
from collections import OrderedDict

from .imaging import ImageSpec, RenderedImage, render, spec_digest


class RenderCache:
    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._items: OrderedDict[bytes, RenderedImage] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def __call__(self, spec: ImageSpec) -> RenderedImage:
        key = spec_digest(spec)
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
                return hit
        image = render(spec)
        with self._lock:
            if key not in self._items and len(image.data) <= self._max_bytes:
                self._items[key] = image
                self._bytes += len(image.data)
                while self._bytes > self._max_bytes:
                    _, evicted = self._items.popitem(last=False)
                    self._bytes -= len(evicted.data)
        return image

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0
