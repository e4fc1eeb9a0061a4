"""The Insta360 trailer, built in the test from exiftool's layout (QuickTimeStream.pl,
``ProcessInsta360``): records ``payload, u16 kind, u32 size`` read backwards from a 78-byte
footer that ends in the ASCII id; record 0x700 holds 53-byte GPS entries.

No real Insta360 file is available: these trailers are synthetic. ``test_layout_matches_exiftool``
checks that the installed exiftool reads them the way we do.
"""

from __future__ import annotations

import json
import random
import shutil
import struct
import subprocess
import time
from pathlib import Path

import pytest

from geoprivacy.attacks.metadata import insta360
from geoprivacy.types import EvidenceKind
from tests.attacks.metadata.bmffbuild import box, ftyp, locations, mvhd, only, read_bmff
from tests.geoprivacy.test_cli_audit import cli

MAGIC = b"8db42d694ccc418790edff439fe026bf"
PARIS = (48.858370, 2.294481)
SYDNEY = (-33.856784, 151.215297)
LIMA = (-12.046374, -77.042793)


# --- builders -------------------------------------------------------------------------------

def gps_entry(lat: float, lon: float, t: int = 1_700_000_000, fix: bytes = b"A",
              millis: int = 0, alt: float = 35.0, speed: float = 1.5, track: float = 90.0,
              west: bytes = b"W") -> bytes:
    """One 53-byte entry: u32 secs, u32 counter, u16 ms, fix, lat, N/S, lon, E/W, speed,
    track, alt."""
    ns = b"N" if lat >= 0 else b"S"
    ew = b"E" if lon >= 0 else west
    return struct.pack("<IIHcdcdcddd", t, 7, millis, fix, abs(lat), ns, abs(lon), ew, speed,
                       track, alt)


def gps_payload(*points: tuple[float, float], fix: bytes = b"A", t0: int = 1_700_000_000
                ) -> bytes:
    return b"".join(gps_entry(lat, lon, t0 + i, fix, millis=250)
                    for i, (lat, lon) in enumerate(points))


def gyro_payload(n: int = 7) -> bytes:
    """0x300 entries of 56 bytes: u64 ms timecode, 3 doubles acceleration, 3 doubles gyro."""
    return b"".join(struct.pack("<Q6d", 1000 + i, 0.1, -0.2, 9.8, 0.01, 0.02, -0.03)
                    for i in range(n))


def metadata_payload(gps: bytes | None = None) -> bytes:
    """A protobuf 0x101 record: serial (1), camera type (2), offset (5) and optionally gps (11)."""
    def field(number: int, value: bytes) -> bytes:
        return bytes([number << 3 | 2, len(value)]) + value
    body = field(1, b"IXSE42") + field(2, b"Insta360 X3") + field(5, b"2_1500_1500_1500_0_0_0")
    return body + (field(11, gps) if gps is not None else b"") + bytes([7 << 3, 0x96, 0x01])


def record(kind: int, payload: bytes) -> bytes:
    return payload + struct.pack("<HI", kind, len(payload))


def trailer(records: list[bytes], version: int = 3) -> bytes:
    """Records back to back, then 32 reserved bytes, u32 length (all of it), u32 version, id."""
    body = b"".join(records)
    return body + bytes(32) + struct.pack("<II", len(body) + 72, version) + MAGIC


def directory_trailer(records: list[tuple[int, bytes]], pad: int = 40) -> bytes:
    """The newer layout: payloads separated by zero padding, then a 0x000 directory record
    listing ``kind, size, offset from the trailer start`` for each (the first slot empty)."""
    body = b""
    entries = [bytes(10)]
    for kind, payload in records:
        body += bytes(pad)
        entries.append(struct.pack("<HII", kind, len(payload), len(body)))
        body += payload + struct.pack("<HI", kind, len(payload))
    return trailer([body + record(0x000, b"".join(entries))])


def movie() -> bytes:
    """A small MP4 (ftyp, mdat, moov) that audits clean on its own."""
    return ftyp() + box(b"mdat", bytes(64)) + box(b"moov", mvhd())


def standard_records(gps: bytes | None = None) -> list[bytes]:
    return [record(0x101, metadata_payload()), record(0x300, gyro_payload()),
            record(0x700, gps if gps is not None else gps_payload(PARIS, (48.8585, 2.2946))),
            record(0x400, struct.pack("<Qd", 5, 1 / 120))]


def insta_file(records: list[bytes] | None = None) -> bytes:
    return movie() + trailer(records if records is not None else standard_records())


def audit(data: bytes) -> tuple[list, list[str], float]:
    start = time.monotonic()
    _, out, errors, _ = read_bmff(data)
    return out.evidence, errors, time.monotonic() - start


# --- decoding -------------------------------------------------------------------------------

def test_base_movie_is_clean() -> None:
    evidence, errors, _ = audit(movie())
    assert not evidence and not errors


def test_gps_track_at_the_right_coordinates() -> None:
    gps = gps_payload(SYDNEY, (-33.8570, 151.2155)) + gps_payload(LIMA, t0=1_700_000_002)
    _, out, errors, _ = read_bmff(insta_file(standard_records(gps)))
    assert not errors
    ev = only(out, "Insta360:GPS")
    assert ev.kind is EvidenceKind.TRACK
    assert (ev.lat, ev.lon) == pytest.approx(SYDNEY)
    summary = ev.detail["track"]
    assert summary["count"] == 3
    assert summary["first"]["time"] == pytest.approx(1_700_000_000.25)
    assert (summary["last"]["lat"], summary["last"]["lon"]) == pytest.approx(LIMA)


def test_west_written_as_o_is_west() -> None:
    entry = gps_entry(*LIMA, west=b"O")
    ev = only(read_bmff(insta_file(standard_records(entry)))[1], "Insta360:GPS")
    assert (ev.lat, ev.lon) == pytest.approx(LIMA)


def test_void_fixes_and_null_island_are_no_location() -> None:
    void = gps_payload(PARIS, fix=b"V")
    _, out, errors, _ = read_bmff(insta_file(standard_records(void)))
    assert not errors and not locations(out)
    assert only(out, "Insta360:GPS").kind is EvidenceKind.PLACEHOLDER
    _, out, errors, _ = read_bmff(insta_file(standard_records(gps_payload((0.0, 0.0)))))
    assert not errors and not locations(out)


def test_zeroed_gps_record_is_clean_not_unchecked() -> None:
    evidence, errors, _ = audit(insta_file(standard_records(bytes(53 * 4))))
    assert not evidence and not errors


def test_unrecognised_gps_entry_is_not_checked() -> None:
    bad = bytearray(gps_payload(PARIS))
    bad[19] = ord("X")                      # the N/S byte
    evidence, errors, _ = audit(insta_file(standard_records(bytes(bad))))
    assert any("unrecognised format" in e for e in errors) and not evidence


def test_directory_layout_is_followed() -> None:
    data = movie() + directory_trailer([(0x101, metadata_payload()), (0x300, gyro_payload()),
                                         (0x700, gps_payload(SYDNEY))])
    _, out, errors, _ = read_bmff(data)
    assert not errors
    assert (only(out, "Insta360:GPS").lat, only(out, "Insta360:GPS").lon) == pytest.approx(SYDNEY)


def test_gps_record_in_another_format_is_not_checked() -> None:
    records = standard_records()[:2] + [record(0x701, b"\x0a\x04gpsX")]
    evidence, errors, _ = audit(insta_file(records))
    assert any("0x701" in e and "may hold positions" in e for e in errors)


def test_metadata_gps_field_is_not_checked_unless_blank() -> None:
    records = [record(0x101, metadata_payload(gps=b"\x01\x02\x03\x04")),
               record(0x300, gyro_payload())]
    _, errors, _ = audit(insta_file(records))
    assert any("'gps' field of 4 bytes" in e for e in errors)
    records = [record(0x101, metadata_payload(gps=bytes(4))), record(0x300, gyro_payload())]
    evidence, errors, _ = audit(insta_file(records))
    assert not evidence and not errors


def test_trailer_in_a_top_level_inst_box() -> None:
    inner = trailer(standard_records(gps_payload(LIMA)))
    for data in (movie() + box(b"inst", inner), ftyp() + box(b"inst", inner) + box(b"mdat", b"x")
                 + box(b"moov", mvhd())):
        _, out, errors, _ = read_bmff(data)
        assert not errors, errors
        assert (only(out, "Insta360:GPS").lat, only(out, "Insta360:GPS").lon) == \
            pytest.approx(LIMA)


def test_record_ranges() -> None:
    data = insta_file()
    from geoprivacy.media.source import Source
    with Source.from_bytes(data) as src:
        tr = insta360.read_trailer(src, src.size, 0)
        assert tr is not None and tr.problem is None and tr.start == len(movie())
        assert [r.kind for r in tr.records] == [0x400, 0x700, 0x300, 0x101]
        gps = tr.records[1]
        assert data[gps.start:gps.end] == gps_payload(PARIS, (48.8585, 2.2946))


def test_cli_audit_reports_the_leak(tmp_path: Path) -> None:
    path = tmp_path / "VID_20240101_120000_00_001.insv"
    path.write_bytes(insta_file(standard_records(gps_payload(SYDNEY))))
    out = cli("audit", str(path))
    assert out.returncode == 1, out.stdout + out.stderr
    assert "Insta360:GPS" in out.stdout and "-33.856784, 151.215297" in out.stdout
    assert "NOT CHECKED" not in out.stdout


@pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool not installed")
def test_layout_matches_exiftool(tmp_path: Path) -> None:
    """Our synthetic trailer is the layout exiftool reads (so the tests test the real format)."""
    path = tmp_path / "x.mp4"
    path.write_bytes(insta_file(standard_records(gps_payload(SYDNEY, LIMA))))
    proc = subprocess.run(["exiftool", "-ee", "-n", "-j", "-G3:1", "-a", str(path)],
                          capture_output=True, text=True, timeout=60)
    found = json.loads(proc.stdout)[0]
    lats = sorted(v for k, v in found.items() if k.endswith("Insta360:GPSLatitude"))
    lons = sorted(v for k, v in found.items() if k.endswith("Insta360:GPSLongitude"))
    assert lats == pytest.approx([SYDNEY[0], LIMA[0]])
    assert lons == pytest.approx([LIMA[1], SYDNEY[1]])
    assert "Insta360 X3" in [v for k, v in found.items() if k.endswith("Insta360:Model")]


# --- hostile trailers -----------------------------------------------------------------------

def _with_length(data: bytes, length: int) -> bytes:
    return data[:-40] + struct.pack("<I", length) + data[-36:]


HOSTILE = {   # name: (damage, what the warning must say)
    "length past the file": (lambda d: _with_length(d, len(d) + 1000), "more than the"),
    "length 0xffffffff": (lambda d: _with_length(d, 0xFFFFFFFF), "more than the"),
    "length shorter than the footer": (lambda d: _with_length(d, 10), "less than its 78-byte"),
    "length ends inside a box": (lambda d: _with_length(d, len(d) - len(ftyp()) - 4),
                                 "does not begin where the boxes end"),
    "bytes between boxes and trailer": (lambda d: _with_length(
        d[:len(movie())] + b"JUNKJUNKJUNK" + d[len(movie()):], len(d) - len(movie())),
        "does not begin where the boxes end"),
    "record size past the trailer": (lambda d: d[:-78] + struct.pack("<HI", 0x400, 0xFFFFFF00)
                                     + d[-72:], "before the start of the trailer"),
    "stray bytes before the first record": (lambda d: movie() + trailer(
        [b"\x01\x02\x03", record(0x700, gps_payload(PARIS))]), "unexplained bytes"),
    "zero sizes then data": (lambda d: movie() + trailer(
        [b"\x01" * 5] + [record(0x300, b"")] * 3), "unexplained bytes"),
    "zero header with data before it": (lambda d: movie() + trailer(
        [record(0x700, gps_payload(PARIS)), bytes(6)]), "empty Insta360 record header"),
    "too many records": (lambda d: movie() + trailer([record(0x300, b"")] * 5000),
                         "more than 4096 records"),
    "directory entry past the records": (lambda d: movie() + trailer(
        [record(0x700, gps_payload(PARIS)),
         record(0x000, struct.pack("<HII", 0x700, 53, 10**6))]), "lies past the records"),
    "huge directory": (lambda d: movie() + trailer([record(0x000, bytes(2 * 1024 * 1024))]),
                       "too large to read"),
    "metadata not protobuf": (lambda d: movie() + trailer([record(0x101, b"\x0f\xff\xff")]),
                              "not a readable protobuf"),
    "signature alone after the boxes": (lambda d: movie() + MAGIC, "Insta360 trailer declares"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_trailer_is_never_clean(name: str) -> None:
    damage, expected = HOSTILE[name]
    evidence, errors, seconds = audit(damage(insta_file()))
    assert seconds < 2.0
    assert any(expected in e for e in errors), f"{name}: {errors}"


def reference_walk(data: bytes, boxes_end: int) -> list[tuple[int, bytes]] | None:
    """A second, plain reading of the exiftool layout: the records, or None when the trailer
    cannot be walked to its start (the oracle for the mutation test)."""
    if len(data) - boxes_end < 78 or data[-32:] != MAGIC:
        return None
    start = len(data) - struct.unpack_from("<I", data, len(data) - 40)[0]
    if start != boxes_end:
        return None
    out: list[tuple[int, bytes]] = []
    head = len(data) - 78
    while len(out) <= 4096:
        kind, size = struct.unpack_from("<HI", data, head)
        if head - size < start:
            return None
        if kind == 0 and size:
            for k, n, off in struct.iter_unpack("<HII", data[head - size:head][:size - size % 10]):
                if k and n:
                    if start + off + n > len(data) - 78:
                        return None
                    out.append((k, data[start + off:start + off + n]))
            return out
        if kind == 0:
            return out if not any(data[start:head]) else None
        out.append((kind, data[head - size:head]))
        head -= size
        if head - start < 6:
            return out if not any(data[start:head]) else None
        head -= 6
    return None


def _has_fix(records: list[tuple[int, bytes]]) -> bool:
    for kind, payload in records:
        if kind == 0x700:
            for off in range(0, len(payload) - 52, 53):
                e = payload[off:off + 53]
                if e[10:11] == b"A" and e[19:20] in (b"N", b"S") \
                        and e[28:29] in (b"E", b"W", b"O"):
                    lat = struct.unpack_from("<d", e, 11)[0]
                    lon = struct.unpack_from("<d", e, 20)[0]
                    if abs(lat) <= 90 and abs(lon) <= 180 and (lat, lon) != (0, 0):
                        return True
    return False


def test_300_seeded_mutations_never_raise_hang_or_hide() -> None:
    rng = random.Random(360)
    seeds = [insta_file(), movie() + directory_trailer(
        [(0x101, metadata_payload()), (0x700, gps_payload(SYDNEY)), (0x300, gyro_payload(3))])]
    boxes_end = len(movie())
    outcomes = {"walked": 0, "not walked": 0}
    for i in range(300):
        data = bytearray(seeds[i % 2])
        for _ in range(rng.randint(1, 6)):
            # bias towards the footer and record headers, where the sizes are; the id stays
            # (without it the bytes are no trailer, only data after the boxes: see
            # test_broken_signature_is_read_as_before)
            pos = (len(data) - rng.randint(33, 130) if rng.random() < 0.5
                   else rng.randrange(boxes_end, len(data) - 32))
            data[pos] = rng.randrange(256) if rng.random() < 0.7 else rng.choice((0, 0xFF))
        data = bytes(data)
        evidence, errors, seconds = audit(data)
        assert seconds < 2.0, f"mutation {i} took {seconds:.2f} s"
        walked = reference_walk(data, boxes_end)
        outcomes["walked" if walked is not None else "not walked"] += 1
        if walked is None:
            assert errors, f"mutation {i}: unwalkable trailer reported as checked"
        elif _has_fix(walked):
            assert errors or any(e.where == "Insta360:GPS" for e in evidence), \
                f"mutation {i}: a GPS fix went unreported"
    assert min(outcomes.values()) > 20, outcomes   # both branches were exercised


def test_broken_signature_is_read_as_before() -> None:
    """Without the id at the very end the bytes are not recognised as a trailer and the file is
    read as boxes, exactly as before this reader existed (here: the trailer's first bytes are no
    valid box, so the file is not checked)."""
    data = insta_file()[:-1] + b"X"
    evidence, errors, _ = audit(data)
    assert any("past the end of the file" in e for e in errors)
