"""SRT telemetry: DJI layouts from the corpus, and files generated from the layout descriptions."""

from __future__ import annotations

from pathlib import Path

import pytest

from geoprivacy.types import EvidenceKind
from tests.attacks.metadata.sidecar_helpers import by_where, kinds, locations, nmea, \
    read_sidecar


def _srt(*bodies: str, step: float = 1.0) -> str:
    """A SubRip file: numbered entries, ``hh:mm:ss,mmm --> hh:mm:ss,mmm`` lines, blank lines."""
    def stamp(t: float) -> str:
        ms = round(t * 1000)
        return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"
    parts = [f"{i + 1}\n{stamp(i * step)} --> {stamp((i + 1) * step)}\n{body}\n"
             for i, body in enumerate(bodies)]
    return "\n".join(parts) + "\n"


def test_old_dji_layout_is_longitude_first_with_home_point(shared_data: Path) -> None:
    _, out, errors = read_sidecar(shared_data / "sidecars/p4_rtk.SRT")
    assert errors == []
    gps = by_where(out, "SRT:GPS")
    assert gps.kind is EvidenceKind.TRACK
    assert (gps.lat, gps.lon) == pytest.approx((-34.237922, -58.851745), abs=1e-7)
    assert gps.detail["coordinate_order"] == "lon,lat (DJI)"
    assert gps.detail["track"]["count"] == 55
    home = by_where(out, "SRT:HOME")
    assert home.kind is EvidenceKind.POSITION
    assert (home.lat, home.lon) == pytest.approx((-34.232707, -58.847509), abs=1e-7)
    assert home.detail["entries"] == 55


def test_new_dji_layout_keeps_clock_and_subtitle_time_range(shared_data: Path) -> None:
    _, out, _ = read_sidecar(shared_data / "sidecars/air2s.srt")
    track = by_where(out, "SRT:GPS").detail["track"]
    first = track["first"]
    assert first["time_iso"] == "2022-08-07T13:40:40.774000Z"   # "2022-08-07 13:40:40,774,808"
    assert (first["media_start"], first["media_end"]) == (0.0, 0.033)
    assert first["alt"] == 117.0
    assert track["count"] == 17


def test_undated_srt_uses_media_seconds(shared_data: Path) -> None:
    _, out, _ = read_sidecar(shared_data / "sidecars/mavic_mini.SRT")
    gps = by_where(out, "SRT:GPS")
    assert gps.detail["time_base"].startswith("media seconds")
    assert gps.detail["track"]["duration_s"] == 116.0


def test_cut_srt_reads_entries_before_the_cut_and_says_so(shared_data: Path) -> None:
    _, out, errors = read_sidecar(shared_data / "malformed/broken_incomplete.SRT")
    gps = by_where(out, "SRT:GPS")
    assert gps.detail["track"]["count"] == 19
    assert by_where(out, "SRT:HOME").lat == pytest.approx(-34.7386)
    assert any("cut short" in e for e in errors)


def test_srt_without_gps_gives_nothing(shared_data: Path) -> None:
    _, out, errors = read_sidecar(shared_data / "sidecars/mavic_air.SRT")
    assert out.evidence == [] and errors == []


def test_dji_bracket_variants_generated_from_layout() -> None:
    # Mavic 2 style: spaces before the colon, the misspelt "longtitude", rel_alt/abs_alt.
    text = _srt(
        '<font size="28">FrameCnt: 1, DiffTime: 33ms\n2019-03-04 10:11:12.123\n'
        "[iso : 100] [latitude : 40.123456] [longtitude : -3.654321] "
        "[rel_alt: 1.300 abs_alt: 61.578]</font>",
        '<font size="28">FrameCnt: 2, DiffTime: 33ms\n2019-03-04 10:11:12.156\n'
        "[iso : 100] [latitude : 40.123460] [longtitude : -3.654330] "
        "[rel_alt: 1.400 abs_alt: 61.678]</font>")
    container, out, _ = read_sidecar(text.encode())
    assert container == "SRT"
    gps = by_where(out, "SRT:GPS")
    assert (gps.lat, gps.lon) == (40.123456, -3.654321)
    first = gps.detail["track"]["first"]
    assert first["alt"] == 61.578 and first["rel_alt"] == 1.3


def test_zero_fixes_are_placeholders_and_impossible_ones_invalid() -> None:
    zeros = _srt(*["[latitude: 0.000000] [longitude: 0.000000] [altitude: 0.0]"] * 3)
    _, out, _ = read_sidecar(zeros.encode())
    assert kinds(out) == [EvidenceKind.PLACEHOLDER] and locations(out) == []

    bad = _srt("GPS (-200.0000, 95.0000, 10)", "GPS (-200.0000, 95.0000, 10)")
    _, out, _ = read_sidecar(bad.encode())
    assert kinds(out) == [EvidenceKind.INVALID] and locations(out) == []

    mixed = _srt("[latitude: 0.0] [longitude: 0.0]", "[latitude: 51.5] [longitude: -0.12]")
    _, out, _ = read_sidecar(mixed.encode())
    gps = by_where(out, "SRT:GPS")
    assert (gps.lat, gps.lon) == (51.5, -0.12) and gps.detail["dropped_fixes"] == 1


def test_old_dji_layout_with_metre_suffix_generated() -> None:
    _, out, _ = read_sidecar(_srt("GPS(9.1900,45.4642,19.6M) BAROMETER:20.1",
                                  "GPS(9.1901,45.4643,19.8M) BAROMETER:20.1").encode())
    gps = by_where(out, "SRT:GPS")
    assert (gps.lat, gps.lon) == (45.4642, 9.19)
    assert gps.detail["track"]["first"]["alt"] == 19.6


def test_gps_pair_that_cannot_be_lon_lat_is_read_as_lat_lon() -> None:
    _, out, _ = read_sidecar(_srt("GPS (35.6812, 139.7671, 40)").encode())
    gps = by_where(out, "SRT:GPS")
    assert (gps.lat, gps.lon) == (35.6812, 139.7671)
    assert gps.detail["swapped_to_lat_lon"] == 1


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-8-sig"])
def test_utf16_and_bom_srt_generated(encoding: str) -> None:
    text = _srt("GPS (2.294500, 48.858400, 30), HOME (2.290000, 48.850000, 0.00m)")
    container, out, _ = read_sidecar(text.encode(encoding))
    assert container == "SRT"
    assert by_where(out, "SRT:GPS").lat == 48.8584
    assert by_where(out, "SRT:HOME").lon == 2.29


def test_dashcam_srt_generated_from_common_layouts() -> None:
    # Dashcam subtitle styles: hemisphere letters, a bare "lat,lon" pair, NMEA sentences.
    letters = _srt("2021/06/01 08:00:00 N:52.520008 E:13.404954 45km/h",
                   "2021/06/01 08:00:01 N:52.520108 E:13.405054 46km/h")
    _, out, _ = read_sidecar(letters.encode())
    text = by_where(out, "SRT:text")
    assert (text.lat, text.lon) == (52.520008, 13.404954)
    assert text.detail["track"]["first"]["time_iso"] == "2021-06-01T08:00:00Z"

    south_west = _srt("33.868800 S, 151.209300 E  GPS", "22.906800S 43.172900W")
    _, out, _ = read_sidecar(south_west.encode())
    assert (by_where(out, "SRT:text").lat, by_where(out, "SRT:text").lon) == (-33.8688, 151.2093)

    pair = _srt("SPEED 40 KM/H  GPS: 40.416775,-3.703790",
                "SPEED 41 KM/H  GPS: 40.416875,-3.703890")
    _, out, _ = read_sidecar(pair.encode())
    assert by_where(out, "SRT:text").lon == -3.70379

    sentences = _srt(nmea("GPRMC,081500,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W"),
                     "$GPRMC,081501,A,4807.048,N,01131.010,E,022.4,084.4,230394,003.1,W")
    _, out, _ = read_sidecar(sentences.encode())
    track = by_where(out, "SRT:NMEA")
    assert track.lat == pytest.approx(48.1173)
    assert track.detail["track"]["first"]["time_iso"] == "1994-03-23T08:15:00Z"
    assert track.detail["track"]["first"]["media_start"] == 0.0


def test_hostile_srt_text_is_bounded_and_quiet() -> None:
    junk = ("1\n00:00:00,000 --> 00:00:01,000\n" + "GPS (" * 20000 + "[latitude: " * 20000
            + "9" * 100000 + "\n")
    _, out, errors = read_sidecar(junk.encode())
    assert locations(out) == []


def test_dense_drone_srt_generated_hover_is_a_stop() -> None:
    """30 entries a second (DJI at 30 fps): 3 minutes of hover, then a slow climb away."""
    bodies = []
    for i in range(30 * 240):
        seconds = i / 30
        lat = 46.0 if seconds < 180 else 46.0 + (seconds - 180) * 2e-5   # ~2 m/s after hover
        clock = f"2023-04-05 06:{7 + int(seconds) // 60:02d}:{int(seconds) % 60:02d},{i % 30:03d}"
        bodies.append(f"{clock}\n[latitude: {lat:.6f}] [longitude: 7.500000] [altitude: 50.0]")
    _, out, _ = read_sidecar(_srt(*bodies, step=1 / 30).encode())
    track = by_where(out, "SRT:GPS").detail["track"]
    assert track["count"] == 7200
    assert len(track["stops"]) == 1
    stop = track["stops"][0]
    assert stop["lat"] == pytest.approx(46.0, abs=1e-4)
    assert 175 <= stop["seconds"] <= 205      # 180 s hover + ~22 s to leave the 50 m radius


def test_many_distinct_home_points_are_bounded() -> None:
    bodies = [f"GPS (2.{i:06d}, 48.{i:06d}, 30), HOME (2.{i:06d}, 48.{i:06d}, 0.00m)"
              for i in range(1500)]
    _, out, errors = read_sidecar(_srt(*bodies).encode())
    assert len([e for e in out.evidence if e.where == "SRT:HOME"]) == 16
    assert any("1000+ distinct home points" in e for e in errors)
