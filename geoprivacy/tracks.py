"""GPS tracks: a list of fixes summarised as what reveals a person — start, end, stops."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from geoprivacy.geo import haversine_km

DEFAULT_STOP_RADIUS_M = 50.0
DEFAULT_STOP_SECONDS = 120.0


@dataclass(frozen=True)
class Fix:
    """One GPS fix. ``time`` is seconds (epoch, or media time when no clock is known)."""

    lat: float
    lon: float
    alt: float | None = None
    time: float | None = None
    extra: tuple[tuple[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"lat": self.lat, "lon": self.lon}
        if self.alt is not None:
            out["alt"] = self.alt
        if self.time is not None:
            out["time"] = self.time
            if self.time > 1e8:
                out["time_iso"] = datetime.utcfromtimestamp(self.time).isoformat() + "Z"
        out.update(dict(self.extra))
        return out


def summarize(fixes: list[Fix], stop_radius_m: float = DEFAULT_STOP_RADIUS_M,
              stop_seconds: float = DEFAULT_STOP_SECONDS, detail: bool = False) -> dict[str, Any]:
    """First/last fix, count, bounding box, distance, duration and stop clusters.

    Fixes with times are ordered by time (GPX files are not always in order); the others keep
    their file order.
    """
    if not fixes:
        return {"count": 0}
    ordered = sorted(fixes, key=lambda f: f.time) if all(f.time is not None for f in fixes) \
        else list(fixes)
    lats = [f.lat for f in ordered]
    lons = [f.lon for f in ordered]
    distance = sum(haversine_km(a.lat, a.lon, b.lat, b.lon) for a, b in zip(ordered, ordered[1:]))
    times = [f.time for f in ordered if f.time is not None]
    out: dict[str, Any] = {
        "count": len(ordered),
        "first": ordered[0].to_dict(),
        "last": ordered[-1].to_dict(),
        "bbox": {"min_lat": min(lats), "min_lon": min(lons),
                 "max_lat": max(lats), "max_lon": max(lons)},
        "distance_km": round(distance, 4),
        "duration_s": (round(max(times) - min(times), 3) if len(times) >= 2 else None),
        "stops": stop_clusters(ordered, stop_radius_m, stop_seconds),
    }
    if detail:
        out["fixes"] = [f.to_dict() for f in ordered]
    return out


def stop_clusters(fixes: list[Fix], radius_m: float = DEFAULT_STOP_RADIUS_M,
                  min_seconds: float = DEFAULT_STOP_SECONDS) -> list[dict[str, Any]]:
    """Places where the track dwells within ``radius_m`` for at least ``min_seconds``.

    A greedy sweep: a cluster grows while fixes stay within the radius of its first fix.
    Without timestamps there is no dwell time, so there are no stops. Dense telemetry (30 Hz
    drone SRTs, 18 Hz GPMF) is thinned to one fix per second first: the sweep costs fixes ×
    fixes-per-window, which at 30 Hz took minutes, and stops are about minutes anyway.
    """
    if all(f.time is None for f in fixes):
        return []
    fixes = _one_per_second(fixes)
    stops: list[dict[str, Any]] = []
    i = 0
    n = len(fixes)
    while i < n:
        anchor = fixes[i]
        j = i + 1
        while j < n and haversine_km(anchor.lat, anchor.lon, fixes[j].lat, fixes[j].lon) * 1000 \
                <= radius_m:
            j += 1
        t0, t1 = anchor.time, fixes[j - 1].time
        if t0 is not None and t1 is not None and t1 - t0 >= min_seconds:
            members = fixes[i:j]
            stops.append({
                "lat": sum(f.lat for f in members) / len(members),
                "lon": sum(f.lon for f in members) / len(members),
                "start": t0, "end": t1, "seconds": round(t1 - t0, 3), "fixes": len(members),
            })
            i = j
        else:
            i += 1
    return stops


def _one_per_second(fixes: list[Fix]) -> list[Fix]:
    """Fixes at least a second apart (all kept when some have no time)."""
    if any(f.time is None for f in fixes):
        return fixes
    kept: list[Fix] = []
    for fix in fixes:
        if not kept or fix.time - kept[-1].time >= 1.0:  # type: ignore[operator]
            kept.append(fix)
    if kept[-1] is not fixes[-1]:
        kept.append(fixes[-1])
    return kept
