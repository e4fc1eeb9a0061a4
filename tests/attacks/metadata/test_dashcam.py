"""Dashcam boxes: the 70mai corpus files and Novatek ``gps ``/``freeGPS`` built from its layout."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from geoprivacy.attacks.metadata.dashcam import decode_freegps
from geoprivacy.types import EvidenceKind
from tests.attacks.metadata.bmffbuild import box, ftyp, locations, mvhd, only, read_bmff


def test_70mai_track(shared_data: Path) -> None:
    _, out, errors, _ = read_bmff(shared_data / "videos/70mai_NO20191130-120156-000121.MP4")
    assert not errors
    ev = only(out, "70mai:GPS")
    assert (ev.lat, ev.lon) == pytest.approx((52.1905833333333, 20.7894833333333), abs=1e-9)
    summary = ev.detail["track"]
    assert summary["count"] == 61 and summary["duration_s"] == 60.0
    assert summary["first"]["speed_kmh"] == pytest.approx(105.33)


def test_70mai_fuzzed_box_is_invalid_not_a_place(shared_data: Path) -> None:
    _, out, errors, _ = read_bmff(shared_data / "malformed/70mai_PA20191130-121856-000138.MP4")
    assert not locations(out)
    assert any(e.kind is EvidenceKind.INVALID and e.where == "70mai:GPS" for e in out.evidence)
    assert any("cut off" in e for e in errors)       # the truncated second box is reported


def test_70mai_record_layout_generated() -> None:
    """36-byte little-endian records; an all-zero record ends the list; W/S flip the sign."""
    record = struct.pack("<IIIIcIcI", 1, 1, 7, 50_000, b"S", 3351_000, b"W", 7036_500) + bytes(10)
    data = ftyp(b"mp42") + box(b"moov", mvhd()) + box(b"GPS ", record + bytes(36) + record)
    _, out, errors, _ = read_bmff(data)
    summary = only(out, "70mai:GPS").detail["track"]
    assert not errors and summary["count"] == 1
    assert (summary["first"]["lat"], summary["first"]["lon"]) == \
        pytest.approx((-(33 + 51 / 60), -(70 + 36.5 / 60)))


def freegps_block(lat_ddmm: float, ns: bytes, lon_ddmm: float, ew: bytes, status: bytes = b"A",
                  when: tuple[int, int, int, int, int, int] = (10, 30, 5, 21, 6, 14)) -> bytes:
    """A Novatek ``freeGPS`` block: ``free`` box, ``GPS ``, time at 48, fix at 72, floats at 76."""
    hour, minute, second, year, month, day = when
    body = bytearray(b"GPS " + bytes(0x400 - 12))
    struct.pack_into("<6I", body, 48 - 8, hour, minute, second, year, month, day)
    body[72 - 8:75 - 8] = status + ns + ew
    struct.pack_into("<4f", body, 76 - 8, lat_ddmm, lon_ddmm, 12.5, 90.0)
    return box(b"free", bytes(body))


def novatek_movie(blocks: list[bytes]) -> bytes:
    head = ftyp(b"mp42")
    offsets, at, tail = [], len(head), b""
    for block in blocks:
        offsets.append((at, len(block)))
        at += len(block)
        tail += block
    gps = box(b"gps ", struct.pack(">II", 0x101, len(offsets)) + b"".join(
        struct.pack(">II", o, s) for o, s in offsets))
    return head + tail + box(b"moov", mvhd() + gps)


def test_novatek_freegps_generated_from_layout() -> None:
    blocks = [freegps_block(4852.5, b"N", 221.0, b"E"),
              freegps_block(4852.6, b"N", 221.1, b"E", when=(10, 30, 6, 21, 6, 14)),
              freegps_block(0.0, b"N", 0.0, b"E", status=b"V")]
    container, out, errors, _ = read_bmff(novatek_movie(blocks))
    assert container == "MP4" and not errors
    ev = only(out, "Novatek:freeGPS")
    assert (ev.lat, ev.lon) == pytest.approx((48 + 52.5 / 60, 2 + 21.0 / 60), abs=1e-5)
    summary = ev.detail["track"]
    assert summary["count"] == 2 and ev.detail["void_blocks"] == 1
    assert summary["first"]["time_iso"] == "2021-06-14T10:30:05Z"


def test_novatek_iqs_variant_uses_decimal_degrees() -> None:
    block = bytearray(freegps_block(0.0, b"S", 0.0, b"W"))
    block[16:19] = b"IQS"
    struct.pack_into("<iii", block, 76, 339_000_000, 1_512_000_000, 500)
    fix = decode_freegps(bytes(block))
    assert fix is not None and (fix.lat, fix.lon) == pytest.approx((-33.9, -151.2))


def test_novatek_block_pointing_past_end_of_file() -> None:
    gps = box(b"gps ", struct.pack(">III", 0x101, 1, 10_000_000) + struct.pack(">I", 1024))
    data = ftyp(b"mp42") + box(b"moov", mvhd() + gps)
    _, out, errors, _ = read_bmff(data)
    assert not locations(out) and any("past the end" in e for e in errors)


def test_novatek_all_void_is_a_placeholder() -> None:
    _, out, _, _ = read_bmff(novatek_movie([freegps_block(0, b"N", 0, b"E", status=b"V")]))
    assert not locations(out)
    assert only(out, "Novatek:freeGPS").kind is EvidenceKind.PLACEHOLDER


def test_freegps_rejects_other_blocks() -> None:
    assert decode_freegps(b"") is None
    assert decode_freegps(box(b"free", b"XXXX" + bytes(200))) is None


def test_detail_lists_every_fix(shared_data: Path) -> None:
    from geoprivacy.attacks.metadata.common import Options

    path = shared_data / "videos/70mai_NO20191130-120156-000121.MP4"
    _, out, _, _ = read_bmff(path, Options(detail=True))
    fixes = only(out, "70mai:GPS").detail["track"]["fixes"]
    assert len(fixes) == 61 and [f["time"] for f in fixes[:3]] == [0.0, 1.0, 2.0]
