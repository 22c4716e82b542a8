"""A process-wide least-recently-used cache of arrays, bounded by their total bytes.

Multiscale levels keep the planes they compute here, so moving the z slider back and forth, or the
thumbnail napari draws from the coarsest level at every step, does not recompute them. One budget
for every open file: memory stays bounded however many layers are open.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

import numpy as np


class ArrayCache:
    """Thread-safe LRU of numpy arrays; at most ``budget`` bytes (read at each insertion, so it can
    be changed while in use). Arrays larger than a quarter of the budget are not kept."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self._items: OrderedDict[Hashable, np.ndarray] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @property
    def nbytes(self) -> int:
        """Bytes held now."""
        return self._bytes

    def get(self, key: Hashable) -> np.ndarray | None:
        """The array stored under ``key`` (now the most recently used), or None."""
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: Hashable, value: np.ndarray) -> None:
        """Keep ``value`` (made read-only) under ``key``, evicting the least recently used arrays."""
        if value.nbytes * 4 > self.budget:
            return
        value.flags.writeable = False
        with self._lock:
            old = self._items.pop(key, None)
            self._bytes -= 0 if old is None else old.nbytes
            self._items[key] = value
            self._bytes += value.nbytes
            while self._bytes > self.budget and self._items:
                _, dropped = self._items.popitem(last=False)
                self._bytes -= dropped.nbytes

    def drop(self, owner: Hashable) -> None:
        """Forget every array whose key is a tuple starting with ``owner``."""
        with self._lock:
            for key in [k for k in self._items if isinstance(k, tuple) and k and k[0] == owner]:
                self._bytes -= self._items.pop(key).nbytes

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._items.clear()
            self._bytes = 0
