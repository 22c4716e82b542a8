"""napari sample data: a synthetic cryo-electron tomogram, written once as MRCZ and opened lazily.

The volume is generated deterministically (fixed seed): a vesicle membrane, a filament and
ribosome-sized particles in band-limited noise, 64 x 256 x 256 float32 voxels of 13.6 Å (about
87 x 348 x 348 nm). It is written with zstd the first time to the user's cache folder (platformdirs:
``$XDG_CACHE_HOME/napari-mrcz/<version>`` or ``~/.cache/...`` on Linux, the platform's cache folder
elsewhere; ``NAPARI_MRCZ_SAMPLE_DIR`` chooses another) and reused after. The folder is made private to
the user (mode 0700) and must belong to them: a folder someone else made is refused, never written into.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import numpy as np

SHAPE = (64, 256, 256)
VOXEL_A = 13.6
SEED = 20_14_0  # MRC2014
FILE_NAME = "napari-mrcz-sample-tomogram.mrcz"
PARTICLES = 40


def sample_path() -> Path:
    """Where the sample file is kept: in ``$NAPARI_MRCZ_SAMPLE_DIR``, else the user's cache folder for
    this version of napari-mrcz (see the module notes). Nothing is created here."""
    from platformdirs import user_cache_dir

    from .._version import __version__

    folder = os.environ.get("NAPARI_MRCZ_SAMPLE_DIR") or user_cache_dir("napari-mrcz", version=__version__)
    return Path(folder) / FILE_NAME


def private_folder(folder: Path) -> Path:
    """Create ``folder`` (and its parents) for this user only, or check the one there.

    Raises
    ------
    MrczError
        ``folder`` is not a folder, or (POSIX) belongs to another user or others may write in it.
    """
    from ..errors import MrczError

    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = os.stat(folder)  # follows a symbolic link: what we would write into
    if not stat.S_ISDIR(info.st_mode):
        raise MrczError(f"{folder} is not a folder; set NAPARI_MRCZ_SAMPLE_DIR to a folder of yours")
    if hasattr(os, "getuid") and (info.st_uid != os.getuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)):
        raise MrczError(
            f"{folder} belongs to another user or others may write in it; the sample is not written there "
            "(set NAPARI_MRCZ_SAMPLE_DIR to a folder of yours)"
        )
    return folder


def make_tomogram(shape: tuple[int, int, int] = SHAPE, seed: int = SEED) -> np.ndarray:
    """The synthetic tomogram (z, y, x), float32; dense matter is dark, as in cryo-ET."""
    rng = np.random.default_rng(seed)
    nz, ny, nx = shape
    z, y, x = np.ogrid[:nz, :ny, :nx]
    density = np.zeros(shape, np.float32)
    # a vesicle: a 4 nm lipid shell, cut by the slab
    r = np.sqrt(((z - nz * 0.5) * 1.0) ** 2 + (y - ny * 0.42) ** 2 + (x - nx * 0.38) ** 2)
    density += np.exp(-(((r - ny * 0.27) / 1.6) ** 2)).astype(np.float32)
    # a filament along a diagonal, 7 nm across
    d = np.abs((y - ny * 0.15) - 0.55 * (x - nx * 0.1)) / np.hypot(1, 0.55)
    density += 0.8 * np.exp(-((d / 2.6) ** 2 + ((z - nz * 0.55) / 2.6) ** 2)).astype(np.float32)
    # ribosome-like particles, 25 nm across, with a little internal structure
    for _ in range(PARTICLES):
        cz, cy, cx = rng.uniform((nz * 0.2, 8, 8), (nz * 0.8, ny - 8, nx - 8))
        radius = rng.uniform(7.5, 9.5)
        box = tuple(slice(max(0, int(c) - 11), min(n, int(c) + 12)) for c, n in zip((cz, cy, cx), shape))
        zz, yy, xx = np.ogrid[box]
        rr = np.sqrt((zz - cz) ** 2 + (yy - cy) ** 2 + (xx - cx) ** 2)
        blob = 1.0 / (1.0 + np.exp((rr - radius) * 1.5)) * (0.75 + 0.25 * np.cos(rr * 0.9))
        density[box] += blob.astype(np.float32)
    noise = rng.standard_normal(shape).astype(np.float32)
    spectrum = np.fft.rfftn(noise + density * 2.5)
    fz, fy, fx = np.meshgrid(
        np.fft.fftfreq(nz), np.fft.fftfreq(ny), np.fft.rfftfreq(nx), indexing="ij", sparse=True
    )
    spectrum *= np.exp(-(fz**2 + fy**2 + fx**2) / (2 * 0.18**2))  # the microscope's band limit
    volume = -np.fft.irfftn(spectrum, s=shape, axes=(0, 1, 2)).astype(np.float32)
    return np.round(volume * 64) / 64  # 1/64 steps: as the 8-bit reconstructions it mimics


def write_sample(path: Path | None = None) -> Path:
    """Write the sample file (atomically) unless it is there already; returns its path.

    Raises
    ------
    MrczError
        The folder is not the user's own (:func:`private_folder`).
    """
    from ..io.writer.write import write

    path = sample_path() if path is None else Path(path)
    if not path.is_file():
        private_folder(path.parent)
        write(
            path,
            make_tomogram(),
            voxel_size=VOXEL_A,
            compressor="zstd",
            clevel=5,
            metadata={
                "sample": "synthetic tomogram (napari-mrcz sample data)",
                "seed": SEED,
                "contents": ["vesicle", "filament", f"{PARTICLES} ribosome-sized particles"],
            },
            voltage=300.0,
        )
    return path


def tomogram() -> list[tuple[Any, dict[str, Any], str]]:
    """npe2 sample data: the synthetic tomogram as a lazy image layer (read slice by slice) in nm, as a
    layer data tuple (napari's sample data takes no Layer objects)."""
    from .reader import file_layers
    from ..io.reader.file import open_mrc

    ((data, kwargs, kind),) = file_layers(open_mrc(write_sample()), lazy=True)
    kwargs["name"] = "tomogram (MRCZ sample)"
    return [(data, kwargs, kind)]
