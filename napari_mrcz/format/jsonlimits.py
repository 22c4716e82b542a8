"""Limits of the JSON extended header, checked before anything is encoded or written.

NSYMBT, the extended header's size, is a signed 32-bit word (MRC2014), so the JSON can hold at most
2^31 - 1 bytes; and JSON nested deeper than Python's recursion limit allows cannot be encoded, nor read
back by the JSON decoder. :func:`check_metadata_limits` walks the metadata once, without recursion and
without encoding it, counting a lower bound of its encoded size (every string's length, at least
one byte per number, the commas and brackets), so metadata that cannot fit is refused at once, even
when encoding it would take gigabytes (a large numpy array, or one big string referred to many times).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import MrczError

MAX_EXTENDED_BYTES = 2**31 - 1
"""NSYMBT is a signed 32-bit word."""
MAX_DEPTH = 256
"""Deepest nesting of dicts and lists written; Python's JSON decoder, within the default recursion limit
of 1000 and below a caller's own stack (napari's is deep), reads this back."""


def _children(value: Any) -> list[Any] | None:
    if isinstance(value, Mapping):
        return [*value.keys(), *value.values()]
    if isinstance(value, (list, tuple, set, frozenset)):
        return list(value)
    return None


def _leaf_bytes(value: Any) -> int:
    """A lower bound of one scalar's JSON size: strings as their length plus quotes."""
    if isinstance(value, str):
        return len(value) + 2
    if isinstance(value, np.ndarray):  # [a, b, ...]: at least a digit and ", " per element
        return 2 + 3 * value.size - 2 if value.size else 2
    return 1


def check_metadata_limits(metadata: Any, limit: int = MAX_EXTENDED_BYTES) -> None:
    """Refuse metadata whose JSON would exceed ``limit`` bytes or :data:`MAX_DEPTH` levels.

    Containers met again through another path count again (the JSON repeats them), without being walked
    again. A container inside itself is left to the encoder, which names the circular reference.

    Raises
    ------
    MrczError
        Too deep, or at least ``limit`` + 1 bytes of JSON.
    """
    sizes: dict[int, int] = {}  # id -> encoded lower bound of containers already walked
    depth_of: dict[int, int] = {}
    stack: list[tuple[Any, int, bool]] = [(metadata, 1, False)]
    keep: list[Any] = []  # ids stay unique while the walk holds the objects
    while stack:
        value, depth, done = stack.pop()
        children = _children(value)
        if children is None:
            continue
        key = id(value)
        if done:
            total = 2 + max(0, 2 * (len(children) - 1))
            total += sum(sizes.get(id(c), 0) if _children(c) is not None else _leaf_bytes(c) for c in children)
            sizes[key] = total
            if total > limit:
                raise MrczError(
                    f"metadata would take at least {total} bytes as JSON; the extended header holds at most "
                    f"{limit} bytes (NSYMBT is a 32-bit word): store large data elsewhere"
                )
            continue
        if key in sizes or key in depth_of:
            continue  # walked already (shared), or being walked (a cycle: the encoder names it)
        if depth > MAX_DEPTH:
            raise MrczError(
                f"metadata is nested more than {MAX_DEPTH} levels deep; JSON that deep cannot be read back"
            )
        depth_of[key] = depth
        keep.append(value)
        stack.append((value, depth, True))
        stack.extend((child, depth + 1, False) for child in children)
