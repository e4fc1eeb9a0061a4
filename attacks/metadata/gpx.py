"""GPX 1.0/1.1 (topografix.com/GPX): tracks, routes and waypoints.

Each ``<trk>`` (all its segments) and each ``<rte>`` is one track evidence; each ``<wpt>`` is a
position. Times (ISO 8601) become epoch seconds; files whose times are out of order are common
(``summarize`` sorts by time). The evidence's lat/lon is the first point in FILE order — what a
reader of the file sees first; the first point in TIME order is in the track summary (``first``)
and both are in the detail. Parsed with the standard library's expat, streaming, with DOCTYPE and
ENTITY declarations refused (see textio.xml_events).
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any

from geoprivacy.attacks.metadata.common import Collector
from geoprivacy.attacks.metadata.textio import read_bytes, xml_events
from geoprivacy.errors import ParseError
from geoprivacy.media.source import Source
from geoprivacy.tracks import Fix

MAX_POINTS = 2_000_000        # points kept from one file, all tracks together
MAX_WAYPOINT_EVIDENCE = 256   # waypoints reported one by one; the rest as one track
_POINTS = {"trkpt", "rtept", "wpt"}
_PARENTS = {"trkpt": ("trkseg", "trk"), "rtept": ("rte",), "wpt": ("gpx",)}  # trk: lenient
_DROP_WHEN_DONE = {"trkpt", "rtept", "wpt", "trkseg", "trk", "rte", "extensions"}


def parse(src: Source, out: Collector) -> None:
    data = read_bytes(src, out, "GPX")
    groups: dict[str, list[Fix]] = {}
    order: list[str] = []
    counters = {"trk": -1, "rte": -1, "wpt": -1}
    segments: dict[str, int] = {}
    current: str | None = None        # the trk/rte being read
    stack: list[Any] = []             # open elements; finished points are removed from them
    total = 0
    try:
        for event, elem in xml_events(data):
            tag = elem.tag
            parent = stack[-1].tag if stack else None
            if event == "start":
                stack.append(elem)
                if tag in ("trk", "rte") and parent == "gpx":
                    counters[tag] += 1
                    current = f"{tag}[{counters[tag]}]"
                    groups[current] = []
                    order.append(current)
                elif tag == "trkseg" and current:
                    segments[current] = segments.get(current, 0) + 1
                continue
            stack.pop()
            parent = stack[-1].tag if stack else None
            if tag in _POINTS and parent in _PARENTS[tag]:
                if total >= MAX_POINTS:
                    out.warn(f"GPX: more than {MAX_POINTS} points; the rest were not read")
                    break
                fix = _point(elem)
                total += 1
                if tag == "wpt":
                    counters["wpt"] += 1
                    key = f"wpt[{counters['wpt']}]"
                    groups[key] = [fix]
                    order.append(key)
                elif current:
                    groups[current].append(fix)
            elif tag in ("trk", "rte") and parent == "gpx":
                current = None
            if stack and tag in _DROP_WHEN_DONE:
                stack[-1].remove(elem)   # keep memory flat on long tracks
    except ParseError as exc:
        if not total:
            raise
        out.warn(f"GPX: {exc}; {total} points before the damage were read")
    _report(groups, order, segments, out)


def _point(elem: Any) -> Fix:
    """A trkpt/rtept/wpt element → Fix (NaN coordinates when unreadable, so the Collector
    reports them as invalid instead of dropping them silently)."""
    lat = _float(elem.get("lat"))
    lon = _float(elem.get("lon"))
    alt = time = None
    name = None
    for child in elem:
        if child.tag == "ele":
            alt = _float(child.text)
            alt = alt if math.isfinite(alt) else None
        elif child.tag == "time":
            time = parse_time(child.text or "")
        elif child.tag == "name":
            name = (child.text or "").strip()[:200] or None
    extra = (("name", name),) if name else ()
    return Fix(lat, lon, alt, time, extra)


def _float(text: str | None) -> float:
    try:
        return float((text or "").strip())
    except ValueError:
        return math.nan


def parse_time(text: str) -> float | None:
    """ISO 8601 (``2003-05-24T17:10:05Z``, fractions, offsets) → epoch seconds; naive is UTC."""
    text = text.strip()
    if not text or len(text) > 64:
        return None
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    try:
        return value.timestamp()
    except (OverflowError, OSError, ValueError):
        return None


def _report(groups: dict[str, list[Fix]], order: list[str], segments: dict[str, int],
            out: Collector) -> None:
    waypoints = 0
    rest: list[Fix] = []
    for key in order:
        fixes = groups.get(key) or []
        if not fixes:
            continue
        if key.startswith("wpt"):
            waypoints += 1
            if waypoints > MAX_WAYPOINT_EVIDENCE:
                rest.extend(fixes)
                continue
            fix = fixes[0]
            detail = {"role": "waypoint", **dict(fix.extra)}
            if fix.alt is not None:
                detail["alt"] = fix.alt
            if fix.time is not None:
                detail["time"] = fix.time
            out.position(f"GPX:{key}", fix.lat, fix.lon, detail=detail)
            continue
        out.track(f"GPX:{key}", fixes, _track_detail(key, fixes, segments))
    if rest:
        out.track(f"GPX:wpt[{MAX_WAYPOINT_EVIDENCE}:]", rest,
                  {"role": f"waypoints after the first {MAX_WAYPOINT_EVIDENCE}, as one set"})


def _track_detail(key: str, fixes: list[Fix], segments: dict[str, int]) -> dict[str, Any]:
    times = [f.time for f in fixes]
    backwards = sum(1 for a, b in zip(times, times[1:])
                    if a is not None and b is not None and b < a)
    detail: dict[str, Any] = {
        "role": "track" if key.startswith("trk") else "route",
        "first_in_file": _fix_dict(fixes[0]),
        "times_out_of_order": backwards,
    }
    if key in segments:
        detail["segments"] = segments[key]
    timed = [f for f in fixes if f.time is not None]
    if timed:
        detail["first_by_time"] = _fix_dict(min(timed, key=lambda f: f.time or 0.0))
    return detail


def _fix_dict(fix: Fix) -> dict[str, Any]:
    """``fix.to_dict()`` with unreadable (NaN) values as None: reports must be valid JSON."""
    return {k: None if isinstance(v, float) and not math.isfinite(v) else v
            for k, v in fix.to_dict().items()}
