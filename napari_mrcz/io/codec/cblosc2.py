"""c-blosc2's ``blosc2_getitem``, from the shared library python-blosc2 ships, through ctypes.

python-blosc2 does not expose getitem (decoding a byte range of a chunk: only the blocks holding it),
which partial decodes need, so the library is found without importing the blosc2 package (a slow
import) and loaded once. This copy of c-blosc2 is initialised separately from python-blosc2's own; on
loading, it compresses and partially decodes a known buffer, and a library that fails that self-test is
not used (:func:`available` is False and readers decode whole slices).
"""

from __future__ import annotations

import ctypes
import importlib.util
import threading
from pathlib import Path

import numpy as np

from ...errors import ChunkError

_LIB_NAMES = ("libblosc2.so", "libblosc2.so.*", "libblosc2*.dylib", "libblosc2.dll", "blosc2.dll")
_lock = threading.Lock()
_getitem: ctypes._CFuncPtr | None = None  # type: ignore[name-defined]
_loaded = False


def _library_paths() -> list[Path]:
    """python-blosc2's shared c-blosc2, found without importing the blosc2 package (a slow import)."""
    spec = importlib.util.find_spec("blosc2")
    if spec is None or not spec.submodule_search_locations:
        return []
    found: list[Path] = []
    for root in map(Path, spec.submodule_search_locations):
        for folder in (root / "lib", root, root.parent / "blosc2.libs"):
            for pattern in _LIB_NAMES:
                found += sorted(folder.glob(pattern))
    return found


def _load() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    """``blosc2_getitem`` from python-blosc2's shared c-blosc2, initialised and self-tested once; None
    when absent or when it fails the self-test."""
    global _getitem, _loaded
    with _lock:
        if not _loaded:
            _loaded = True
            for path in _library_paths():
                try:
                    lib = ctypes.CDLL(str(path))
                    func, compress = lib.blosc2_getitem, lib.blosc2_compress
                except (OSError, AttributeError):
                    continue
                lib.blosc2_init()  # this copy of c-blosc2 is separate from python-blosc2's own
                func.argtypes = [ctypes.c_void_p, ctypes.c_int32, ctypes.c_int, ctypes.c_int,
                                 ctypes.c_void_p, ctypes.c_int32]
                func.restype = ctypes.c_int
                compress.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int32, ctypes.c_void_p,
                                     ctypes.c_int32, ctypes.c_void_p, ctypes.c_int32]
                compress.restype = ctypes.c_int
                if _self_test(func, compress):
                    _getitem = func
                    break
        return _getitem


def _self_test(func: ctypes._CFuncPtr, compress: ctypes._CFuncPtr) -> bool:  # type: ignore[name-defined]
    """Compress a known ramp (byte shuffle, 4-byte items) and decode a range from its middle: True
    when the library gives back exactly those values."""
    ramp = np.arange(1 << 16, dtype=np.uint32)
    chunk = np.empty(ramp.nbytes + 64, dtype=np.uint8)
    size = compress(5, 1, 4, ramp.ctypes.data, ramp.nbytes, chunk.ctypes.data, chunk.nbytes)
    if size <= 0:
        return False
    out = np.zeros(1000, dtype=np.uint32)
    got = func(chunk.ctypes.data, size, 40000, out.size, out.ctypes.data, out.nbytes)
    return got == out.nbytes and np.array_equal(out, ramp[40000:41000])


def available() -> bool:
    """True when c-blosc2's getitem could be loaded, so partial decodes are possible."""
    return _load() is not None


def getitem(chunk: bytes | np.ndarray, typesize: int, start: int, out: np.ndarray, what: str) -> None:
    """Decode bytes ``start : start + out.nbytes`` of ``chunk`` (a whole blosc chunk: bytes, or a
    C-contiguous uint8 array as :func:`chunk_for_range` returns it, counting items of ``typesize``
    bytes) into ``out`` (C-contiguous). ctypes releases the GIL during the call.

    Raises
    ------
    ChunkError
        blosc reports an error or decodes fewer bytes than asked, or the library is missing.
    """
    func = _load()
    if func is None:
        raise ChunkError(f"{what}: c-blosc2's shared library is not available for partial decoding")
    buffer = chunk.ctypes.data if isinstance(chunk, np.ndarray) else chunk
    got = func(buffer, len(chunk), start // typesize, out.nbytes // typesize, out.ctypes.data, out.nbytes)
    if got != out.nbytes:
        reason = f"blosc error {got}" if got < 0 else f"{got} of {out.nbytes} bytes decoded"
        raise ChunkError(f"{what}: corrupt compressed data ({reason})")


