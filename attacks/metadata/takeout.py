"""Google Takeout (Google Photos) JSON sidecars: ``geoData`` and ``geoDataExif``.

Takeout writes one ``<photo>.json`` beside each exported photo; ``geoData`` is the location
Google Photos holds (possibly edited or estimated), ``geoDataExif`` the one from the file's EXIF.
Each is ``{"latitude", "longitude", "altitude", "latitudeSpan", "longitudeSpan"}``, and
``0.0, 0.0`` means "no location" — reported as a placeholder, never as a place.
"""

from __future__ import annotations

import json
import math
from typing import Any

from geoprivacy.attacks.metadata.common import Collector
from geoprivacy.attacks.metadata.textio import read_text
from geoprivacy.errors import ParseError
from geoprivacy.media.source import Source

KEYS = ("geoData", "geoDataExif")


def parse(src: Source, out: Collector) -> None:
    text = read_text(src, out, "Takeout")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(f"not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except RecursionError:
        raise ParseError("JSON nested too deeply") from None
    if not isinstance(doc, dict):
        raise ParseError("Takeout sidecar is not a JSON object")
    taken = _timestamp(doc.get("photoTakenTime"))
    for key in KEYS:
        if key not in doc:
            continue
        where = f"Takeout:{key}"
        value = doc[key]
        if not isinstance(value, dict):
            out.invalid(where, f"{key} is not an object")
            continue
        lat, lon = _number(value.get("latitude")), _number(value.get("longitude"))
        detail: dict[str, Any] = {}
        alt = _number(value.get("altitude"))
        if alt is not None and math.isfinite(alt) and alt != 0.0:
            detail["alt"] = alt
        if taken is not None:
            detail["photo_taken_time"] = taken
        if lat == 0.0 and lon == 0.0:
            out.placeholder(where, "latitude and longitude are 0.0, Takeout's 'no location' value",
                            detail)
            continue
        out.position(where, lat, lon, step_deg=_span(value), detail=detail)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _span(value: dict[str, Any]) -> float | None:
    """latitudeSpan/longitudeSpan > 0 mark an area rather than a point: use it as the step."""
    spans = [s for s in (_number(value.get("latitudeSpan")), _number(value.get("longitudeSpan")))
             if s is not None and math.isfinite(s) and s > 0]
    return max(spans) if spans else None


def _timestamp(value: Any) -> float | None:
    if isinstance(value, dict):
        number = _number(value.get("timestamp"))
        if number is not None and math.isfinite(number):
            return number
    return None
