"""Overlay text parsing: every coordinate form cameras print, and nothing from times or speeds."""

from __future__ import annotations

import time

import pytest

from geoprivacy.cues.overlay import parse_coordinates, parse_overlay


@pytest.mark.parametrize("text, lat, lon, form", [
    ("N52.1234 E020.5678", 52.1234, 20.5678, "hemisphere"),
    ("S33.9249 W070.1234", -33.9249, -70.1234, "hemisphere"),
    ("52.1234N 20.5678E 58 km/h", 52.1234, 20.5678, "hemisphere"),
    ("LAT:-33.9249 LON:18.4241", -33.9249, 18.4241, "labelled"),
    ("Lat 40.7128 N Lng 74.0060 W", 40.7128, -74.0060, "labelled"),
    ("52.1234, 20.5678", 52.1234, 20.5678, "pair"),
    ("GPS -22.9519 -43.2105", -22.9519, -43.2105, "pair"),
    ("52°12'34.5\"N 20°34'56.7\"E", 52.2095833, 20.5824167, "dms"),
    ("52o12'34.5\"N 20o34'56.7\"W", 52.2095833, -20.5824167, "dms"),   # OCR reads ° as o
])
def test_coordinate_forms(text: str, lat: float, lon: float, form: str) -> None:
    found = parse_coordinates(text)
    assert len(found) == 1
    assert found[0].lat == pytest.approx(lat, abs=1e-6)
    assert found[0].lon == pytest.approx(lon, abs=1e-6)
    assert found[0].form == form


@pytest.mark.parametrize("text", [
    "2024-05-17 14:03:22", "58 km/h", "speed 12.5 time 10.30", "ISO 100 F2.8 1/250",
    "N0.0000 E0.0000",           # a no-fix placeholder is not a place
    "N95.1234 E020.5678",        # impossible latitude
])
def test_no_false_coordinates(text: str) -> None:
    assert parse_coordinates(text) == []


def test_lines_split_over_two_rows_and_other_facts() -> None:
    facts = parse_overlay(["2024/05/17 14:03:22  72 km/h", "N 48.8584", "E 2.2945", "WX 12345"])
    assert [(c.lat, c.lon) for c in facts.coordinates] == [(48.8584, 2.2945)]
    assert facts.speeds == ["72 km/h"]
    assert facts.dates == ["2024/05/17"]
    assert facts.times == ["14:03:22"]
    assert "WX 12345" in facts.plates


def test_precision_is_kept() -> None:
    (c,) = parse_coordinates("N52.12 E020.56")
    assert c.step_deg == pytest.approx(0.01)


def test_hostile_text_is_bounded() -> None:
    line = ("N52.1234 E020.5678 " * 10_000) + "9" * 100_000
    start = time.perf_counter()
    facts = parse_overlay([line] * 500)
    assert time.perf_counter() - start < 5
    assert len(facts.coordinates) == 1
