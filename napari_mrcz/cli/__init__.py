"""The ``napari-mrcz`` command-line tool: ``info``, ``convert``, ``validate`` and ``view``.

Parses no bytes: everything goes through :mod:`napari_mrcz.io`. May import :mod:`napari_mrcz.io`,
:mod:`napari_mrcz.format`, :mod:`napari_mrcz.errors`, tqdm, and napari for ``view`` only (lazily).
"""

from .main import main

__all__ = ["main"]
