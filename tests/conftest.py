"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.corpus import SHARED_DATA


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "MANIFEST.json").exists():
        pytest.fail(f"the shared corpus is missing: expected {SHARED_DATA}/MANIFEST.json "
                    "(set GEOPRIVACY_SHARED_DATA)")
    return SHARED_DATA
