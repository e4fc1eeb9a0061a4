"""A small embedded sample with known coordinates, for `geoprivacy demo` and for tests.

The files are generated deterministically by ``generate.py`` (run it to rebuild them) and
shipped inside the package, so the demo runs offline on a core install.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

#: What each sample discloses; tests and the demo check the tool against this table.
TRUTH: dict[str, dict[str, object]] = {
    "lund_cathedral.jpg": {"lat": 55.704167, "lon": 13.193611, "granularity": "exact"},
    "lund_coarse.jpg": {"lat": 55.7, "lon": 13.2, "granularity": "city"},
    "no_fix.jpg": {"lat": None, "lon": None, "granularity": "none", "placeholder": True},
    "clean.png": {"lat": None, "lon": None, "granularity": "none"},
    "bike_ride.gpx": {"lat": 55.70584, "lon": 13.18611, "granularity": "exact", "stops": 1},
}


def sample_dir() -> Path:
    """The folder holding the shipped sample files."""
    return Path(str(resources.files(__package__)))


def sample_files() -> list[Path]:
    return [sample_dir() / name for name in sorted(TRUTH)]
