"""Bridges to the zarr world: kerchunk references that let zarr and xarray read MRC/MRCZ voxels in place
(:mod:`.references`), OME-Zarr written from (:mod:`.ome_write`, :mod:`.pyramid`) and read into
(:mod:`.ome_read`) napari-mrcz's core, conversions (:mod:`.convert`), and the public ``read``,
``write`` and ``convert_file`` that send OME-Zarr names here and others to the core (:mod:`.dispatch`).

Needs the ``napari-mrcz[zarr]`` extra (zarr-python 3, numcodecs, fsspec, kerchunk, ome-zarr-py);
``import napari_mrcz`` imports :mod:`.dispatch` only, which imports none of those. Comes after
:mod:`napari_mrcz.io.writer` (before :mod:`napari_mrcz.io.batch`): may import what :mod:`napari_mrcz.io`
may, including io.storage, io.reader and io.writer, plus zarr, numcodecs, fsspec and ome_zarr (lazily,
inside functions); never the front-ends (plugin, cli, rsciio) or napari.
"""
