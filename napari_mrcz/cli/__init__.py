"""The ``napari-mrcz`` command-line tool: ``info``, ``convert``, ``validate``, ``view``, ``mount`` and ``pyramid``.

Parses no bytes: everything goes through :mod:`napari_mrcz.io`. May import :mod:`napari_mrcz.io`,
:mod:`napari_mrcz.format`, :mod:`napari_mrcz.errors`, tqdm, napari for ``view`` only and the
:mod:`napari_mrcz.fuse` front-end for ``mount`` only (both lazily).
"""

from .main import main

__all__ = ["main"]
