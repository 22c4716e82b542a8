"""The napari plugin: the reader and writer hooks, the "Save as MRCZ" widget, sample data and the
translation between files and layer arguments. ``napari.yaml`` points at these modules.

Parses no bytes: everything goes through :mod:`napari_mrcz.io`. May import :mod:`napari_mrcz.io`,
:mod:`napari_mrcz.format` (names, units, metadata encoding), :mod:`napari_mrcz.errors`, napari,
npe2 and magicgui (lazily where start-up cost matters); never :mod:`napari_mrcz.cli`.
"""
