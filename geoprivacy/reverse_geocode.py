"""Offline reverse geocoding: the city, region and country of any coordinate.

Uses ``reverse_geocoder`` (GeoNames cities with population ≥ 1000, shipped in its wheel) so no
coordinate ever leaves the machine. The index is built on first use, in this process (mode 1:
no worker pool, so nothing forks under a CLI or a test runner). Country names come from the ISO
3166 table that ships with ``tzdata`` (or the system zoneinfo), so no extra package is needed.
"""

from __future__ import annotations

import contextlib
import io
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

from geoprivacy.errors import GeoprivacyError
from geoprivacy.geo import haversine_km, is_valid_coordinate

_LOCK = threading.Lock()


@dataclass(frozen=True)
class Place:
    """The nearest populated place to a coordinate, and how far away it is."""

    city: str
    region: str          # first-level division (state, province, voivodeship)
    subregion: str       # second-level division (county), often empty
    country: str
    country_code: str
    distance_km: float   # from the query point to the place's centre

    def to_dict(self) -> dict[str, Any]:
        return {"city": self.city, "region": self.region, "subregion": self.subregion,
                "country": self.country, "country_code": self.country_code,
                "distance_km": round(self.distance_km, 3)}

    def label(self) -> str:
        """"City, Region, Country" without empty parts."""
        return ", ".join(p for p in (self.city, self.region, self.country) if p)


@lru_cache(maxsize=1)
def _country_names() -> dict[str, str]:
    """ISO 3166 alpha-2 → English short name."""
    candidates: list[Any] = []
    try:
        from importlib.resources import files
        candidates.append(files("tzdata").joinpath("zoneinfo/iso3166.tab"))
    except (ImportError, ModuleNotFoundError):
        pass
    candidates.append(Path("/usr/share/zoneinfo/iso3166.tab"))
    for path in candidates:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, FileNotFoundError):
            continue
        names = {}
        for line in text.splitlines():
            if line and not line.startswith("#") and "\t" in line:
                code, name = line.split("\t", 1)
                names[code.strip()] = name.strip()
        if names:
            return names
    return {}


def _search(coords: list[tuple[float, float]]) -> list[dict[str, Any]]:
    try:
        import reverse_geocoder
    except ImportError as exc:
        raise GeoprivacyError("reverse geocoding needs reverse_geocoder "
                              "(pip install 'geoprivacy[vision]')") from exc
    # It prints "Loading formatted geocoded file..." on first use; keep stdout clean for JSON.
    with _LOCK, contextlib.redirect_stdout(io.StringIO()):
        return list(reverse_geocoder.search(coords, mode=1, verbose=False))


def reverse_geocode_many(coords: Iterable[tuple[float, float]]) -> list[Place | None]:
    """One Place per coordinate (None for an invalid coordinate)."""
    coords = list(coords)
    valid = [(float(a), float(b)) for a, b in coords if is_valid_coordinate(float(a), float(b))]
    rows = iter(_search(valid)) if valid else iter(())
    names = _country_names()
    out: list[Place | None] = []
    for lat, lon in coords:
        if not is_valid_coordinate(float(lat), float(lon)):
            out.append(None)
            continue
        row = next(rows)
        cc = str(row.get("cc", ""))
        out.append(Place(city=str(row.get("name", "")), region=str(row.get("admin1", "")),
                         subregion=str(row.get("admin2", "")), country=names.get(cc, cc),
                         country_code=cc,
                         distance_km=haversine_km(float(lat), float(lon), float(row["lat"]),
                                                  float(row["lon"]))))
    return out


def reverse_geocode(lat: float, lon: float) -> Place | None:
    """The nearest populated place to (lat, lon), or None for an invalid coordinate."""
    return reverse_geocode_many([(lat, lon)])[0]
