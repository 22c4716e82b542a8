"""The FUSE front-end: a read-only file system in which every ``.mrcz`` shows as the plain
MRC2014 file ``napari-mrcz convert --no-metadata --no-stats`` would write, so IMOD, RELION, gemmi,
mrcfile and ``cat`` read MRCZ without converting it. See ``docs/mount.md``.

A front-end: the bytes come from :mod:`napari_mrcz.io.writer.plain_view`; this package parses none. May
import :mod:`napari_mrcz.io`, :mod:`napari_mrcz.format`, :mod:`napari_mrcz.errors` and mfusepy
(``pip install napari-mrcz[mount]``, with libfuse 3: Debian's ``fuse3``). ``import napari_mrcz`` does
not import it; ``napari_mrcz.mount(src, mountpoint)`` is :func:`~napari_mrcz.fuse.control.mount`, loaded on
first use.
"""

from __future__ import annotations

from .control import check_places, mount, run, unmount

__all__ = ["check_places", "mount", "run", "unmount"]
