"""GPX: the corpus tracks, and GPX 1.1 files generated from the topografix schema."""

from __future__ import annotations

import time as _time
from pathlib import Path

import pytest

from geoprivacy.attacks.metadata.common import Options
from geoprivacy.types import EvidenceKind
from tests.attacks.metadata.sidecar_helpers import by_where, kinds, locations, read_sidecar

HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
        '<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">\n')


def _iso(epoch: float) -> str:
    return _time.strftime("%Y-%m-%dT%H:%M:%SZ", _time.gmtime(epoch))


def _pt(tag: str, lat: float, lon: float, t: float | None = None, extra: str = "") -> str:
    when = f"<time>{_iso(t)}</time>" if t is not None else ""
    return f'<{tag} lat="{lat:.6f}" lon="{lon:.6f}"><ele>10.0</ele>{when}{extra}</{tag}>\n'


def test_out_of_order_times_first_fix_is_file_order_time_order_in_summary(
        shared_data: Path) -> None:
    _, out, errors = read_sidecar(shared_data / "sidecars/Geotag.gpx")
    assert errors == []
    trk = by_where(out, "GPX:trk[0]")
    assert (trk.lat, trk.lon) == (43.641, -116.062231)            # first <trkpt> in the file
    assert trk.detail["first_in_file"]["time_iso"] == "2003-05-24T17:10:05Z"
    assert trk.detail["times_out_of_order"] == 8
    assert trk.detail["first_by_time"]["time_iso"] == "2003-05-24T17:09:04Z"
    summary = trk.detail["track"]                                 # summarize() sorts by time
    assert summary["first"]["time_iso"] == "2003-05-24T17:09:04Z"
    assert summary["last"]["time_iso"] == "2003-05-24T17:10:05Z"
    assert summary["duration_s"] == 61.0


def test_gpx11_generated_tracks_routes_waypoints() -> None:
    t0 = 1_700_000_000
    body = (HEAD
            + _pt("wpt", 47.3769, 8.5417, t0, "<name>Home</name>")
            + _pt("wpt", 47.3800, 8.5400)
            + "<rte><name>r</name>" + _pt("rtept", 46.0, 7.0) + _pt("rtept", 46.1, 7.1) + "</rte>"
            + "<trk><trkseg>" + _pt("trkpt", 45.0, 6.0, t0) + "</trkseg>"
            + "<trkseg>" + _pt("trkpt", 45.001, 6.001, t0 + 60) + "</trkseg></trk>"
            + "<trk><trkseg>" + _pt("trkpt", 44.0, 5.0, t0) + "</trkseg></trk>"
            + _pt("wpt", 0.0, 0.0)
            + "</gpx>\n")
    container, out, errors = read_sidecar(body.encode())
    assert container == "GPX" and errors == []
    assert [e.where for e in out.evidence] == [
        "GPX:wpt[0]", "GPX:wpt[1]", "GPX:rte[0]", "GPX:trk[0]", "GPX:trk[1]", "GPX:wpt[2]"]
    home = by_where(out, "GPX:wpt[0]")
    assert home.kind is EvidenceKind.POSITION and home.detail["name"] == "Home"
    assert by_where(out, "GPX:rte[0]").detail["track"]["count"] == 2
    trk = by_where(out, "GPX:trk[0]")
    assert trk.detail["segments"] == 2 and trk.detail["track"]["duration_s"] == 60.0
    assert by_where(out, "GPX:wpt[2]").kind is EvidenceKind.PLACEHOLDER


def test_gpx10_without_namespace_and_latin1_generated() -> None:
    body = ('<?xml version="1.0" encoding="ISO-8859-1"?><gpx version="1.0">'
            '<wpt lat="48.8584" lon="2.2945"><name>Caf\xe9</name></wpt></gpx>').encode("latin-1")
    _, out, errors = read_sidecar(body)
    assert errors == []
    assert by_where(out, "GPX:wpt[0]").detail["name"] == "Café"


def test_gpx_stop_cluster_generated_dwell_ten_minutes() -> None:
    """Drive, dwell 10 minutes at one place (GPS jitter of a few metres), drive on."""
    t0 = 1_700_000_000
    points = []
    for i in range(10):                       # approach from the south, 30 s apart
        points.append(_pt("trkpt", 52.50 + i * 0.001, 13.40, t0 + i * 30))
    stop_lat, stop_lon = 52.510, 13.400
    t = t0 + 10 * 30
    for j in range(21):                       # 10 minutes, one fix every 30 s
        jitter = 0.00002 * ((j % 3) - 1)
        points.append(_pt("trkpt", stop_lat + jitter, stop_lon - jitter, t + j * 30))
    t += 21 * 30
    for i in range(1, 10):                    # leave to the north
        points.append(_pt("trkpt", stop_lat + i * 0.001, stop_lon, t + i * 30))
    body = HEAD + "<trk><trkseg>" + "".join(points) + "</trkseg></trk></gpx>"
    _, out, _ = read_sidecar(body.encode(), Options(stop_radius_m=50.0, stop_seconds=120.0))
    stops = by_where(out, "GPX:trk[0]").detail["track"]["stops"]
    assert len(stops) == 1
    assert stops[0]["lat"] == pytest.approx(stop_lat, abs=1e-4)
    assert stops[0]["lon"] == pytest.approx(stop_lon, abs=1e-4)
    assert stops[0]["seconds"] >= 600


def test_gpx_impossible_and_unreadable_points_are_invalid() -> None:
    body = HEAD + "<trk><trkseg>" + _pt("trkpt", 95.0, 10.0) \
        + '<trkpt lat="north" lon="east"/></trkseg></trk></gpx>'
    _, out, _ = read_sidecar(body.encode())
    assert kinds(out) == [EvidenceKind.INVALID] and locations(out) == []


def test_gpx_with_entities_is_refused_quickly() -> None:
    laughs = ('<?xml version="1.0"?><!DOCTYPE gpx [<!ENTITY a "aaaaaaaaaa">'
              + "".join(f'<!ENTITY {c}{i} "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">' for i, c in
                        enumerate("bcdefghij"))
              + ']><gpx><wpt lat="1" lon="2"><name>&j8;</name></wpt></gpx>')
    started = _time.perf_counter()
    _, out, errors = read_sidecar(laughs.encode())
    assert _time.perf_counter() - started < 2
    assert out.evidence == []
    assert any("DOCTYPE or ENTITY" in e for e in errors)


def test_truncated_gpx_keeps_points_before_the_damage() -> None:
    body = HEAD + _pt("wpt", 40.0, -3.0) + "<trk><trkseg>" + _pt("trkpt", 41.0, -4.0) \
        + _pt("trkpt", 41.001, -4.001) + '<trkpt lat="41.002" lo'
    _, out, errors = read_sidecar(body.encode())
    assert {e.where for e in locations(out)} == {"GPX:wpt[0]", "GPX:trk[0]"}
    assert by_where(out, "GPX:trk[0]").detail["track"]["count"] == 2
    assert any("malformed XML" in e and "2 points" not in e for e in errors)
    assert any("points before the damage" in e for e in errors)


def test_gpx_that_is_broken_from_the_start_is_one_error() -> None:
    _, out, errors = read_sidecar(b"<gpx><trk><trkseg><trkpt lat=")
    assert out.evidence == [] and len(errors) == 1 and "malformed XML" in errors[0]
