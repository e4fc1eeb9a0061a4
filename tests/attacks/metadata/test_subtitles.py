"""GPS text in tx3g/mov_text subtitle tracks, written from 3GPP TS 26.245 (timed text) samples."""

from __future__ import annotations

import struct

import pytest

from geoprivacy.attacks.metadata.subtitles import fixes_from_text, sample_text
from tests.attacks.metadata.bmffbuild import locations, movie_with_samples, only, read_bmff, \
    sample_entry
from tests.attacks.metadata.sidecar_helpers import nmea


def tx3g(text: str) -> bytes:
    """A timed-text sample: 16-bit big-endian length, then UTF-8 text."""
    raw = text.encode()
    return struct.pack(">H", len(raw)) + raw


def text_movie(lines: list[str]) -> bytes:
    entry = sample_entry(b"tx3g", bytes(30))
    return movie_with_samples(b"sbtl", entry, [tx3g(line) for line in lines])


def test_subtitle_nmea_generated() -> None:
    lines = [nmea("GPRMC,081836,A,3751.65,S,14507.36,E,000.0,360.0,130998,011.3,E"),
             nmea("GPRMC,081837,A,3751.66,S,14507.37,E,000.0,360.0,130998,011.3,E"),
             nmea("GPRMC,081838,V,3751.66,S,14507.37,E,000.0,360.0,130998,011.3,E")]
    container, out, errors, _ = read_bmff(text_movie(lines))
    assert container == "MP4" and not errors
    ev = only(out, "Subtitle:NMEA")
    assert (ev.lat, ev.lon) == pytest.approx((-(37 + 51.65 / 60), 145 + 7.36 / 60), abs=1e-6)
    summary = ev.detail["track"]
    assert summary["count"] == 2                                   # the void fix is ignored
    assert summary["first"]["time_iso"] == "1998-09-13T08:18:36Z"


def test_subtitle_nmea_with_bad_checksum_is_ignored() -> None:
    line = nmea("GPRMC,081836,A,3751.65,S,14507.36,E,000.0,360.0,130998,011.3,E")
    _, out, _, _ = read_bmff(text_movie([line[:-2] + "00"]))
    assert not out.evidence


def test_subtitle_dashcam_pairs_generated() -> None:
    lines = ["2021/06/14 10:30:05 N48.8752 E2.3501 45km/h",
             "2021/06/14 10:30:06 N48.8753 E2.3502 46km/h"]
    _, out, errors, _ = read_bmff(text_movie(lines))
    ev = only(out, "Subtitle:text")
    assert not errors and (ev.lat, ev.lon) == pytest.approx((48.8752, 2.3501))
    assert ev.detail["track"]["count"] == 2 and ev.detail["track"]["last"]["time"] == 1.0


def test_subtitle_dji_fields_and_old_layout() -> None:
    new = "F/2.8, SS 320 [latitude: 22.543100] [longitude: 113.954200] [rel_alt: 5.0]"
    old = "HOME(113.9542,22.5431) GPS(113.9543,22.5432,15) D 12.3m"
    _, out, _, _ = read_bmff(text_movie([new, old]))
    ev = only(out, "Subtitle:DJI")
    assert (ev.lat, ev.lon) == pytest.approx((22.5431, 113.9542))
    assert ev.detail["track"]["last"]["lat"] == pytest.approx(22.5432)   # longitude first


@pytest.mark.parametrize("text", ["Happy birthday!", "Speed 45.1234, 12.5", "00:00:01,000"])
def test_ordinary_subtitles_are_not_positions(text: str) -> None:
    assert fixes_from_text(text, 0.0) == []


def test_sample_text_handles_utf16_and_short_samples() -> None:
    raw = "N1.2345 E2.3456".encode("utf-16")
    assert sample_text(struct.pack(">H", len(raw)) + raw) == "N1.2345 E2.3456"
    assert sample_text(b"\x00") == ""
    assert sample_text(struct.pack(">H", 1000) + b"abc") == "abc"


def test_plain_decimal_pair() -> None:
    found = fixes_from_text("GPS: 40.712800, -74.006000", 3.0)
    assert found and found[0][1].lat == pytest.approx(40.7128) and found[0][1].time == 3.0
    _, out, _, _ = read_bmff(text_movie(["GPS: 40.712800, -74.006000"]))
    assert locations(out)
