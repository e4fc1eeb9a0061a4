"""KML (OGC KML 2.2): Placemark geometry — Point, LineString/LinearRing, gx:Track.

``<coordinates>`` holds whitespace-separated ``lon,lat[,alt]`` tuples (LONGITUDE FIRST); a
Point is a position, a line or ring a track (no times); ``gx:Track`` pairs ``<when>`` times
with ``<gx:coord>lon lat alt</gx:coord>`` and is a timed track. Parsed streaming with DOCTYPE
and ENTITY refused (textio.xml_events).
"""

from __future__ import annotations

import math
from typing import Any

from geoprivacy.attacks.metadata.common import Collector
from geoprivacy.attacks.metadata.gpx import parse_time
from geoprivacy.attacks.metadata.textio import read_bytes, xml_events
from geoprivacy.errors import ParseError
from geoprivacy.media.source import Source
from geoprivacy.tracks import Fix

MAX_GEOMETRIES = 1024        # geometries reported one by one
MAX_POINTS = 2_000_000       # coordinates kept from one file
_GEOMETRIES = ("Point", "LineString", "LinearRing", "Track")


def parse(src: Source, out: Collector) -> None:
    data = read_bytes(src, out, "KML")
    placemark = -1
    name: str | None = None
    in_placemark = False
    geometry: str | None = None
    whens: list[float | None] = []
    coords: list[Fix] = []
    counts: dict[str, int] = {}
    reported = total = 0
    try:
        for event, elem in xml_events(data):
            tag = elem.tag
            if event == "start":
                if tag == "Placemark":
                    placemark += 1
                    in_placemark, name = True, None
                elif in_placemark and tag in _GEOMETRIES:
                    geometry, whens, coords = tag, [], []
                continue
            if tag == "name" and in_placemark and name is None:
                name = (elem.text or "").strip()[:200] or None
            elif geometry and tag == "coordinates":
                coords.extend(_tuples(elem.text or "", MAX_POINTS - total))
            elif geometry == "Track" and tag == "when":
                whens.append(parse_time(elem.text or ""))
            elif geometry == "Track" and tag == "coord":
                coords.extend(_tuples((elem.text or "").replace(" ", ","), 1))
            elif tag == geometry:
                total += len(coords)
                counts[tag] = counts.get(tag, 0) + 1
                if coords and reported < MAX_GEOMETRIES:
                    reported += 1
                    _report(f"KML:Placemark[{placemark}]/{tag}", tag, coords, whens, name, out)
                geometry = None
                if total >= MAX_POINTS:
                    out.warn(f"KML: more than {MAX_POINTS} coordinates; the rest were not read")
                    break
            elif tag == "Placemark":
                in_placemark = False
                elem.clear()
    except ParseError as exc:
        if not reported:
            raise
        out.warn(f"KML: {exc}; {reported} geometries before the damage were read")
    if sum(counts.values()) > reported and reported >= MAX_GEOMETRIES:
        out.warn(f"KML: {sum(counts.values())} geometries; only the first {MAX_GEOMETRIES} "
                 "reported")


def _tuples(text: str, limit: int) -> list[Fix]:
    """``lon,lat[,alt]`` tuples separated by whitespace; unreadable ones become NaN (invalid)."""
    fixes: list[Fix] = []
    for item in text.split():
        if len(fixes) >= limit:
            break
        parts = item.split(",")
        try:
            lon, lat = float(parts[0]), float(parts[1])
        except (ValueError, IndexError):
            lon = lat = math.nan
        alt = None
        if len(parts) > 2:
            try:
                alt = float(parts[2])
            except ValueError:
                alt = None
            if alt is not None and not math.isfinite(alt):
                alt = None                  # inf/nan would make the JSON report invalid
        fixes.append(Fix(lat, lon, alt))
    return fixes


def _report(where: str, tag: str, coords: list[Fix], whens: list[float | None],
            name: str | None, out: Collector) -> None:
    detail: dict[str, Any] = {"coordinate_order": "lon,lat (KML)"}
    if name:
        detail["placemark"] = name
    if tag == "Point":
        fix = coords[0]
        if fix.alt is not None:
            detail["alt"] = fix.alt
        out.position(where, fix.lat, fix.lon, detail=detail)
        return
    if tag == "Track" and len(whens) == len(coords):
        coords = [Fix(f.lat, f.lon, f.alt, t) for f, t in zip(coords, whens)]
    out.track(where, coords, detail)
