"""Deterministic test files with known metadata, built byte by byte (no corpus needed)."""

from __future__ import annotations

import io
import struct

MAKERNOTE = b"TESTNOTE" + struct.pack(">I", 0xDEADBEEF) + bytes(range(64))


def rational3(value: float) -> bytes:
    deg = int(value)
    minutes = (value - deg) * 60
    return struct.pack(">IIIIII", deg, 1, int(minutes * 1000), 1000, 0, 1)


def make_exif(lat: float = 55.7, lon: float = 13.19, orientation: int = 1) -> bytes:
    """Big-endian TIFF: IFD0 (Orientation, Exif and GPS pointers), Exif IFD with a MakerNote,
    GPS IFD (N/E refs, DMS rationals), then the MakerNote bytes at the end."""
    ifd0, exif_ifd, gps = 8, 50, 68
    lat_at, lon_at, note_at = 122, 146, 170
    out = b"MM\x00\x2a" + struct.pack(">I", ifd0)
    out += struct.pack(">H", 3)
    out += struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0)
    out += struct.pack(">HHII", 0x8769, 4, 1, exif_ifd)
    out += struct.pack(">HHII", 0x8825, 4, 1, gps)
    out += struct.pack(">I", 0)
    out += struct.pack(">H", 1) + struct.pack(">HHII", 0x927C, 7, len(MAKERNOTE), note_at)
    out += struct.pack(">I", 0)
    out += struct.pack(">H", 4)
    out += struct.pack(">HHI", 1, 2, 2) + b"N\x00\x00\x00"
    out += struct.pack(">HHII", 2, 5, 3, lat_at)
    out += struct.pack(">HHI", 3, 2, 2) + b"E\x00\x00\x00"
    out += struct.pack(">HHII", 4, 5, 3, lon_at)
    out += struct.pack(">I", 0)
    assert len(out) == lat_at
    out += rational3(lat) + rational3(lon)
    assert len(out) == note_at
    return out + MAKERNOTE


def xmp_packet(body: str, *, extended_guid: str | None = None) -> bytes:
    note = (f' xmlns:xmpNote="http://ns.adobe.com/xmp/note/" '
            f'xmpNote:HasExtendedXMP="{extended_guid}"') if extended_guid else ""
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        f'<rdf:Description rdf:about=""{note}\n'
        ' xmlns:exif="http://ns.adobe.com/exif/1.0/"\n'
        ' xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/"\n'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/"\n'
        ' xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/">\n'
        f'{body}\n</rdf:Description>\n</rdf:RDF></x:xmpmeta>\n'
        + " " * 200 + '\n<?xpacket end="w"?>').encode()


GPS_XMP_BODY = (
    '<exif:GPSLatitude>55,42.0N</exif:GPSLatitude>\n'
    '<exif:GPSLongitude>13,11.4E</exif:GPSLongitude>\n'
    '<photoshop:City>Lund</photoshop:City>\n'
    '<Iptc4xmpExt:LocationCreated><rdf:Bag><rdf:li rdf:parseType="Resource">'
    '<Iptc4xmpExt:City>Lund</Iptc4xmpExt:City></rdf:li></rdf:Bag>'
    '</Iptc4xmpExt:LocationCreated>\n'
    '<dc:title><rdf:Alt><rdf:li xml:lang="x-default">Keep this title</rdf:li></rdf:Alt>'
    '</dc:title>')


def segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def plain_jpeg(size: tuple[int, int] = (32, 24), color: tuple[int, int, int] = (200, 30, 30),
               **save: object) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "JPEG", quality=90, **save)
    return buf.getvalue()


def with_segments(jpeg: bytes, segments: list[bytes]) -> bytes:
    """Insert segments right after SOI and the JFIF APP0 (if any)."""
    at = 2
    if jpeg[2:4] == b"\xff\xe0":
        at += 2 + struct.unpack(">H", jpeg[4:6])[0]
    return jpeg[:at] + b"".join(segments) + jpeg[at:]


def exif_segment(tiff: bytes) -> bytes:
    return segment(0xE1, b"Exif\x00\x00" + tiff)


def mpf_file(primary: bytes, secondary: bytes) -> bytes:
    """Primary JPEG with an MPF APP2 whose second entry points at ``secondary`` (appended)."""
    def app2(primary_size: int, second_offset: int) -> bytes:
        tiff = b"MM\x00\x2a" + struct.pack(">I", 8) + struct.pack(">H", 3)
        entries_at = 8 + 2 + 36 + 4
        tiff += struct.pack(">HHI", 0xB000, 7, 4) + b"0100"
        tiff += struct.pack(">HHII", 0xB001, 4, 1, 2)
        tiff += struct.pack(">HHII", 0xB002, 7, 32, entries_at)
        tiff += struct.pack(">I", 0)
        tiff += struct.pack(">IIIHH", 0x20030000, primary_size, 0, 0, 0)
        tiff += struct.pack(">IIIHH", 0x00020002, len(secondary), second_offset, 0, 0)
        return segment(0xE2, b"MPF\x00" + tiff)

    probe = with_segments(primary, [app2(0, 0)])
    base = probe.index(b"MPF\x00") + 4
    final = with_segments(primary, [app2(len(probe), len(probe) - base)])
    assert len(final) == len(probe)
    return final + secondary


def extended_xmp_segments(extended: bytes, guid: str, chunk: int) -> list[bytes]:
    out = []
    for off in range(0, len(extended), chunk):
        out.append(segment(0xE1, b"http://ns.adobe.com/xmp/extension/\x00" + guid.encode()
                           + struct.pack(">II", len(extended), off) + extended[off:off + chunk]))
    return out


def iim(record: int, dataset: int, value: bytes) -> bytes:
    return bytes([0x1C, record, dataset]) + struct.pack(">H", len(value)) + value


def irb(resource: int, data: bytes) -> bytes:
    return b"8BIM" + struct.pack(">H", resource) + b"\x00\x00" + struct.pack(">I", len(data)) \
        + data + (b"\x00" if len(data) & 1 else b"")
