"""Fixtures shared by the plugin tests: npe2 discovery (module-wide) and a headless napari ViewerModel.

Import them into a test module: ``from napari_session import PLUGIN, discovered, viewer  # noqa: F401``.
"""

from __future__ import annotations

from typing import Any

import pytest

PLUGIN = "napari-mrcz"


@pytest.fixture(scope="module", autouse=True)
def discovered() -> None:
    """Register the installed plugins (ours from this tree) with npe2, once per module."""
    npe2 = pytest.importorskip("npe2")
    npe2.PluginManager.instance().discover()


@pytest.fixture
def viewer() -> Any:
    """A headless viewer: the model napari's window shows, without Qt."""
    pytest.importorskip("napari")
    from napari.components import ViewerModel

    return ViewerModel()
