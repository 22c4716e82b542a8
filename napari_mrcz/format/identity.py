"""Files that do not say they are MRC: the MAP ID and machine stamp, and how strictly to insist on them.

MRC2014 files carry ``MAP `` at byte 208 and a machine stamp at 212. Old-style (pre-2000) MRC files
have neither: particle stacks from older RELION and EMAN writers, FEI tilt series; Amira and a few
others write garbage there. ChimeraX and IMOD open them from the rest of the header. Every reader
here takes one of three levels (``strict=``), shared by ``read``, ``open_mrc``, the napari reader and
``convert``:

- ``True``: refuse a file with neither a MAP ID nor a known machine stamp (a missing MAP ID alone,
  with a valid stamp, only warns);
- ``"auto"`` (the default): also open one whose header agrees exactly with the file, as ChimeraX does:
  sane dimensions, mode and axis order, and a plain file exactly as long as they imply, with a
  :class:`MrczWarning` naming what is missing;
- ``False``: open anything whose data can be read (e.g. with bytes after the data), with the warning.

Pure functions; no I/O.
"""

from __future__ import annotations

from typing import Literal, Union

from ..errors import Finding, HeaderError, MrczError
from .constants import MAP_ID
from .modes import byte_order_from_machst

Strictness = Union[bool, Literal["auto"]]
STRICTNESS = (True, "auto", False)


def check_strictness(strict: object) -> Strictness:
    """``strict`` when it is True, False or "auto".

    Raises
    ------
    MrczError
        Any other value.
    """
    if isinstance(strict, bool) or strict == "auto":
        return strict  # type: ignore[return-value]
    raise MrczError(f"strict must be True, False or 'auto', not {strict!r}")


def identity_problem(map_id: bytes, machst: bytes) -> str | None:
    """What is wrong with the MAP ID and machine stamp, in words; None when the MAP ID is 'MAP '."""
    if map_id == MAP_ID:
        return None
    found = "zeros" if not any(map_id) else repr(map_id)
    text = f"no 'MAP ' ID at byte 208 (found {found})"
    if byte_order_from_machst(machst) is None:
        stamp = "zero" if not any(machst) else machst.hex(" ")
        text += f" and no machine stamp (found {stamp})"
        text += ": an old-style MRC file" if not any(map_id) else ": not an MRC2014 file"
    return text


def check_identity(
    map_id: bytes, machst: bytes, source: str, strict: Strictness, *, consistent: bool, byte_order: str
) -> Finding | None:
    """Apply the ``strict`` level to a header's MAP ID and machine stamp.

    ``consistent``: the header agrees exactly with the file (sane words, a plain file exactly as long
    as the header implies). ``byte_order``: the order the header was read in, for the warning.

    Raises
    ------
    HeaderError
        Neither a MAP ID nor a known stamp, and ``strict`` is True, or "auto" and not ``consistent``.

    Returns
    -------
    Finding or None
        A missing or wrong MAP ID where the file is opened anyway (readers warn with it).
    """
    problem = identity_problem(map_id, machst)
    if problem is None:
        return
    stamped = byte_order_from_machst(machst) is not None
    if strict is True and not stamped:
        raise HeaderError(
            f"{source}: {problem}; open it with strict='auto' (napari-mrcz convert: the default) if its "
            "header agrees with the file, or strict=False"
        )
    if strict == "auto" and not stamped and not consistent:
        raise HeaderError(
            f"{source}: {problem}, and the header does not agree exactly with the file size; "
            "if it is an MRC file, open it with strict=False (napari-mrcz convert --permissive)"
        )
    order = "little" if byte_order == "<" else "big"
    how = f"read as {order}-endian MRC" + (", its header agrees with the file" if consistent else "")
    return Finding(source, f"{problem}; {how}")
