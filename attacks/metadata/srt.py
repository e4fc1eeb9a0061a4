"""SubRip (.SRT) telemetry: DJI drone subtitles (both layouts) and dashcam GPS subtitles.

Layouts, as DJI and dashcam makers write them (see JuanIrache/DJI_SRT_Parser's samples):
- new DJI: ``[latitude: 41.424724] [longitude: 2.234156] [altitude: 117.0]`` (also
  ``[latitude : …]``, the misspelt ``[longtitude : …]``, ``[rel_alt: … abs_alt: …]``) and a
  ``2022-08-07 13:40:40,774,808`` camera-clock line;
- old DJI: ``GPS (lon, lat, alt)`` — LONGITUDE FIRST — and ``HOME (lon, lat, alt)``, the
  take-off point, which we report as its own evidence; date lines like ``2017.07.03 10:15:03``;
- dashcams: NMEA sentences in the text, ``N 37.1234 E 122.1234``-style pairs, or a bare
  ``lat, lon`` pair with at least four decimals.
Each fix keeps its subtitle time range (``media_start``/``media_end``); its ``time`` is epoch
seconds when every entry carries a date (the camera clock; its time zone is unknown, read as
UTC), else the subtitle start in media seconds.
Hand-written: SRT is plain text and no library knows these telemetry layouts.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from typing import Any

from geoprivacy.attacks.metadata.common import Collector
from geoprivacy.attacks.metadata.nmea import parse_nmea
from geoprivacy.attacks.metadata.textio import read_text
from geoprivacy.media.source import Source
from geoprivacy.tracks import Fix

MAX_HOME_POINTS = 16      # distinct home points reported as separate evidence
MAX_HOME_KEYS = 1000      # distinct home points counted
MAX_FIXES = 2_000_000

_NUM = r"[-+]?\d{1,3}(?:\.\d+)?"
_TIME_LINE = re.compile(
    r"(\d{1,2}):(\d{2}):(\d{2})(?:[,.](\d{1,3}))?[ \t]*-->[ \t]*"
    r"(\d{1,2}):(\d{2}):(\d{2})(?:[,.](\d{1,3}))?")
_TAG = re.compile(r"<[^<>]{0,200}>")
_FIELD = re.compile(r"\b(latitude|longt?itude|altitude|abs_alt|rel_alt)\s*:\s*([-+]?\d+(?:\.\d+)?)",
                    re.I)
_PAREN = re.compile(
    rf"\b(GPS|HOME)\s*\(\s*({_NUM})\s*,\s*({_NUM})\s*(?:,\s*({_NUM})\s*[mM]?\s*)?\)")
_HEMI_BEFORE = re.compile(
    r"\b([NS])\s*:?\s*(\d{1,2}\.\d+)[^\d\n]{1,6}?([EW])\s*:?\s*(\d{1,3}\.\d+)")
_HEMI_AFTER = re.compile(
    r"(\d{1,2}\.\d+)\s*°?\s*([NS])[\s,;/]{1,4}(\d{1,3}\.\d+)\s*°?\s*([EW])\b")
_PAIR = re.compile(r"(?<![\d.])([-+]?\d{1,2}\.\d{4,})\s*,\s*([-+]?\d{1,3}\.\d{4,})(?![\d.])")
_DATE = re.compile(r"\b(\d{4})[-./](\d{1,2})[-./](\d{1,2})[ T]+(\d{1,2}):(\d{2}):(\d{2})"
                   r"(?:[.,](\d{1,6}))?")


@dataclass
class _Found:
    """Fixes of one kind (where), with their camera-clock times when known."""

    layout: str
    fixes: list[Fix] = field(default_factory=list)
    clocks: list[float | None] = field(default_factory=list)
    swapped: int = 0


def parse(src: Source, out: Collector) -> None:
    """Every GPS/HOME fix in the subtitles: one track per kind, home points as positions."""
    text = read_text(src, out, "SRT")
    found: dict[str, _Found] = {}
    homes: dict[tuple[float, float], list[Any]] = {}
    entries = total = added = 0
    matches = list(_TIME_LINE.finditer(text))
    for i, match in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        block = _TAG.sub(" ", text[match.end():end])
        start_s, end_s = _seconds(match.groups()[:4]), _seconds(match.groups()[4:])
        entries += 1
        added = _read_block(block, start_s, end_s, found, homes)
        total += added
        if total >= MAX_FIXES:
            out.warn(f"SRT: more than {MAX_FIXES} fixes; the rest of the file was not read")
            break
    if found and not added and not text.rstrip(" \t\r").endswith("\n\n"):
        out.warn("SRT: the last subtitle entry has no GPS fix and the file ends mid-entry "
                 "(cut short?); the entries before it were read")
    for where, item in found.items():
        _report_track(where, item, entries, out)
    for (lat, lon), info in list(homes.items())[:MAX_HOME_POINTS]:
        out.position("SRT:HOME", lat, lon, detail={
            "role": "home point (take-off place) recorded by the drone",
            "entries": info[0], "first_media_s": info[1],
            "coordinate_order": ("lat,lon (lon-first impossible)" if info[2]
                                 else "lon,lat (DJI)")})
    if len(homes) > MAX_HOME_POINTS:
        more = "+" if len(homes) >= MAX_HOME_KEYS else ""
        out.warn(f"SRT: {len(homes)}{more} distinct home points; only the first "
                 f"{MAX_HOME_POINTS} reported")


def _read_block(block: str, start_s: float, end_s: float, found: dict[str, _Found],
                homes: dict[tuple[float, float], list[Any]]) -> int:
    """Fixes of one subtitle entry, by the first layout that matches it; returns how many."""
    clock = _clock(block)
    media = (("media_start", start_s), ("media_end", end_s))
    # Drop the next entry's index number, which sits on the last line of this block.
    block = re.sub(r"\n\s*\d+\s*$", "\n", block)

    fields: dict[str, float] = {}
    for name, value in _FIELD.findall(block):
        fields.setdefault(name.lower().replace("longtitude", "longitude"), float(value))
    if "latitude" in fields and "longitude" in fields:
        alt = fields.get("abs_alt", fields.get("altitude"))
        extra = media + ((("rel_alt", fields["rel_alt"]),) if "rel_alt" in fields else ())
        _add(found, "SRT:GPS", "dji-bracket [latitude: …] [longitude: …]",
             Fix(fields["latitude"], fields["longitude"], alt, None, extra), clock)
        return 1

    parens = _PAREN.findall(block)
    if parens:
        count = 0
        for name, first, second, third in parens:
            lon, lat, swapped = _lon_first(float(first), float(second))
            if name == "HOME":
                key = (round(lat, 7), round(lon, 7))
                if key in homes or len(homes) < MAX_HOME_KEYS:   # bounded memory
                    info = homes.setdefault(key, [0, start_s, swapped])
                    info[0] += 1
            else:
                alt = float(third) if third else None
                item = _add(found, "SRT:GPS", "dji GPS (lon, lat, alt)",
                            Fix(lat, lon, alt, None, media), clock)
                item.swapped += swapped
                count += 1
        return count

    if "$" in block:
        result = parse_nmea(block.splitlines())
        if result.fixes:
            for fix in result.fixes:
                nmea_clock = fix.time if result.dated else clock
                _add(found, "SRT:NMEA", "NMEA sentences in subtitles",
                     Fix(fix.lat, fix.lon, fix.alt, None, media + fix.extra), nmea_clock)
            return len(result.fixes)

    pair = _text_pair(block)
    if pair:
        _add(found, "SRT:text", "dashcam text coordinates",
             Fix(pair[0], pair[1], None, None, media), clock)
        return 1
    return 0


def _lon_first(first: float, second: float) -> tuple[float, float, bool]:
    """DJI writes (lon, lat); only when that reading is impossible and (lat, lon) is not, swap."""
    if abs(second) > 90 >= abs(first) and abs(second) <= 180:
        return second, first, True
    return first, second, False


def _text_pair(block: str) -> tuple[float, float] | None:
    m = _HEMI_BEFORE.search(block)
    if m:
        lat, lon = float(m.group(2)), float(m.group(4))
        return (-lat if m.group(1) == "S" else lat, -lon if m.group(3) == "W" else lon)
    m = _HEMI_AFTER.search(block)
    if m:
        lat, lon = float(m.group(1)), float(m.group(3))
        return (-lat if m.group(2) == "S" else lat, -lon if m.group(4) == "W" else lon)
    m = _PAIR.search(block)
    if m:
        return float(m.group(1)), float(m.group(2))
    return None


def _add(found: dict[str, _Found], where: str, layout: str, fix: Fix,
         clock: float | None) -> _Found:
    item = found.setdefault(where, _Found(layout))
    item.fixes.append(fix)
    item.clocks.append(clock)
    return item


def _report_track(where: str, item: _Found, entries: int, out: Collector) -> None:
    dated = all(c is not None for c in item.clocks)
    fixes = [Fix(f.lat, f.lon, f.alt, clock if dated else dict(f.extra)["media_start"], f.extra)
             for f, clock in zip(item.fixes, item.clocks)]
    detail: dict[str, Any] = {
        "layout": item.layout,
        "subtitle_entries": entries,
        "time_base": ("camera clock as epoch seconds (time zone unknown, read as UTC)" if dated
                      else "media seconds (subtitle start)"),
    }
    if "GPS (lon" in item.layout:
        detail["coordinate_order"] = "lon,lat (DJI)"
    if item.swapped:
        detail["swapped_to_lat_lon"] = item.swapped
    out.track(where, fixes, detail)


def _seconds(groups: tuple[str | None, ...]) -> float:
    h, m, s, ms = groups
    frac = int(ms) / 10 ** len(ms) if ms else 0.0
    return int(h or 0) * 3600 + int(m or 0) * 60 + int(s or 0) + frac


def _clock(block: str) -> float | None:
    """The first date-time in an entry as epoch seconds (naive camera time read as UTC)."""
    m = _DATE.search(block)
    if not m:
        return None
    y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
    if not (1970 <= y <= 2200 and 1 <= mo <= 12 and 1 <= d <= 31 and h < 24 and mi < 60
            and s < 61):
        return None
    frac = m.group(7)
    try:
        base = calendar.timegm((y, mo, d, h, mi, s))
    except (ValueError, OverflowError):
        return None
    return base + (int(frac) / 10 ** len(frac) if frac else 0.0)
