"""What every metadata parser shares: the Collector that turns raw values into Evidence.

Parsers never build Evidence themselves: they hand coordinates, names and tracks to the
Collector, which decides placeholder vs invalid vs real place and the granularity, the same
way for every container.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from geoprivacy.geo import granularity_for_radius, is_null_island, is_valid_coordinate, \
    radius_for_precision
from geoprivacy.tracks import Fix, summarize
from geoprivacy.types import Evidence, EvidenceKind, Granularity

ATTACKER = "metadata"


@dataclass
class Options:
    """Switches that change what parsers report."""

    detail: bool = False              # every track fix in the JSON
    stop_radius_m: float = 50.0
    stop_seconds: float = 120.0


@dataclass
class Collector:
    """Accumulates evidence and non-fatal warnings while parsers walk one file."""

    options: Options = field(default_factory=Options)
    evidence: list[Evidence] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def position(self, where: str, lat: float | None, lon: float | None, *,
                 step_deg: float | None = None, detail: dict[str, Any] | None = None) -> None:
        """A single coordinate pair; ``step_deg`` is its quantisation (coarsened coordinates)."""
        detail = dict(detail or {})
        problem = coordinate_problem(lat, lon)
        if problem == "placeholder":
            self.placeholder(where, "coordinates are (0, 0), a no-fix placeholder", detail)
            return
        if problem:
            self.invalid(where, problem, {**detail, "lat": _finite(lat), "lon": _finite(lon)})
            return
        radius = radius_for_precision(step_deg)
        self.evidence.append(Evidence(
            attacker=ATTACKER, kind=EvidenceKind.POSITION, where=where, lat=lat, lon=lon,
            radius_km=None if radius is None else round(radius, 3),
            granularity=granularity_for_radius(radius), detail=detail))

    def place_name(self, where: str, name: str, level: Granularity,
                   detail: dict[str, Any] | None = None) -> None:
        """A named place (street, city, region, country) without coordinates."""
        name = name.strip().strip("\x00").strip()
        if not name:
            self.placeholder(where, "empty place-name field", detail or {})
            return
        self.evidence.append(Evidence(
            attacker=ATTACKER, kind=EvidenceKind.PLACE_NAME, where=where, granularity=level,
            detail={"name": name, **(detail or {})}))

    def track(self, where: str, fixes: list[Fix], detail: dict[str, Any] | None = None) -> None:
        """A sequence of fixes: one Evidence with the first fix and a summary of the track."""
        good = [f for f in fixes if coordinate_problem(f.lat, f.lon) is None]
        dropped = len(fixes) - len(good)
        detail = dict(detail or {})
        if dropped:
            detail["dropped_fixes"] = dropped
        if not good:
            if fixes:
                bad = fixes[0]
                problem = coordinate_problem(bad.lat, bad.lon)
                if problem == "placeholder":
                    self.placeholder(where, f"track of {len(fixes)} fixes, all (0, 0)", detail)
                else:
                    self.invalid(where, f"track of {len(fixes)} fixes, none valid: {problem}",
                                 {**detail, "lat": _finite(bad.lat), "lon": _finite(bad.lon)})
            return
        summary = summarize(good, self.options.stop_radius_m, self.options.stop_seconds,
                            detail=self.options.detail)
        self.evidence.append(Evidence(
            attacker=ATTACKER, kind=EvidenceKind.TRACK, where=where, lat=good[0].lat,
            lon=good[0].lon, granularity=Granularity.EXACT, detail={**detail, "track": summary}))

    def placeholder(self, where: str, reason: str, detail: dict[str, Any] | None = None) -> None:
        self.evidence.append(Evidence(
            attacker=ATTACKER, kind=EvidenceKind.PLACEHOLDER, where=where,
            granularity=Granularity.NONE, confidence=0.0, detail={"reason": reason, **(detail or {})}))

    def invalid(self, where: str, reason: str, detail: dict[str, Any] | None = None) -> None:
        self.evidence.append(Evidence(
            attacker=ATTACKER, kind=EvidenceKind.INVALID, where=where,
            granularity=Granularity.NONE, confidence=0.0, detail={"reason": reason, **(detail or {})}))

    def warn(self, message: str) -> None:
        """A part of the file that could not be checked (the rest still was)."""
        self.warnings.append(message)

    def warnings_as_errors(self) -> list[str]:
        return list(self.warnings)


def coordinate_problem(lat: float | None, lon: float | None) -> str | None:
    """None for a real place, "placeholder" for (0, 0), else why the value is impossible."""
    if lat is None or lon is None:
        return "latitude or longitude missing"
    if not (math.isfinite(lat) and math.isfinite(lon)):
        return "latitude or longitude is not a finite number"
    if not is_valid_coordinate(lat, lon):
        return f"impossible coordinates ({lat:.6g}, {lon:.6g})"
    if is_null_island(lat, lon):
        return "placeholder"
    return None


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None
