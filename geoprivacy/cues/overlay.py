"""Facts burned into the picture by dashcams and drones: coordinates, speed, date, plate.

Input is OCR text (one string per line read). Hand-written regular expressions because no
library parses the loose, OCR-damaged overlay formats cameras print, e.g.::

    N52.1234 E020.5678   52.1234N 20.5678E   LAT:52.1234 LON:20.5678   52.1234, 20.5678
    52°12'34.5"N 20°34'56.7"E   (OCR often reads ° as o, * or a space)
    58 km/h   2024-05-17 14:03:22   17.05.2024   WX 12345

Every match is bounded (line length and matches per line are capped) so hostile text cannot
make the parser slow.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable

from geoprivacy.geo import decimal_step, is_null_island, is_valid_coordinate

MAX_LINE = 400
MAX_MATCHES = 20

_NUM = r"(\d{1,3}(?:[.,]\d{2,8}))"
_SEP = r"[\s,;:/|]*"
# Hemisphere letter before or after each number: N52.1234 E020.5678 / 52.1234N 20.5678E.
_HEMI_PRE = re.compile(rf"\b([NS])\s?:?\s?{_NUM}{_SEP}([EW])\s?:?\s?{_NUM}", re.I)
_HEMI_POST = re.compile(rf"{_NUM}\s?°?\s?([NS])\b{_SEP}{_NUM}\s?°?\s?([EW])\b", re.I)
# Labelled: LAT 52.1234 LON 20.5678 / Lat: -33.9 Lng: 18.4
_LABELLED = re.compile(r"\bLAT(?:ITUDE)?\s*[:=]?\s*([+-]?\d{1,2}(?:[.,]\d{2,8}))\s*[°]?\s*([NS])?"
                       r"[\s,;|/]*LO?N(?:G|GITUDE)?\s*[:=]?\s*([+-]?\d{1,3}(?:[.,]\d{2,8}))\s*[°]?"
                       r"\s*([EW])?", re.I)
# Bare signed decimal pair: 52.1234, 20.5678 (at least 3 decimals each, to skip times/speeds).
_PAIR = re.compile(r"(?<![\d.])([+-]?\d{1,2}\.\d{3,8})\s*[,;/ ]\s*([+-]?\d{1,3}\.\d{3,8})(?![\d.])")
# DMS: 52°12'34.5"N  (° may be read as o, *, º or a space; ' as ’ or ′; " as ” or '')
_DEG = r"[°º*o\s]"
_DMS_ONE = (rf"(\d{{1,3}}){_DEG}\s*(\d{{1,2}})\s*['’′]\s*(\d{{1,2}}(?:[.,]\d+)?)\s*"
            r"(?:\"|”|″|'')?\s*")
_DMS = re.compile(rf"{_DMS_ONE}([NS]){_SEP}{_DMS_ONE}([EW])", re.I)

_SPEED = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d)?)\s?(km\s?/\s?h|kmh|kph|mph|m\s?/\s?s)\b", re.I)
_DATE = re.compile(r"\b((?:19|20)\d{2})[-/.](\d{1,2})[-/.](\d{1,2})\b"
                   r"|\b(\d{1,2})[-/.](\d{1,2})[-/.]((?:19|20)\d{2})\b")
_TIME = re.compile(r"\b([01]?\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?\b")
# Plate-like: 2-3 letter groups and digits, 5-9 characters in all (EU/US/JP styles vary widely).
_PLATE = re.compile(r"\b([A-Z]{1,3}[\s-]?\d{2,5}[\s-]?[A-Z]{0,3}"
                    r"|\d{1,3}[\s-]?[A-Z]{2,3}[\s-]?\d{2,4}"
                    r"|[A-Z]{2}[\s-]?\d{2,3}[\s-]?[A-Z]{2})\b")


@dataclass(frozen=True)
class OverlayCoordinate:
    lat: float
    lon: float
    step_deg: float | None   # quantisation of the printed value (None: DMS with seconds)
    text: str                # the matched characters
    form: str                # hemisphere | labelled | pair | dms


@dataclass
class OverlayFacts:
    """What one block of overlay text gives away."""

    coordinates: list[OverlayCoordinate] = field(default_factory=list)
    speeds: list[str] = field(default_factory=list)
    dates: list[str] = field(default_factory=list)
    times: list[str] = field(default_factory=list)
    plates: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.coordinates or self.speeds or self.dates or self.times or self.plates)

    def to_dict(self) -> dict[str, list[str]]:
        return {"coordinates": [c.text for c in self.coordinates], "speeds": self.speeds,
                "dates": self.dates, "times": self.times, "plates": self.plates}


def _f(text: str) -> float:
    return float(text.replace(",", "."))


def _signed(value: float, hemi: str | None, negative: str) -> float:
    return -abs(value) if hemi and hemi.upper() == negative else value


def _step(*texts: str) -> float | None:
    steps = [decimal_step(t.replace(",", ".")) for t in texts]
    known = [s for s in steps if s is not None]
    return max(known) if known else None


def _accept(out: list[OverlayCoordinate], seen: set[tuple[float, float]], lat: float, lon: float,
            step: float | None, text: str, form: str) -> None:
    key = (round(lat, 5), round(lon, 5))
    if key in seen or not is_valid_coordinate(lat, lon) or is_null_island(lat, lon):
        return
    seen.add(key)
    out.append(OverlayCoordinate(lat, lon, step, text.strip(), form))


def parse_coordinates(line: str) -> list[OverlayCoordinate]:
    """Every coordinate pair written in one line of overlay text, most explicit forms first."""
    line = line[:MAX_LINE]
    out: list[OverlayCoordinate] = []
    seen: set[tuple[float, float]] = set()
    for m in list(_DMS.finditer(line))[:MAX_MATCHES]:
        d1, m1, s1, h1, d2, m2, s2, h2 = m.groups()
        if int(m1) >= 60 or int(m2) >= 60 or _f(s1) >= 60 or _f(s2) >= 60:
            continue
        lat = _signed(int(d1) + int(m1) / 60 + _f(s1) / 3600, h1, "S")
        lon = _signed(int(d2) + int(m2) / 60 + _f(s2) / 3600, h2, "W")
        _accept(out, seen, lat, lon, None, m.group(0), "dms")
    if out:
        return out
    for m in list(_HEMI_PRE.finditer(line))[:MAX_MATCHES]:
        h1, a, h2, b = m.groups()
        _accept(out, seen, _signed(_f(a), h1, "S"), _signed(_f(b), h2, "W"), _step(a, b),
                m.group(0), "hemisphere")
    for m in list(_HEMI_POST.finditer(line))[:MAX_MATCHES]:
        a, h1, b, h2 = m.groups()
        _accept(out, seen, _signed(_f(a), h1, "S"), _signed(_f(b), h2, "W"), _step(a, b),
                m.group(0), "hemisphere")
    for m in list(_LABELLED.finditer(line))[:MAX_MATCHES]:
        a, h1, b, h2 = m.groups()
        _accept(out, seen, _signed(_f(a), h1, "S"), _signed(_f(b), h2, "W"), _step(a, b),
                m.group(0), "labelled")
    if out:
        return out
    for m in list(_PAIR.finditer(line))[:MAX_MATCHES]:
        a, b = m.groups()
        _accept(out, seen, _f(a), _f(b), _step(a, b), m.group(0), "pair")
    return out


def parse_overlay(lines: Iterable[str]) -> OverlayFacts:
    """Coordinates, speeds, dates, times and plate-like strings in OCR'd overlay text.

    Lines are also joined pairwise, since cameras often print latitude and longitude on
    separate lines.
    """
    lines = [ln[:MAX_LINE] for ln in lines][:200]
    facts = OverlayFacts()
    seen: set[tuple[float, float]] = set()
    candidates = list(lines) + [f"{a} {b}" for a, b in zip(lines, lines[1:])]
    for line in candidates:
        for c in parse_coordinates(line):
            key = (round(c.lat, 5), round(c.lon, 5))
            if key not in seen:
                seen.add(key)
                facts.coordinates.append(c)
    for line in lines:
        facts.speeds += [m.group(0) for m in list(_SPEED.finditer(line))[:MAX_MATCHES]]
        facts.dates += [m.group(0) for m in list(_DATE.finditer(line))[:MAX_MATCHES]]
        facts.times += [m.group(0) for m in list(_TIME.finditer(line))[:MAX_MATCHES]]
        if not parse_coordinates(line):
            plates = list(_PLATE.finditer(line.upper()))[:MAX_MATCHES]
            facts.plates += [m.group(0).strip() for m in plates if _plate_like(m.group(0))]
    return facts


def _plate_like(text: str) -> bool:
    compact = re.sub(r"[\s-]", "", text)
    letters = sum(ch.isalpha() for ch in compact)
    digits = sum(ch.isdigit() for ch in compact)
    return 5 <= len(compact) <= 9 and letters >= 1 and digits >= 2 and not \
        re.fullmatch(r"(KMH|KPH|MPH)\d+|\d+(KMH|KPH|MPH)", compact)
