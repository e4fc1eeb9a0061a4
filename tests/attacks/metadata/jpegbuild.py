"""Build small JPEG byte streams in tests (segments only; the scan is filler bytes)."""

from __future__ import annotations

import struct


def segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def jpeg(*segments: bytes, scan: bytes = b"\x12\x34" * 16) -> bytes:
    """SOI, the segments, a minimal SOS and scan data, EOI."""
    sos = segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
    return b"\xff\xd8" + b"".join(segments) + sos + scan + b"\xff\xd9"


def exif_app1(tiff: bytes) -> bytes:
    return segment(0xE1, b"Exif\x00\x00" + tiff)


def xmp_app1(packet: bytes) -> bytes:
    return segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + packet)


def extended_xmp_app1s(packet: bytes, guid: bytes = b"0123456789ABCDEF0123456789ABCDEF",
                       parts: int = 3) -> list[bytes]:
    step = -(-len(packet) // parts)
    out = []
    for off in range(0, len(packet), step):
        out.append(segment(0xE1, b"http://ns.adobe.com/xmp/extension/\x00" + guid
                           + struct.pack(">II", len(packet), off) + packet[off:off + step]))
    return out


def iptc_record(dataset: int, value: bytes, record: int = 2) -> bytes:
    return bytes([0x1C, record, dataset]) + struct.pack(">H", len(value)) + value


def irb(resources: list[tuple[int, bytes]], name: bytes = b"") -> bytes:
    out = b""
    for res_id, data in resources:
        pascal = bytes([len(name)]) + name
        if len(pascal) % 2:
            pascal += b"\x00"
        out += b"8BIM" + struct.pack(">H", res_id) + pascal + struct.pack(">I", len(data)) + data
        if len(data) % 2:
            out += b"\x00"
    return out
