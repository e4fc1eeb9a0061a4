"""Real frames from the shared corpus, decoded once per session, and a private model home."""

from __future__ import annotations

import os

import numpy as np
import pytest

from tests.corpus import SHARED_DATA

VTEST = SHARED_DATA / "videos" / "vtest.avi"          # pedestrians on a campus, 768x576
STREET = SHARED_DATA / "videos" / "sample-5s.mp4"     # park beside a road with cars, 1080p


@pytest.fixture(scope="session", autouse=True)
def geoprivacy_home(tmp_path_factory: pytest.TempPathFactory):
    """Model caches and the ultralytics settings file go to a temporary home, not ~/.cache."""
    home = tmp_path_factory.mktemp("gphome")
    old = os.environ.get("GEOPRIVACY_HOME")
    os.environ["GEOPRIVACY_HOME"] = str(home)
    yield home
    if old is None:
        os.environ.pop("GEOPRIVACY_HOME", None)
    else:
        os.environ["GEOPRIVACY_HOME"] = old


def _frames(path, count: int) -> list[np.ndarray]:
    pytest.importorskip("av")
    from geoprivacy.cues.frames import video_frames
    if not path.exists():
        pytest.fail(f"corpus file missing: {path}")
    return [rgb for _label, rgb in video_frames(str(path), count)]


@pytest.fixture(scope="session")
def vtest_frames() -> list[np.ndarray]:
    return _frames(VTEST, 3)


@pytest.fixture(scope="session")
def street_frames() -> list[np.ndarray]:
    return _frames(STREET, 3)
