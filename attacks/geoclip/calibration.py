"""Calibration: what GeoCLIP's top-1 probability means in kilometres.

GeoCLIP's softmax over 100K gallery points is not a calibrated probability. ``fit_calibration``
bins predictions by that probability and records, per bin, the error distances seen against
known truth (median and 75th percentile). ``radius_for`` then states the error radius a new
prediction supports, and so the granularity it may claim. Without a table the attacker claims
only ``UNCALIBRATED_RADIUS_KM`` (country level): a privacy audit must not credit an
uncalibrated model with street-level precision, nor ignore it.

The table lives beside the model entry: ``$GEOPRIVACY_HOME/geoclip/calibration.json``.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from geoprivacy.errors import GeoprivacyError
from geoprivacy.geo import haversine_km

CALIBRATION_VERSION = 1
#: Bin edges on top-1 probability; GeoCLIP's top-1 is mostly below 0.2.
DEFAULT_EDGES = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4, 1.0)
#: Error radius stated without calibration: the country level of the ladder.
UNCALIBRATED_RADIUS_KM = 750.0
#: Quantile of the error distribution used as "the" radius (the confidence it is stated at).
QUANTILE = 0.75
MIN_PER_BIN = 3


def fit_calibration(predictions: Sequence[tuple[float, float, float]],
                    truths: Sequence[tuple[float, float]],
                    edges: Sequence[float] = DEFAULT_EDGES,
                    meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """A table: probability bins → error radius (km) at ``QUANTILE``, from (lat, lon, prob)
    predictions and their (lat, lon) truths. Bins with fewer than ``MIN_PER_BIN`` samples
    borrow the next coarser bin's radius (so sparse bins never claim more than they saw)."""
    if len(predictions) != len(truths):
        raise GeoprivacyError("calibration: predictions and truths differ in length")
    if not predictions:
        raise GeoprivacyError("calibration: no samples")
    edges = sorted(float(e) for e in edges)
    probs = np.array([p[2] for p in predictions], dtype=float)
    errors = np.array([haversine_km(p[0], p[1], t[0], t[1])
                       for p, t in zip(predictions, truths)], dtype=float)
    bins: list[dict[str, Any]] = []
    for lo, hi in zip(edges, edges[1:]):
        last = hi == edges[-1]
        mask = (probs >= lo) & ((probs <= hi) if last else (probs < hi))
        errs = errors[mask]
        entry: dict[str, Any] = {"lo": lo, "hi": hi, "n": int(mask.sum())}
        if len(errs) >= MIN_PER_BIN:
            entry["median_km"] = round(float(np.median(errs)), 3)
            entry["radius_km"] = round(float(np.quantile(errs, QUANTILE)), 3)
        bins.append(entry)
    overall = round(float(np.quantile(errors, QUANTILE)), 3)
    # Fill sparse bins from the lower-confidence side (never finer than what was measured).
    carry = overall
    for entry in bins:
        if "radius_km" in entry:
            carry = entry["radius_km"]
        else:
            entry["radius_km"] = carry
            entry["borrowed"] = True
    return {"version": CALIBRATION_VERSION, "quantile": QUANTILE, "samples": len(errors),
            "overall_radius_km": overall,
            "overall_median_km": round(float(np.median(errors)), 3),
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "bins": bins, "meta": dict(meta or {})}


def radius_for(table: dict[str, Any] | None, prob: float) -> tuple[float, bool]:
    """(error radius km, calibrated?) for a prediction of top-1 probability ``prob``."""
    if not table or not table.get("bins") or not math.isfinite(prob):
        return UNCALIBRATED_RADIUS_KM, False
    for entry in table["bins"]:
        if entry["lo"] <= prob <= entry["hi"]:
            return float(entry["radius_km"]), True
    return float(table.get("overall_radius_km", UNCALIBRATED_RADIUS_KM)), True


def calibration_path() -> Path:
    from geoprivacy.models import geoprivacy_home
    return geoprivacy_home() / "geoclip" / "calibration.json"


def save_calibration(table: dict[str, Any], path: str | Path | None = None) -> Path:
    """Write the table atomically (JSON) beside the model entry."""
    from geoprivacy.fsutil import atomic_write
    target = Path(path) if path is not None else calibration_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(str(target)) as fh:
        json.dump(table, fh, indent=2, sort_keys=True)
        fh.write("\n")
    return target


def load_calibration(path: str | Path | None = None, backbone_sha256: str | None = None
                     ) -> dict[str, Any] | None:
    """The stored table, or None when there is none, it is unreadable, or it was fitted with
    another backbone (a table only describes the model it was measured on)."""
    source = Path(path) if path is not None else calibration_path()
    try:
        table = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(table, dict) or table.get("version") != CALIBRATION_VERSION or \
            not isinstance(table.get("bins"), list):
        return None
    fitted_with = (table.get("meta") or {}).get("backbone_sha256")
    if backbone_sha256 and fitted_with and fitted_with != backbone_sha256:
        return None
    return table


def fit_from_files(attacker: Any, samples: Sequence[tuple[str, float, float]],
                   edges: Sequence[float] = DEFAULT_EDGES, save: bool = True
                   ) -> dict[str, Any]:
    """Predict each (image path, true lat, true lon) with a GeoClipAttacker, fit the table,
    and (by default) store it beside the model entry. What ``eval`` calls."""
    from PIL import Image

    from geoprivacy.cues.frames import photo_rgb
    model = attacker.model_
    preds: list[tuple[float, float, float]] = []
    truths: list[tuple[float, float]] = []
    for path, lat, lon in samples:
        try:
            rgb = photo_rgb(path)
        except GeoprivacyError:
            continue
        (top,) = model.predict([Image.fromarray(rgb)], top_k=1)
        preds.append((top[0].lat, top[0].lon, top[0].prob))
        truths.append((lat, lon))
    table = fit_calibration(preds, truths, edges, meta={
        "backbone_sha256": model.info["backbone_sha256"], "gallery": model.info["gallery"],
        "gallery_size": model.info["gallery_size"], "skipped": len(samples) - len(preds)})
    if save:
        save_calibration(table, attacker.options.calibration)
        attacker.calibration = table
    return table
