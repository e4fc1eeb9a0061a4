"""Distances, the granularity ladder, and radius from coordinate precision."""

from __future__ import annotations

import math

from geoprivacy.types import Granularity

EARTH_RADIUS_KM = 6371.0088
KM_PER_DEGREE = math.pi * EARTH_RADIUS_KM / 180.0  # ≈ 111.2 km per degree of latitude

#: Upper radius (km) of each level of the ladder; a radius above the last one reaches nothing.
LADDER_KM: tuple[tuple[Granularity, float], ...] = (
    (Granularity.EXACT, 1.0),
    (Granularity.CITY, 25.0),
    (Granularity.REGION, 200.0),
    (Granularity.COUNTRY, 750.0),
    (Granularity.CONTINENT, 2500.0),
)


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def granularity_for_radius(radius_km: float | None) -> Granularity:
    """The finest ladder level a position known to within ``radius_km`` discloses."""
    if radius_km is None:
        return Granularity.EXACT
    for level, limit in LADDER_KM:
        if radius_km <= limit:
            return level
    return Granularity.NONE


def radius_for_precision(step_deg: float | None) -> float | None:
    """Radius (km) of a coordinate quantised to ``step_deg`` degrees: half a step, worst axis.

    ``None`` or a step finer than ~10 m means an exact fix.
    """
    if step_deg is None or step_deg <= 0:
        return None
    radius = step_deg * KM_PER_DEGREE / 2 * math.sqrt(2)
    return None if radius < 0.01 else radius


def decimal_step(text: str) -> float | None:
    """The quantisation step of a decimal number written as text (``"52.5"`` → 0.1)."""
    text = text.strip().lstrip("+-")
    if "e" in text.lower():
        return None
    if "." not in text:
        return 1.0
    decimals = len(text.split(".", 1)[1])
    return 10.0 ** -decimals


def is_valid_coordinate(lat: float, lon: float) -> bool:
    return (math.isfinite(lat) and math.isfinite(lon) and -90.0 <= lat <= 90.0
            and -180.0 <= lon <= 180.0)


def is_null_island(lat: float, lon: float) -> bool:
    """(0, 0) is what devices write when they had no fix."""
    return abs(lat) < 1e-9 and abs(lon) < 1e-9


def track_length_km(points: list[tuple[float, float]]) -> float:
    return sum(haversine_km(a[0], a[1], b[0], b[1]) for a, b in zip(points, points[1:]))
