"""Reading: open a file without its voxels (:mod:`.file`), index its chunks (:mod:`.chunk_index`), read
whole (:mod:`.read`), by region or by partial decode, as lazy array-likes, dask arrays or multiscale
pyramids, and find tilt angles.

May import: :mod:`napari_mrcz.errors`, :mod:`napari_mrcz.format`, :mod:`napari_mrcz.values`,
:mod:`napari_mrcz.io.storage`, :mod:`napari_mrcz.io.codec`, the standard library, numpy and dask.
"""
