"""RIFF AVI: the corpus clip (no GPS) and INFO chunks built from the RIFF layout."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from geoprivacy.attacks.metadata import avi
from geoprivacy.attacks.metadata.common import Collector
from geoprivacy.errors import ParseError
from geoprivacy.media.sniff import sniff
from geoprivacy.media.source import Source


def chunk(kind: bytes, data: bytes) -> bytes:
    return kind + struct.pack("<I", len(data)) + data + (b"\x00" if len(data) % 2 else b"")


def riff_list(kind: bytes, *children: bytes) -> bytes:
    return chunk(b"LIST", kind + b"".join(children))


def avi_file(*children: bytes) -> bytes:
    return chunk(b"RIFF", b"AVI " + b"".join(children))


def read(data: bytes | Path) -> tuple[Collector, int]:
    src = Source.from_path(data) if isinstance(data, Path) else Source.from_bytes(data)
    out = Collector()
    with src:
        assert sniff(src).container == "AVI"
        avi.parse(src, out)
        return out, src.bytes_read


def test_vtest_has_no_location_and_media_is_not_read(shared_data: Path) -> None:
    out, read_bytes = read(shared_data / "videos/vtest.avi")
    assert not out.evidence and not out.warnings and read_bytes < 64 * 1024


def test_info_comment_with_iso6709() -> None:
    data = avi_file(riff_list(b"hdrl", chunk(b"avih", bytes(56))),
                    riff_list(b"INFO", chunk(b"ISFT", b"cam 1.0\x00"),
                              chunk(b"ICMT", b"+35.6586+139.7454/\x00")),
                    riff_list(b"movi", chunk(b"00dc", b"\xff" * 1001)))
    out, _ = read(data)
    assert [(e.where, round(e.lat, 4)) for e in out.evidence] == [("AVI:INFO:ICMT", 35.6586)]


def test_info_hemisphere_pair() -> None:
    data = avi_file(riff_list(b"INFO", chunk(b"IGPS", b"N48.8752 E2.3501")))
    out, _ = read(data)
    assert out.evidence and out.evidence[0].lon == pytest.approx(2.3501)


def test_chunk_past_end_is_a_warning() -> None:
    data = avi_file(riff_list(b"INFO", chunk(b"ICMT", b"+35.6586+139.7454/")))
    broken = data[:12] + b"LIST" + struct.pack("<I", 10_000) + data[20:]   # INFO claims 10 KB
    out, _ = read(broken)
    assert any("past the end" in w for w in out.warnings)
    assert out.evidence                 # what the file does hold is still read


def test_not_riff_is_an_error() -> None:
    with pytest.raises(ParseError):
        avi.parse(Source.from_bytes(b"RIFX" + bytes(20)), Collector())
