"""NMEA 0183 position sentences ($GPRMC/$GNRMC, $GPGGA/$GNGGA, $GPGLL): logs, and text in
other files.

``parse_nmea_lines`` is the reusable part (NMEA lines also appear in dashcam subtitle tracks and
SRTs). Hand-written because the format is a dozen comma-separated fields and no maintained
library does checksum, void-fix and date handling the way an auditor needs.

Rules, from the NMEA 0183 sentence descriptions:
- ``$<talker><type>,f1,f2,…*hh``: ``hh`` is the XOR of every character between ``$`` and ``*``;
  when present it must match, or the sentence is ignored.
- RMC: time hhmmss.ss, status A (valid) / V (void: ignored), lat ddmm.mmmm, N/S, lon dddmm.mmmm,
  E/W, speed (knots), course, date ddmmyy. GGA: time, lat, N/S, lon, E/W, fix quality (0: no
  fix, ignored), satellites, HDOP, altitude, M, … — GGA carries no date. GLL: lat, N/S, lon,
  E/W, time, status (A/V) — no date either.
- Times are UTC: with a date (from RMC) a fix time is epoch seconds; without any date it is
  seconds of the UTC day.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from typing import Iterable

from geoprivacy.attacks.metadata.common import Collector
from geoprivacy.attacks.metadata.textio import read_text
from geoprivacy.media.source import Source
from geoprivacy.tracks import Fix

MAX_FIXES = 2_000_000           # bound on fixes kept from one input
MAX_LINE = 4096                 # longer "lines" are not NMEA; only their first part is searched

_SENTENCE = re.compile(
    r"\$(?P<talker>G[PNLAB]|BD|GB|GQ)(?P<type>RMC|GGA|GLL)(?P<body>,[^*$\r\n]{0,200})"
    r"(?:\*(?P<cs>[0-9A-Fa-f]{2}))?")
_DAY = 86400.0


@dataclass
class NmeaResult:
    """Fixes found, and counts of what was ignored and why (for warnings and detail)."""

    fixes: list[Fix] = field(default_factory=list)
    sentences: dict[str, int] = field(default_factory=dict)   # e.g. {"RMC": 10, "GGA": 10}
    bad_checksum: int = 0
    void: int = 0
    malformed: int = 0
    dated: bool = False
    truncated: bool = False


@dataclass
class _Raw:
    tod: float                      # seconds of the UTC day
    date: tuple[int, int, int] | None
    lat: float
    lon: float
    alt: float | None
    kinds: list[str]


def parse_nmea_lines(lines: Iterable[str]) -> list[Fix]:
    """Fixes from RMC/GGA sentences found anywhere in ``lines`` (reusable for subtitle text)."""
    return parse_nmea(lines).fixes


def parse_nmea(lines: Iterable[str], max_fixes: int = MAX_FIXES) -> NmeaResult:
    """Like ``parse_nmea_lines`` with the counts of ignored sentences.

    RMC and GGA sentences of the same second are merged into one fix; the date of the last
    RMC carries forward (a day is added when the time of day wraps past midnight) and is
    copied back to fixes before the first RMC.
    """
    result = NmeaResult()
    raws: list[_Raw] = []
    for line in lines:
        for match in _SENTENCE.finditer(line[:MAX_LINE]):
            raw = _sentence(match, result)
            if raw is None:
                continue
            if raws and raws[-1].tod == raw.tod and _near(raws[-1], raw):
                _merge(raws[-1], raw)
                continue
            if len(raws) >= max_fixes:
                result.truncated = True
                break
            raws.append(raw)
        if result.truncated:
            break
    result.fixes = _with_times(raws, result)
    return result


def _sentence(match: re.Match[str], result: NmeaResult) -> _Raw | None:
    kind = match.group("type")
    body = match.group("body")
    if match.group("cs") is not None:
        xor = 0
        for ch in match.group("talker") + kind + body:
            xor ^= ord(ch)
        if xor != int(match.group("cs"), 16):
            result.bad_checksum += 1
            return None
    f = body[1:].split(",")
    try:
        if kind == "RMC":
            if len(f) < 9:
                raise ValueError("short RMC")
            if f[1].upper() != "A":
                result.void += 1
                return None
            tod = _tod(f[0])
            lat, lon = _coord(f[2], f[3], 2), _coord(f[4], f[5], 3)
            date = _date(f[8])
            alt = None
        elif kind == "GLL":
            if len(f) < 6:
                raise ValueError("short GLL")
            if f[5].strip().upper() != "A":
                result.void += 1
                return None
            tod = _tod(f[4])
            lat, lon = _coord(f[0], f[1], 2), _coord(f[2], f[3], 3)
            date, alt = None, None
        else:
            if len(f) < 9:
                raise ValueError("short GGA")
            if f[5].strip() in ("", "0"):
                result.void += 1
                return None
            tod = _tod(f[0])
            lat, lon = _coord(f[1], f[2], 2), _coord(f[3], f[4], 3)
            date = None
            alt = float(f[8]) if f[8].strip() else None
    except ValueError:
        result.malformed += 1
        return None
    result.sentences[kind] = result.sentences.get(kind, 0) + 1
    return _Raw(tod, date, lat, lon, alt, [kind])


def _tod(text: str) -> float:
    """hhmmss(.sss) → seconds of the day."""
    text = text.strip()
    if len(text) < 6 or not text[:6].isdigit():
        raise ValueError(f"bad time {text!r}")
    h, m, s = int(text[0:2]), int(text[2:4]), float(text[4:])
    if h > 23 or m > 59 or not 0 <= s < 61:
        raise ValueError(f"bad time {text!r}")
    return h * 3600 + m * 60 + s


def _coord(value: str, hemisphere: str, degree_digits: int) -> float:
    """(d)ddmm.mmmm + hemisphere → signed degrees. Degrees are not range-checked here: the
    Collector reports impossible coordinates as invalid."""
    value = value.strip()
    hemisphere = hemisphere.strip().upper()
    if hemisphere not in ("N", "S", "E", "W") or not value:
        raise ValueError("missing coordinate")
    number = float(value)
    if number < 0:
        raise ValueError("negative NMEA coordinate")
    degrees = int(number // 100)
    minutes = number - degrees * 100
    if minutes >= 60:
        raise ValueError(f"minutes {minutes} >= 60")
    sign = -1.0 if hemisphere in ("S", "W") else 1.0
    if (hemisphere in ("N", "S")) != (degree_digits == 2):
        raise ValueError("hemisphere letter on the wrong axis")
    return sign * (degrees + minutes / 60.0)


def _date(text: str) -> tuple[int, int, int] | None:
    """ddmmyy → (year, month, day); years 80–99 are 19xx (GPS started in 1980)."""
    text = text.strip()
    if len(text) != 6 or not text.isdigit():
        return None
    d, m, y = int(text[0:2]), int(text[2:4]), int(text[4:6])
    if not (1 <= d <= 31 and 1 <= m <= 12):
        return None
    return (1900 + y if y >= 80 else 2000 + y, m, d)


def _near(a: _Raw, b: _Raw) -> bool:
    return abs(a.lat - b.lat) < 1e-3 and abs(a.lon - b.lon) < 1e-3


def _merge(into: _Raw, other: _Raw) -> None:
    into.date = into.date or other.date
    into.alt = into.alt if into.alt is not None else other.alt
    for kind in other.kinds:
        if kind not in into.kinds:
            into.kinds.append(kind)


def _with_times(raws: list[_Raw], result: NmeaResult) -> list[Fix]:
    first_date = next((r.date for r in raws if r.date), None)
    result.dated = first_date is not None
    fixes: list[Fix] = []
    day_start: float | None = _epoch(first_date) if first_date else None
    last_tod: float | None = None
    for raw in raws:
        if raw.date:
            day_start = _epoch(raw.date)
        elif day_start is not None and last_tod is not None and raw.tod + _DAY / 2 < last_tod:
            day_start += _DAY   # time of day wrapped past midnight without a new RMC date
        last_tod = raw.tod
        time = raw.tod if day_start is None else day_start + raw.tod
        fixes.append(Fix(raw.lat, raw.lon, raw.alt, time, (("sentence", "+".join(raw.kinds)),)))
    return fixes


def _epoch(date: tuple[int, int, int]) -> float | None:
    try:
        return float(calendar.timegm((date[0], date[1], date[2], 0, 0, 0)))
    except (ValueError, OverflowError):
        return None


def parse(src: Source, out: Collector) -> None:
    """An NMEA log file: one track of every RMC/GGA fix."""
    text = read_text(src, out, "NMEA")
    result = parse_nmea(text.splitlines())
    report(result, out)


def report(result: NmeaResult, out: Collector, where_prefix: str = "NMEA") -> None:
    """Hand an NmeaResult to the Collector: one track evidence plus warnings."""
    if result.truncated:
        out.warn(f"{where_prefix}: more than {MAX_FIXES} fixes; the rest were not read")
    if result.bad_checksum:
        out.warn(f"{where_prefix}: {result.bad_checksum} sentence(s) with a wrong checksum ignored")
    if not result.fixes:
        return
    kinds = [k for k in ("RMC", "GGA", "GLL") if result.sentences.get(k)]
    detail = {
        "sentences": dict(result.sentences),
        "void_ignored": result.void,
        "bad_checksum_ignored": result.bad_checksum,
        "malformed_ignored": result.malformed,
        "time_base": "UTC epoch seconds" if result.dated else "seconds of the UTC day (no date)",
    }
    out.track(f"{where_prefix}:{'+'.join(kinds)}", result.fixes, detail)
