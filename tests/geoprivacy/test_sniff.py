"""Containers are detected from content, never from the extension."""

from __future__ import annotations

import struct

import pytest

from geoprivacy.media.sniff import sniff
from geoprivacy.media.source import Source


def ftyp(major: bytes, *compat: bytes) -> bytes:
    body = major + b"\0\0\0\0" + b"".join(compat)
    return struct.pack(">I", 8 + len(body)) + b"ftyp" + body


@pytest.mark.parametrize("data, container, kind", [
    (b"\xff\xd8\xff\xe1\0\x10Exif", "JPEG", "photo"),
    (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "PNG", "photo"),
    (b"II*\0\x08\0\0\0", "TIFF", "photo"),
    (b"MM\0*\0\0\0\x08", "TIFF", "photo"),
    (b"RIFF\x10\0\0\0WEBPVP8X", "WebP", "photo"),
    (b"RIFF\x10\0\0\0AVI LIST", "AVI", "video"),
    (ftyp(b"heic", b"mif1", b"heic"), "HEIF", "photo"),
    (ftyp(b"avif", b"mif1", b"avif"), "AVIF", "photo"),
    (ftyp(b"qt  "), "MOV", "video"),
    (ftyp(b"3gp5", b"3gp5", b"isom"), "3GP", "video"),
    (ftyp(b"isom", b"isom", b"mp42"), "MP4", "video"),
    (ftyp(b"M4A ", b"M4A ", b"mp42", b"isom"), "MP4", "audio"),
    (struct.pack(">I", 8) + b"moov", "MOV", "video"),
    (b"1\n00:00:00,000 --> 00:00:01,000\n[latitude: 1]", "SRT", "sidecar"),
    (b"\xef\xbb\xbf<?xml version='1.0'?><gpx version='1.1'>", "GPX", "sidecar"),
    (b"<x:xmpmeta xmlns:x='adobe:ns:meta/'>", "XMP", "sidecar"),
    (b"$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*6A\n", "NMEA",
     "sidecar"),
    (b'{\n "title": "a.jpg",\n "geoData": {"latitude": 1}}', "TakeoutJSON", "sidecar"),
    ((b"\x47" + bytes(187)) * 5, "MPEG-TS", "video"),
    ((bytes(4) + b"\x47" + bytes(187)) * 5, "MPEG-TS", "video"),       # .mts/.m2ts
    ((b"\x47" + bytes(187)) * 2 + bytes(188) * 3, "unknown", "unknown"),   # chance, not sync
    (b"hello world", "unknown", "unknown"),
    (b"", "empty", "unknown"),
])
def test_sniff(data: bytes, container: str, kind: str) -> None:
    got = sniff(Source.from_bytes(data))
    assert (got.container, got.kind) == (container, kind)
