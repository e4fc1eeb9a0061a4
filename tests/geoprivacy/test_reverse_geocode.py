"""Offline reverse geocoding: known places, invalid input, no stdout noise."""

from __future__ import annotations

import pytest

pytest.importorskip("reverse_geocoder")

from geoprivacy.reverse_geocode import reverse_geocode, reverse_geocode_many  # noqa: E402


@pytest.mark.parametrize("lat, lon, city, country, cc", [
    (52.2297, 21.0122, "Warsaw", "Poland", "PL"),
    (40.7128, -74.0060, "New York City", "United States", "US"),
    (35.6895, 139.6917, "Tokyo", "Japan", "JP"),
    (-33.9249, 18.4241, "Cape Town", "South Africa", "ZA"),
])
def test_known_cities(lat: float, lon: float, city: str, country: str, cc: str) -> None:
    place = reverse_geocode(lat, lon)
    assert place is not None
    assert place.city == city
    assert place.country == country
    assert place.country_code == cc
    assert place.region
    assert place.distance_km < 15


def test_invalid_coordinates_give_none_and_keep_order() -> None:
    places = reverse_geocode_many([(95.0, 0.0), (52.2297, 21.0122), (float("nan"), 1.0)])
    assert places[0] is None and places[2] is None
    assert places[1] is not None and places[1].country_code == "PL"


def test_quiet_on_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    reverse_geocode(48.8566, 2.3522)
    assert capsys.readouterr().out == ""


def test_to_dict_and_label() -> None:
    place = reverse_geocode(52.52, 13.405)
    assert place is not None
    d = place.to_dict()
    assert d["country_code"] == "DE" and d["country"] == "Germany"
    assert place.label().endswith(", Germany")
