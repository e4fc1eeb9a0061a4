"""Stripping the Insta360 trailer: GPS payloads zeroed in place, everything else byte-identical.

The trailers are synthetic (built from exiftool's layout in tests/attacks/metadata/test_insta360);
no real Insta360 file is available.
"""

from __future__ import annotations

import random
import tempfile
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from geoprivacy.attacks.metadata import insta360
from geoprivacy.cli import main
from geoprivacy.defenses.strip.engine import CLEAN, CLEANED, ERROR, StripSettings, audit, \
    strip_file, writers
from geoprivacy.media.source import Source
from tests.attacks.metadata.bmffbuild import box
from tests.attacks.metadata.test_insta360 import LIMA, SYDNEY, directory_trailer, gps_payload, \
    gyro_payload, metadata_payload, movie, record, standard_records, trailer
from tests.corpus import SHARED_DATA

SAMPLE = SHARED_DATA / "videos" / "sample-5s.mp4"


def base() -> bytes:
    """A real MP4 (audio and video) when the corpus is there, else the small built one."""
    return SAMPLE.read_bytes() if SAMPLE.exists() else movie()


def records_of(data: bytes, end: int | None = None, floor: int = 0) -> list[insta360.Record]:
    with Source.from_bytes(data) as src:
        found = insta360.read_trailer(src, len(data) if end is None else end, floor)
    assert found is not None and found.problem is None
    return found.records


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["strip", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def clean_verdict(path: Path) -> None:
    verdict = audit(str(path))
    assert not verdict.evidence and not verdict.errors, (verdict.evidence, verdict.errors)


def assert_only_gps_zeroed(before: bytes, after: bytes, gps: list[tuple[int, int]]) -> None:
    assert len(after) == len(before)
    for a, b in gps:
        assert after[a:b] == bytes(b - a)
    keep = bytearray(before)
    for a, b in gps:
        keep[a:b] = bytes(b - a)
    assert after == bytes(keep)         # every byte outside the GPS payloads is unchanged


def test_cli_strip_zeroes_gps_and_keeps_everything_else(tmp_path: Path) -> None:
    data = base() + trailer(standard_records(gps_payload(SYDNEY, LIMA)))
    src = tmp_path / "VID_20240101_120000_00_001.insv"
    src.write_bytes(data)
    assert audit(str(src)).has_location
    code, out = run(str(src), "-o", str(tmp_path / "out"))
    assert code == 0, out
    assert "Insta360:GPS" in out
    cleaned = tmp_path / "out" / src.name
    clean_verdict(cleaned)
    after = cleaned.read_bytes()
    recs = records_of(data)
    gps = [(r.start, r.end) for r in recs if r.kind == 0x700]
    assert len(gps) == 1
    assert_only_gps_zeroed(data, after, gps)
    gyro = next(r for r in recs if r.kind == 0x300)
    assert after[gyro.start:gyro.end] == gyro_payload() == data[gyro.start:gyro.end]
    assert records_of(after) == recs    # the trailer still walks the same way
    if SAMPLE.exists():
        assert after[:len(base())] == base()    # the movie (audio/video) untouched


def test_directory_layout_keeps_the_directory(tmp_path: Path) -> None:
    data = movie() + directory_trailer([(0x101, metadata_payload()), (0x700, gps_payload(SYDNEY)),
                                        (0x300, gyro_payload())])
    src = tmp_path / "a.mp4"
    src.write_bytes(data)
    result = strip_file(str(src), StripSettings(output_dir=str(tmp_path / "o")), writers())
    assert result.status == CLEANED and "Insta360:GPS" in result.removed, result
    after = Path(result.output).read_bytes()
    gps = [(r.start, r.end) for r in records_of(data) if r.kind == 0x700]
    assert_only_gps_zeroed(data, after, gps)
    clean_verdict(Path(result.output))


def test_metadata_gps_field_is_zeroed(tmp_path: Path) -> None:
    meta = metadata_payload(gps=b"\x11\x22\x33\x44\x55")
    data = movie() + trailer([record(0x101, meta), record(0x700, gps_payload(LIMA))])
    src = tmp_path / "a.mp4"
    src.write_bytes(data)
    result = strip_file(str(src), StripSettings(output_dir=str(tmp_path / "o")), writers())
    assert result.status == CLEANED, result
    assert set(result.removed) >= {"Insta360:GPS", "Insta360:metadata gps"}
    after = Path(result.output).read_bytes()
    field_at = data.index(b"\x11\x22\x33\x44\x55")
    gps = [(r.start, r.end) for r in records_of(data) if r.kind == 0x700]
    assert_only_gps_zeroed(data, after, gps + [(field_at, field_at + 5)])
    clean_verdict(Path(result.output))


def test_inst_box_is_cleaned(tmp_path: Path) -> None:
    inner = trailer(standard_records(gps_payload(SYDNEY)))
    data = movie() + box(b"inst", inner)
    src = tmp_path / "a.mp4"
    src.write_bytes(data)
    result = strip_file(str(src), StripSettings(output_dir=str(tmp_path / "o")), writers())
    assert result.status == CLEANED, result
    after = Path(result.output).read_bytes()
    gps = [(r.start, r.end) for r in records_of(data, floor=len(movie()) + 8) if r.kind == 0x700]
    assert_only_gps_zeroed(data, after, gps)
    clean_verdict(Path(result.output))


def test_already_clean_trailer_is_left_alone(tmp_path: Path) -> None:
    data = movie() + trailer(standard_records(bytes(53 * 2)))
    src = tmp_path / "a.mp4"
    src.write_bytes(data)
    result = strip_file(str(src), StripSettings(output_dir=str(tmp_path / "o")), writers())
    assert result.status == CLEAN and not result.removed, result


@pytest.mark.parametrize("data", [
    movie() + trailer([record(0x700, gps_payload(SYDNEY))])[:-40] + b"\xff\xff\xff\x7f"
    + trailer([])[-36:],
    movie() + trailer([b"\x01\x02\x03", record(0x700, gps_payload(SYDNEY))]),
    movie() + trailer([record(0x700, gps_payload(SYDNEY)),
                       record(0x000, b"\x00\x07\x35\x00\x00\x00\x00\x00\x10\x00")]),
], ids=["length past the file", "stray bytes", "directory past the records"])
def test_unwalkable_trailer_is_an_error_not_an_output(data: bytes, tmp_path: Path) -> None:
    src = tmp_path / "a.mp4"
    src.write_bytes(data)
    result = strip_file(str(src), StripSettings(output_dir=str(tmp_path / "o")), writers())
    assert result.status == ERROR and result.output is None and result.errors
    assert not (tmp_path / "o" / "a.mp4").exists()
    assert all("\n" not in e for e in result.errors)
    assert any("cannot clean" in e for e in result.errors), result.errors   # refused up front


def test_seeded_mutations_never_give_an_unverified_output() -> None:
    rng = random.Random(3600)
    seed = movie() + trailer(standard_records(gps_payload(SYDNEY, LIMA)))
    start = len(movie())
    statuses: dict[str, int] = {}
    table = writers()
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(100):
            data = bytearray(seed)
            for _ in range(rng.randint(1, 4)):
                pos = (len(data) - rng.randint(33, 130) if rng.random() < 0.5
                       else rng.randrange(start, len(data) - 32))
                data[pos] = rng.randrange(256)
            src = Path(tmp) / f"m{i}.mp4"
            src.write_bytes(bytes(data))
            began = time.monotonic()
            result = strip_file(str(src), StripSettings(output_dir=str(Path(tmp) / "o")), table)
            assert time.monotonic() - began < 2.0
            statuses[result.status] = statuses.get(result.status, 0) + 1
            assert result.status in (CLEANED, CLEAN, ERROR), result
            if result.status == ERROR:
                assert result.output is None
            else:
                clean_verdict(Path(result.output))
                after = Path(result.output).read_bytes()
                assert len(after) == len(data) and after[:start] == bytes(data[:start])
    assert statuses.get(ERROR, 0) > 10 and statuses.get(CLEANED, 0) > 10, statuses
