"""Fixtures of the plugin tests: npe2 discovery (once) and a headless napari ViewerModel."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="session", autouse=True)
def discovered() -> None:
    """Register the installed plugins (ours from this tree) with npe2."""
    npe2 = pytest.importorskip("npe2")
    npe2.PluginManager.instance().discover()


@pytest.fixture
def viewer() -> Any:
    """A headless viewer: the model napari's window shows, without Qt."""
    pytest.importorskip("napari")
    from napari.components import ViewerModel

    return ViewerModel()


@pytest.fixture
def napari_settings(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """napari's settings for this test only, saved to a file in ``tmp_path`` (never the user's)."""
    from napari import settings

    fresh = settings.NapariSettings(config_path=tmp_path / "napari-settings.yaml")
    fresh._connect_events()
    monkeypatch.setattr(settings, "_SETTINGS", fresh)
    return fresh
