"""Bridges to the zarr world: kerchunk references that let zarr and xarray read MRC/MRCZ voxels in place
(:mod:`.references`), and OME-Zarr written from (:mod:`.ome_write`) and read into (:mod:`.ome_read`)
napari-mrcz's core.

Needs the ``napari-mrcz[zarr]`` extra (zarr-python 3, numcodecs, fsspec, kerchunk, ome-zarr-py);
nothing here is imported by ``import napari_mrcz``. May import what :mod:`napari_mrcz.io` may, plus
zarr, numcodecs, fsspec and ome_zarr; never the front-ends (plugin, cli, rsciio) or napari.
"""
