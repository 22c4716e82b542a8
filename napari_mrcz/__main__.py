"""``python -m napari_mrcz``: the ``napari-mrcz`` command line (see :mod:`napari_mrcz.cli`)."""

from __future__ import annotations

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
