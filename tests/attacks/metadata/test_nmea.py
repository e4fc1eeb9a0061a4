"""NMEA 0183 logs, generated from the sentence descriptions (the corpus has no NMEA log)."""

from __future__ import annotations

import pytest

from geoprivacy.attacks.metadata.nmea import parse_nmea, parse_nmea_lines
from geoprivacy.types import EvidenceKind
from tests.attacks.metadata.sidecar_helpers import by_where, kinds, nmea, read_sidecar

# The textbook example epoch: 12:35:19 UTC, 23 March 1994, 48°07.038' N 11°31.000' E.
GGA = nmea("GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,")
RMC = nmea("GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W")


def test_nmea_generated_from_spec_merges_gga_and_rmc_of_one_second() -> None:
    fixes = parse_nmea_lines([GGA, RMC])
    assert len(fixes) == 1
    fix = fixes[0]
    assert fix.lat == pytest.approx(48 + 7.038 / 60)
    assert fix.lon == pytest.approx(11 + 31.0 / 60)
    assert fix.alt == 545.4
    assert fix.to_dict()["time_iso"] == "1994-03-23T12:35:19Z"
    assert dict(fix.extra)["sentence"] == "GGA+RMC"


def test_nmea_generated_from_spec_ignores_void_bad_checksum_and_no_fix() -> None:
    lines = [
        nmea("GPRMC,123520,V,4807.038,N,01131.000,E,,,230394,,"),      # status V: void
        nmea("GNGGA,123521,4807.038,N,01131.000,E,0,00,,,M,,M,,"),      # quality 0: no fix
        RMC[:-2] + "00",                                               # wrong checksum
        nmea("GPRMC,123522,A,4807.0,N,01199.000,E,,,230394,,"),         # 99 minutes: malformed
        nmea("GNRMC,123523,A,3351.000,S,15112.000,W,0.0,0.0,230394,,"),  # GN talker, S/W
    ]
    result = parse_nmea(lines)
    assert (result.void, result.bad_checksum, result.malformed) == (2, 1, 1)
    assert len(result.fixes) == 1
    assert result.fixes[0].lat == pytest.approx(-(33 + 51 / 60))
    assert result.fixes[0].lon == pytest.approx(-(151 + 12 / 60))


def test_nmea_generated_from_spec_sentence_without_checksum_is_accepted() -> None:
    assert len(parse_nmea_lines(["$GPRMC,123519,A,4807.038,N,01131.000,E,,,230394,,"])) == 1


def test_nmea_generated_from_spec_dates_carry_and_roll_past_midnight() -> None:
    lines = [
        nmea("GPGGA,235958,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,"),  # before any RMC
        nmea("GPRMC,235959,A,4807.038,N,01131.000,E,,,311299,,"),
        nmea("GPGGA,000001,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,"),  # next day
    ]
    iso = [f.to_dict()["time_iso"] for f in parse_nmea_lines(lines)]
    assert iso == ["1999-12-31T23:59:58Z", "1999-12-31T23:59:59Z", "2000-01-01T00:00:01Z"]


def test_nmea_generated_from_spec_gll_sentences() -> None:
    fixes = parse_nmea_lines([nmea("GPGLL,4916.45,N,12311.12,W,225444,A,"),
                              nmea("GPGLL,4916.46,N,12311.13,W,225445,V,")])   # V: void
    assert len(fixes) == 1
    assert (fixes[0].lat, fixes[0].lon) == pytest.approx((49 + 16.45 / 60, -(123 + 11.12 / 60)))
    assert fixes[0].time == 22 * 3600 + 54 * 60 + 44


def test_nmea_generated_from_spec_without_date_uses_seconds_of_day() -> None:
    fixes = parse_nmea_lines([GGA])
    assert fixes[0].time == 12 * 3600 + 35 * 60 + 19


def test_nmea_log_file_generated_from_spec_is_one_track() -> None:
    lines = []
    for i in range(5):
        minutes = 7.038 + i * 0.01
        lines.append(nmea(f"GPGGA,1235{i:02d},48{minutes:06.3f},N,01131.000,E,1,08,0.9,545.4,M,"
                          "46.9,M,,"))
        lines.append(nmea(f"GPRMC,1235{i:02d},A,48{minutes:06.3f},N,01131.000,E,0.5,0.0,230394,,"))
        lines.append(nmea("GPGSV,3,1,11,03,03,111,00,04,15,270,00,06,01,010,00,13,06,292,00"))
    container, out, errors = read_sidecar(("\r\n".join(lines) + "\r\n").encode())
    assert container == "NMEA" and errors == []
    track = by_where(out, "NMEA:RMC+GGA")
    assert track.kind is EvidenceKind.TRACK
    assert track.detail["track"]["count"] == 5
    assert track.detail["track"]["duration_s"] == 4.0
    assert track.detail["time_base"] == "UTC epoch seconds"


def test_nmea_log_generated_with_logger_timestamps_before_each_sentence() -> None:
    lines = [f"2021-06-01 08:00:0{i} {nmea(f'GNRMC,08000{i},A,5231.200,N,01324.300,E,,,010621,,')}"
             for i in range(3)]
    container, out, _ = read_sidecar("\n".join(lines).encode())
    assert container == "NMEA"
    track = by_where(out, "NMEA:RMC")
    assert track.detail["track"]["first"]["time_iso"] == "2021-06-01T08:00:00Z"


def test_nmea_log_generated_from_spec_all_zero_is_placeholder() -> None:
    lines = [nmea("GPRMC,123519,A,0000.000,N,00000.000,E,,,230394,,")] * 3
    _, out, _ = read_sidecar("\n".join(lines).encode())
    assert kinds(out) == [EvidenceKind.PLACEHOLDER]


def test_nmea_hostile_lines_are_bounded() -> None:
    lines = ["$GPRMC," + "9" * 100000, "$GPGGA" * 10000, "$" * 50000]
    assert parse_nmea_lines(lines) == []
    many = [f"$GPRMC,1235{i:02d},A,4807.038,N,01131.000,E,,,230394,," for i in range(10)]
    result = parse_nmea(many, max_fixes=3)
    assert result.truncated and len(result.fixes) == 3
