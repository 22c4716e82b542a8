"""The blosc codec of MRCZ z-slices: :class:`~napari_mrcz.io.codec.blosc.MrczBlosc` (blosc1 writes,
blosc2 decodes, a shared thread pool) and the c-blosc2 binding used for partial decodes.

May import: the standard library, numpy, blosc, blosc2, :mod:`napari_mrcz.errors` and
:mod:`napari_mrcz.format`; never the reader, writer or front-ends.
"""
