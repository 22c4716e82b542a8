"""Header statistics (DMIN, DMAX, DMEAN, RMS): computed slice by slice in one pass (:mod:`.compute`,
exact integer sums in :mod:`.integer`) and checked against a file's data (:mod:`.check`).

May import: :mod:`napari_mrcz.errors`, :mod:`napari_mrcz.format`, :mod:`napari_mrcz.values`,
:mod:`napari_mrcz.io.reader` and below, the standard library and numpy.
"""
