"""The MRC2014/MRCZ format as bytes: header layout, parsing and building, data modes, blosc chunk
headers, JSON metadata, and the lossless dtype policy.

Pure functions over ``bytes`` and numpy arrays: no file, network or thread I/O happens here, so every
function can be tested on bytes in memory. May import: the standard library, numpy and
:mod:`napari_mrcz.errors`; nothing else of this package.
"""
