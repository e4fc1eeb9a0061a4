"""Geolocation metrics: accuracy at the granularity thresholds, median error, Recall-vs-Area,
chance level, and the plots that go with them. Pure numpy; matplotlib only for plots.

Recall-vs-Area: for each query, the attacker's ranked predicted regions (discs of ``region_km``
around the ranked neighbour clusters) are taken in order until one contains the truth; the area
needed is the sum of those discs' areas (the whole Earth when none does). Recall at an area
budget A is the share of queries that needed at most A km².
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from geoprivacy.errors import GeoprivacyError
from geoprivacy.geo import EARTH_RADIUS_KM, haversine_km

THRESHOLDS_KM = (1.0, 25.0, 200.0, 750.0, 2500.0)
EARTH_AREA_KM2 = 4 * math.pi * EARTH_RADIUS_KM ** 2
AREA_BUDGETS_KM2 = tuple(10.0 ** e for e in range(0, 9))  # the Earth is 5.1e8 km²


def cap_area_km2(radius_km: float) -> float:
    """Area of a spherical cap (a disc on the Earth) of geodesic radius ``radius_km``."""
    return 2 * math.pi * EARTH_RADIUS_KM ** 2 * (1 - math.cos(min(radius_km / EARTH_RADIUS_KM,
                                                                   math.pi)))


@dataclass(frozen=True)
class QueryResult:
    """One query: truth, prediction, and the area the ranked regions needed to reach the truth."""

    path: str
    true_lat: float
    true_lon: float
    pred_lat: float
    pred_lon: float
    radius_km: float = math.nan
    confidence: float = math.nan
    area_km2: float = EARTH_AREA_KM2
    chance: dict[str, float] = field(default_factory=dict)  # threshold → gallery share

    @property
    def error_km(self) -> float:
        return haversine_km(self.true_lat, self.true_lon, self.pred_lat, self.pred_lon)


def area_to_truth(true_lat: float, true_lon: float,
                  regions: Sequence[tuple[float, float, float]], region_km: float) -> float:
    """Summed area of ranked regions up to the first that contains the truth (else the Earth)."""
    cell = cap_area_km2(region_km)
    for rank, (lat, lon, _w) in enumerate(regions, start=1):
        if haversine_km(true_lat, true_lon, lat, lon) <= region_km:
            return min(rank * cell, EARTH_AREA_KM2)
    return EARTH_AREA_KM2


def chance_shares(true_lat: float, true_lon: float, gallery_lat: np.ndarray,
                  gallery_lon: np.ndarray, thresholds: Sequence[float] = THRESHOLDS_KM
                  ) -> dict[str, float]:
    """Share of gallery entries within each threshold of the truth: what a random pick scores."""
    if len(gallery_lat) == 0:
        return {_key(t): 0.0 for t in thresholds}
    d = distances_km(true_lat, true_lon, gallery_lat, gallery_lon)
    return {_key(t): float(np.mean(d <= t)) for t in thresholds}


def distances_km(lat: float, lon: float, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    p1, p2 = math.radians(lat), np.radians(lats)
    dl = np.radians(lons) - math.radians(lon)
    a = np.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def _key(threshold: float) -> str:
    return f"{threshold:g}km"


def summarize(results: Sequence[QueryResult], thresholds: Sequence[float] = THRESHOLDS_KM,
              budgets: Sequence[float] = AREA_BUDGETS_KM2) -> dict[str, Any]:
    """All metrics over ``results`` as plain JSON-ready values."""
    if not results:
        raise GeoprivacyError("no query could be evaluated")
    errors = np.array([r.error_km for r in results])
    areas = np.array([r.area_km2 for r in results])
    chance = {_key(t): float(np.mean([r.chance.get(_key(t), 0.0) for r in results]))
              for t in thresholds}
    return {
        "queries": len(results),
        "accuracy": {_key(t): float(np.mean(errors <= t)) for t in thresholds},
        "chance": chance,
        "median_error_km": float(np.median(errors)),
        "mean_error_km": float(np.mean(errors)),
        "recall_vs_area": [{"area_km2": float(a), "recall": float(np.mean(areas <= a))}
                           for a in budgets],
        "median_area_km2": float(np.median(areas)),
    }


def per_query(results: Sequence[QueryResult]) -> list[dict[str, Any]]:
    return [{"path": r.path, "truth": [r.true_lat, r.true_lon],
             "prediction": [round(r.pred_lat, 6), round(r.pred_lon, 6)],
             "error_km": round(r.error_km, 4), "radius_km": _finite(r.radius_km),
             "confidence": _finite(r.confidence), "area_km2": round(r.area_km2, 3)}
            for r in results]


def _finite(x: float) -> float | None:
    return None if math.isnan(x) else round(x, 4)


# --------------------------------------------------------------------------- datasets


@dataclass(frozen=True)
class Truth:
    path: str
    lat: float
    lon: float


def read_truth_csv(path: str | os.PathLike[str], limit: int = 1_000_000) -> list[Truth]:
    """``path,lat,lon`` rows (more columns allowed); relative paths are relative to the CSV."""
    base = Path(path).resolve().parent
    out: list[Truth] = []
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = {"path", "lat", "lon"} - set(reader.fieldnames or [])
        if missing:
            raise GeoprivacyError(f"{path}: needs the columns path,lat,lon (missing "
                                  f"{', '.join(sorted(missing))})")
        for line, row in enumerate(reader, start=2):
            if len(out) >= limit:
                raise GeoprivacyError(f"{path}: more than {limit} rows")
            try:
                lat, lon = float(row["lat"]), float(row["lon"])
            except (TypeError, ValueError):
                raise GeoprivacyError(f"{path}:{line}: lat/lon are not numbers") from None
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                raise GeoprivacyError(f"{path}:{line}: coordinates out of range")
            p = Path(row["path"])
            out.append(Truth(str(p if p.is_absolute() else base / p), lat, lon))
    return out


# --------------------------------------------------------------------------- plots


def write_plots(results: Sequence[QueryResult], summary: dict[str, Any],
                directory: str | os.PathLike[str]) -> list[str]:
    """error_cdf.png, accuracy.png, world.png (matplotlib, Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    written = []

    errors = np.sort([max(r.error_km, 1e-3) for r in results])
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.step(errors, np.arange(1, len(errors) + 1) / len(errors), where="post")
    for t in THRESHOLDS_KM:
        ax.axvline(t, color="grey", lw=0.5, ls="--")
    ax.set(xscale="log", xlabel="error (km)", ylabel="share of queries",
           title="Error CDF", ylim=(0, 1.02))
    written.append(_save(fig, out / "error_cdf.png"))

    labels = list(summary["accuracy"])
    x = np.arange(len(labels))
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.bar(x - 0.2, [summary["accuracy"][k] for k in labels], 0.4, label="attacker")
    ax.bar(x + 0.2, [summary["chance"][k] for k in labels], 0.4, label="chance")
    ax.set_xticks(x, labels)
    ax.set(ylabel="accuracy", ylim=(0, 1.02), title="Accuracy by threshold")
    ax.legend()
    written.append(_save(fig, out / "accuracy.png"))

    fig, ax = plt.subplots(figsize=(8, 4.2))
    for r in results:
        ax.plot([r.true_lon, r.pred_lon], [r.true_lat, r.pred_lat], color="grey", lw=0.6)
    ax.scatter([r.true_lon for r in results], [r.true_lat for r in results], s=14,
               label="truth", marker="o")
    ax.scatter([r.pred_lon for r in results], [r.pred_lat for r in results], s=14,
               label="prediction", marker="x")
    ax.set(xlim=(-180, 180), ylim=(-90, 90), xlabel="longitude", ylabel="latitude",
           title="Truth and prediction")
    ax.grid(lw=0.3)
    ax.legend(loc="lower left")
    written.append(_save(fig, out / "world.png"))

    fig, ax = plt.subplots(figsize=(6, 4))
    rva = summary["recall_vs_area"]
    ax.plot([p["area_km2"] for p in rva], [p["recall"] for p in rva], marker="o")
    ax.set(xscale="log", xlabel="area budget (km²)", ylabel="recall", ylim=(0, 1.02),
           title="Recall vs area")
    written.append(_save(fig, out / "recall_vs_area.png"))
    return written


def _save(fig: Any, path: Path) -> str:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return str(path)
