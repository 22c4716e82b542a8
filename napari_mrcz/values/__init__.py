"""Numerics on voxel values, no I/O: which dtype MRC stores for an array (:mod:`.dtypes`), bounded-error
rounding (:mod:`.quantize`), what the writer does to each slice's values (:mod:`.precision`) and a
tolerance proposed from the data's noise (:mod:`.noise`) and the values of pyramid levels
(:mod:`.levels`).

Pure functions over numpy arrays (and array-likes indexed slice by slice). May import: the standard
library, numpy, :mod:`napari_mrcz.errors` and :mod:`napari_mrcz.format`; nothing else of this package.
"""
