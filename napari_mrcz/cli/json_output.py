"""JSON for ``info --json`` and ``validate --json`` that every parser accepts, whatever the terminal.

Output is ASCII only (other characters as ``\\uXXXX`` escapes), so a stdout that cannot encode "Å"
(``LANG=C``, ``PYTHONIOENCODING=ascii`` or latin-1, a Windows console) still receives valid JSON.
JSON has no NaN or infinity: such numbers (possible in a file's JSON metadata, which Python's json
module writes and reads) become the strings "NaN", "Infinity" and "-Infinity". File names that Python
could not decode in an ASCII locale (it keeps their bytes as lone surrogates) are decoded as UTF-8,
the encoding Linux file names are almost always in.
"""

from __future__ import annotations

import json
import math
from typing import Any

_NON_FINITE = {math.inf: "Infinity", -math.inf: "-Infinity"}


def _strict(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return value.encode("utf-8", "surrogateescape").decode("utf-8", "surrogateescape")
        except UnicodeEncodeError:  # a lone surrogate from a JSON "\ud83e" escape: kept as it is
            return value
    if isinstance(value, float) and not math.isfinite(value):
        return _NON_FINITE.get(value, "NaN")
    if isinstance(value, dict):
        return {key: _strict(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict(item) for item in value]
    return value


def json_text(value: Any) -> str:
    """``value`` as indented, ASCII-only, standard JSON (objects it cannot hold as their ``str``)."""
    return json.dumps(_strict(value), indent=2, ensure_ascii=True, allow_nan=False, default=str)
