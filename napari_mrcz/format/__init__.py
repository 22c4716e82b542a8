"""The MRC2014/MRCZ format as bytes: header layout, parsing and building, data modes, byte order,
file identity, geometry (voxel size, origin), kept fields, file names (every suffix rule), JSON metadata,
extended headers, sidecar files, blosc chunk headers and blocks, and the seek table.

Pure functions over ``bytes`` and numpy arrays: no file, network or thread I/O happens here, so every
function can be tested on bytes in memory. May import: the standard library, numpy and
:mod:`napari_mrcz.errors`; nothing else of this package.
"""
