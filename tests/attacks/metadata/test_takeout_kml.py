"""Google Takeout JSON and KML, generated from their published layouts (none in the corpus)."""

from __future__ import annotations

import json

import pytest

from geoprivacy.types import EvidenceKind
from tests.attacks.metadata.sidecar_helpers import by_where, kinds, locations, read_sidecar


def _takeout(geo: dict, exif: dict, description: str = "", indent: int | None = 2) -> bytes:
    doc = {
        "title": "IMG_20200913_094000.jpg",
        "description": description,
        "imageViews": "3",
        "creationTime": {"timestamp": "1600000000", "formatted": "13 Sept 2020, 12:26:40 UTC"},
        "photoTakenTime": {"timestamp": "1599990000", "formatted": "13 Sept 2020, 09:40:00 UTC"},
        "geoData": geo,
        "geoDataExif": exif,
        "url": "https://photos.google.com/photo/AF1Qip",
    }
    return json.dumps(doc, indent=indent).encode()


def _geo(lat: float, lon: float, alt: float = 0.0) -> dict:
    return {"latitude": lat, "longitude": lon, "altitude": alt,
            "latitudeSpan": 0.0, "longitudeSpan": 0.0}


def test_takeout_json_generated_from_layout() -> None:
    container, out, errors = read_sidecar(_takeout(_geo(48.8584, 2.2945, 35.0), _geo(0.0, 0.0)))
    assert container == "TakeoutJSON" and errors == []
    geo = by_where(out, "Takeout:geoData")
    assert (geo.lat, geo.lon) == (48.8584, 2.2945)
    assert geo.detail["alt"] == 35.0 and geo.detail["photo_taken_time"] == 1599990000
    placeholder = by_where(out, "Takeout:geoDataExif")
    assert placeholder.kind is EvidenceKind.PLACEHOLDER


def test_takeout_json_generated_all_zero_is_no_place() -> None:
    _, out, _ = read_sidecar(_takeout(_geo(0.0, 0.0), _geo(0.0, 0.0), indent=None))
    assert kinds(out) == [EvidenceKind.PLACEHOLDER, EvidenceKind.PLACEHOLDER]
    assert locations(out) == []


def test_takeout_json_generated_long_description_and_whitespace_still_sniffed() -> None:
    data = b"\xef\xbb\xbf \n\t" + _takeout(_geo(0.0, 0.0), _geo(-33.8568, 151.2153),
                                              description="x" * 10000, indent=4)
    container, out, _ = read_sidecar(data)
    assert container == "TakeoutJSON"
    assert by_where(out, "Takeout:geoDataExif").lat == -33.8568


def test_takeout_json_generated_impossible_and_broken() -> None:
    _, out, _ = read_sidecar(_takeout(_geo(123.0, 10.0), {"latitude": "n/a"}))
    assert kinds(out) == [EvidenceKind.INVALID, EvidenceKind.INVALID]
    _, out, errors = read_sidecar(b'{"geoData": {"latitude": 1.5, "longitude": ')
    assert out.evidence == [] and len(errors) == 1 and "not valid JSON" in errors[0]
    _, out, errors = read_sidecar(b'{"geoData": ' + b"[" * 100000 + b"]" * 100000 + b"}")
    assert out.evidence == [] and errors == ["JSON nested too deeply"]


KML_HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<kml xmlns="http://www.opengis.net/kml/2.2" '
            'xmlns:gx="http://www.google.com/kml/ext/2.2">'
            "<Document>")


def test_kml_generated_point_line_and_gx_track() -> None:
    body = (KML_HEAD
            + "<Placemark><name>Office</name><Point><coordinates>-122.0822035,37.4220033612,0"
              "</coordinates></Point></Placemark>"
            + "<Placemark><LineString><coordinates>\n  -112.25,36.08,2357\n  -112.26,36.09,2360\n"
              "</coordinates></LineString></Placemark>"
            + "<Placemark><gx:Track><when>2010-05-28T02:02:09Z</when><when>2010-05-28T02:02:35Z"
              "</when><gx:coord>-122.207881 37.371915 156.0</gx:coord>"
              "<gx:coord>-122.205712 37.373288 152.0</gx:coord></gx:Track></Placemark>"
            + "</Document></kml>")
    container, out, errors = read_sidecar(body.encode())
    assert container == "KML" and errors == []
    office = by_where(out, "KML:Placemark[0]/Point")
    assert (office.lat, office.lon) == (37.4220033612, -122.0822035)   # lon,lat in the file
    assert office.detail["placemark"] == "Office"
    line = by_where(out, "KML:Placemark[1]/LineString")
    assert (line.lat, line.lon) == (36.08, -112.25) and line.detail["track"]["count"] == 2
    track = by_where(out, "KML:Placemark[2]/Track")
    assert track.lat == pytest.approx(37.371915)
    assert track.detail["track"]["duration_s"] == 26.0


def test_kml_generated_impossible_point_is_invalid() -> None:
    body = KML_HEAD + "<Placemark><Point><coordinates>10,95</coordinates></Point></Placemark>" \
        "</Document></kml>"
    _, out, _ = read_sidecar(body.encode())
    assert kinds(out) == [EvidenceKind.INVALID]
