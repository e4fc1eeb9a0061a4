"""GeoTIFF georeferencing: where a TIFF's raster lies on Earth (orthophotos, drone maps, DEMs).

A GeoTIFF places its raster with a tie point (raster (I, J) → model (X, Y)) or a 4×4 model
transformation, in the coordinate system its GeoKey directory names. Geographic systems give
longitude/latitude directly; WGS 84 / NAD83 UTM zones are converted here (a closed-form
inverse, accurate to about a metre, rather than a PROJ dependency for one projection family).
Any other projected system is reported as "georeferenced but not converted", so the file is
never called clean.
"""

from __future__ import annotations

import math
from typing import Any

from geoprivacy.attacks.metadata.common import Collector

TAG_PIXEL_SCALE = 33550
TAG_TIEPOINT = 33922
TAG_TRANSFORMATION = 34264
TAG_GEOKEYS = 34735
TAG_GEO_DOUBLES = 34736
TAG_GEO_ASCII = 34737
GEOTIFF_TAGS = frozenset({TAG_PIXEL_SCALE, TAG_TIEPOINT, TAG_TRANSFORMATION, TAG_GEOKEYS,
                          TAG_GEO_DOUBLES, TAG_GEO_ASCII})

KEY_MODEL_TYPE = 1024        # 1 projected, 2 geographic, 3 geocentric
KEY_GEOGRAPHIC_TYPE = 2048   # EPSG code of a geographic CRS
KEY_ANGULAR_UNITS = 2054     # 9102 degree (default), 9101 radian, 9105 grad
KEY_PROJECTED_TYPE = 3072    # EPSG code of a projected CRS
MAX_KEYS = 256


def geokeys(shorts: list[int]) -> dict[int, int]:
    """The GeoKeys whose value sits in the directory itself (location 0) from its SHORTs."""
    if len(shorts) < 4:
        return {}
    count = min(shorts[3], MAX_KEYS, (len(shorts) - 4) // 4)
    keys = {}
    for i in range(count):
        key, location, _count, value = shorts[4 + 4 * i: 8 + 4 * i]
        if location == 0:
            keys[key] = value
    return keys


def utm_to_latlon(easting: float, northing: float, zone: int, north: bool) -> tuple[float, float]:
    """WGS 84 (GRS 80 for NAD83 differs by < 0.1 mm) UTM → (lat, lon) in degrees."""
    a, f, k0 = 6378137.0, 1 / 298.257223563, 0.9996
    e2 = f * (2 - f)
    ep2 = e2 / (1 - e2)
    x = easting - 500000.0
    y = northing if north else northing - 10000000.0
    mu = y / k0 / (a * (1 - e2 / 4 - 3 * e2 ** 2 / 64 - 5 * e2 ** 3 / 256))
    e1 = (1 - math.sqrt(1 - e2)) / (1 + math.sqrt(1 - e2))
    phi = (mu + (3 * e1 / 2 - 27 * e1 ** 3 / 32) * math.sin(2 * mu)
           + (21 * e1 ** 2 / 16 - 55 * e1 ** 4 / 32) * math.sin(4 * mu)
           + (151 * e1 ** 3 / 96) * math.sin(6 * mu) + (1097 * e1 ** 4 / 512) * math.sin(8 * mu))
    sin, cos, tan = math.sin(phi), math.cos(phi), math.tan(phi)
    n = a / math.sqrt(1 - e2 * sin ** 2)
    t, c = tan ** 2, ep2 * cos ** 2
    r = a * (1 - e2) / (1 - e2 * sin ** 2) ** 1.5
    d = x / (n * k0)
    lat = phi - (n * tan / r) * (d ** 2 / 2 - (5 + 3 * t + 10 * c - 4 * c ** 2 - 9 * ep2) * d ** 4
                                 / 24 + (61 + 90 * t + 298 * c + 45 * t ** 2 - 252 * ep2
                                         - 3 * c ** 2) * d ** 6 / 720)
    lon = (d - (1 + 2 * t + c) * d ** 3 / 6 + (5 - 2 * c + 28 * t - 3 * c ** 2 + 8 * ep2
                                                + 24 * t ** 2) * d ** 5 / 120) / cos
    return math.degrees(lat), (zone - 1) * 6 - 180 + 3 + math.degrees(lon)


def utm_zone(epsg: int) -> tuple[int, bool] | None:
    """(zone, northern) of a WGS 84 (326zz/327zz) or NAD83 (269zz) UTM EPSG code."""
    if 32601 <= epsg <= 32660:
        return epsg - 32600, True
    if 32701 <= epsg <= 32760:
        return epsg - 32700, False
    if 26901 <= epsg <= 26923:
        return epsg - 26900, True
    return None


def decode(values: dict[int, list[Any]], out: Collector, prefix: str) -> None:
    """Report where the raster lies, from the GeoTIFF tags' decoded ``values`` (by tag)."""
    origin = _origin(values)
    raw_keys = values.get(TAG_GEOKEYS, [])
    # SHORTs by the spec; a directory of another type (bytes, rationals) names no system
    keys = geokeys([v for v in raw_keys if isinstance(v, int)]) \
        if all(isinstance(v, int) for v in raw_keys) else {}
    model = keys.get(KEY_MODEL_TYPE)
    detail: dict[str, Any] = {"model_type": model}
    if origin is None:
        if TAG_GEOKEYS in values:
            out.placeholder(f"{prefix}:GeoKeyDirectory",
                            "GeoTIFF keys without a tie point or transformation", detail)
        return
    x, y = origin
    where = f"{prefix}:{'ModelTiepoint' if TAG_TIEPOINT in values else 'ModelTransformation'}"
    if model == 2 or (model is None and -180 <= x <= 180 and -90 <= y <= 90
                      and TAG_GEOKEYS not in values):
        units = keys.get(KEY_ANGULAR_UNITS, 9102)
        scale = {9102: 1.0, 9101: math.degrees(1.0), 9105: 0.9}.get(units)
        detail["crs"] = f"EPSG:{keys.get(KEY_GEOGRAPHIC_TYPE, '?')}"
        if scale is None:
            out.warn(f"{prefix}: GeoTIFF in angular units {units}; coordinates not converted")
            return
        out.position(where, y * scale, x * scale, detail=detail)
        return
    epsg = keys.get(KEY_PROJECTED_TYPE)
    zone = utm_zone(epsg) if epsg is not None else None
    if model == 1 and zone is not None and 100_000 <= x <= 900_000 and 0 <= y <= 10_000_000:
        lat, lon = utm_to_latlon(x, y, *zone)
        out.position(where, lat, lon, detail={**detail, "crs": f"EPSG:{epsg}",
                                              "easting": x, "northing": y})
        return
    out.warn(f"{prefix}: georeferenced GeoTIFF (model type {model}, CRS "
             f"EPSG:{epsg if epsg is not None else '?'}); coordinates not converted, so the "
             f"place it shows was not checked")


def _origin(values: dict[int, list[Any]]) -> tuple[float, float] | None:
    """Model (X, Y) of the raster's tie point, or of its transformation's translation."""
    tie = values.get(TAG_TIEPOINT) or []
    if len(tie) >= 6 and all(_finite(v) for v in tie[3:5]):
        return float(tie[3]), float(tie[4])
    m = values.get(TAG_TRANSFORMATION) or []
    if len(m) >= 8 and _finite(m[3]) and _finite(m[7]):
        return float(m[3]), float(m[7])
    return None


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(v)


__all__ = ["GEOTIFF_TAGS", "decode", "geokeys", "utm_to_latlon", "utm_zone"]
