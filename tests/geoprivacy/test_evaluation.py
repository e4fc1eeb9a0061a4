"""Metric code against values worked out by hand on a small table."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from geoprivacy.errors import GeoprivacyError
from geoprivacy.evaluation import (EARTH_AREA_KM2, QueryResult, area_to_truth, cap_area_km2,
                                   chance_shares, read_truth_csv, summarize, write_plots)

KM_PER_DEG = 111.19508  # one degree of longitude on the equator (R = 6371.0088 km)

# Truth at (0, 0); the prediction moved east along the equator by these many degrees.
OFFSETS_DEG = [0.005, 0.1, 1.0, 5.0, 20.0, 40.0]
# Their errors: 0.556, 11.12, 111.2, 556.0, 2224, 4448 km.


def table() -> list[QueryResult]:
    return [QueryResult(f"q{i}", 0.0, 0.0, 0.0, d) for i, d in enumerate(OFFSETS_DEG)]


def test_errors_are_great_circle_km() -> None:
    assert [round(r.error_km, 1) for r in table()] == \
        [round(d * KM_PER_DEG, 1) for d in OFFSETS_DEG]


def test_accuracy_and_median_by_hand() -> None:
    s = summarize(table())
    # ≤1 km: 1 of 6; ≤25: 2; ≤200: 3; ≤750: 4; ≤2500: 5.
    assert s["accuracy"] == pytest.approx({"1km": 1 / 6, "25km": 2 / 6, "200km": 3 / 6,
                                           "750km": 4 / 6, "2500km": 5 / 6})
    # Median of six: mean of the 3rd and 4th errors = (1 + 5) / 2 degrees.
    assert s["median_error_km"] == pytest.approx(3.0 * KM_PER_DEG, rel=1e-5)
    assert s["queries"] == 6


def test_chance_is_share_of_gallery_within_threshold() -> None:
    # Gallery at 0.5, 10, 150, 600, 2000 and 10000 km east of the truth.
    km = np.array([0.5, 10, 150, 600, 2000, 10000])
    shares = chance_shares(0.0, 0.0, np.zeros(6), km / KM_PER_DEG)
    assert shares == pytest.approx({"1km": 1 / 6, "25km": 2 / 6, "200km": 3 / 6,
                                    "750km": 4 / 6, "2500km": 5 / 6})
    assert chance_shares(0, 0, np.zeros(0), np.zeros(0))["25km"] == 0.0


def test_cap_area_matches_flat_disc_when_small() -> None:
    assert cap_area_km2(1.0) == pytest.approx(math.pi, rel=1e-6)
    assert cap_area_km2(1e9) == pytest.approx(EARTH_AREA_KM2)


def test_area_to_truth_counts_ranked_regions() -> None:
    one_km = 1.0 / KM_PER_DEG
    regions = [(0.0, 5.0, 0.9), (0.0, 0.5 * one_km, 0.5), (0.0, 0.0, 0.1)]
    # Truth (0,0) lies in the second region (0.5 km away): two discs of 1 km.
    assert area_to_truth(0.0, 0.0, regions, 1.0) == pytest.approx(2 * cap_area_km2(1.0))
    assert area_to_truth(0.0, 0.0, regions[:1], 1.0) == EARTH_AREA_KM2


def test_recall_vs_area_by_hand() -> None:
    areas = [3.0, 50.0, 5e4, EARTH_AREA_KM2]
    results = [QueryResult(f"q{i}", 0, 0, 0, 0, area_km2=a) for i, a in enumerate(areas)]
    curve = {p["area_km2"]: p["recall"] for p in summarize(results)["recall_vs_area"]}
    assert curve[1.0] == 0.0 and curve[10.0] == 0.25 and curve[100.0] == 0.5
    assert curve[1e4] == 0.5 and curve[1e5] == 0.75 and curve[1e8] == 0.75
    assert max(curve) < EARTH_AREA_KM2  # a truth never reached counts at no budget


def test_empty_results_are_an_error() -> None:
    with pytest.raises(GeoprivacyError):
        summarize([])


def test_truth_csv(tmp_path: Path) -> None:
    good = tmp_path / "truth.csv"
    good.write_text("path,lat,lon,place\nimgs/a.jpg,55.5,13.1,Lund\n/abs/b.jpg,-1,2,x\n")
    rows = read_truth_csv(good)
    assert rows[0].path == str(tmp_path / "imgs" / "a.jpg") and rows[0].lat == 55.5
    assert rows[1].path == "/abs/b.jpg"
    (tmp_path / "bad.csv").write_text("file,lat\nx,1\n")
    with pytest.raises(GeoprivacyError, match="path,lat,lon"):
        read_truth_csv(tmp_path / "bad.csv")
    (tmp_path / "range.csv").write_text("path,lat,lon\nx,91,0\n")
    with pytest.raises(GeoprivacyError, match="out of range"):
        read_truth_csv(tmp_path / "range.csv")


def test_plots_are_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    written = write_plots(table(), summarize(table()), tmp_path / "plots")
    assert {Path(p).name for p in written} == {"error_cdf.png", "accuracy.png", "world.png",
                                               "recall_vs_area.png"}
    for p in written:
        assert Path(p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
