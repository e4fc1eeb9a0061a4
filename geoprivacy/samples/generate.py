"""Build the embedded sample files deterministically (developer tool; needs Pillow).

    python -m geoprivacy.samples.generate [DIR]

EXIF is written by the small TIFF writer below (hand-written: Pillow's EXIF writer cannot
express rationals with chosen denominators, which the coarse sample needs).
"""

from __future__ import annotations

import io
import struct
import sys
from pathlib import Path

Rational = tuple[int, int]


def _entry(tag: int, typ: int, count: int, value: bytes) -> tuple[int, int, int, bytes]:
    return tag, typ, count, value


def build_tiff(ifd0: list[tuple[int, int, int, bytes]],
               gps: list[tuple[int, int, int, bytes]] | None) -> bytes:
    """A little-endian TIFF block: IFD0 (+ a GPS IFD pointed to by tag 0x8825)."""
    entries = list(ifd0)
    if gps is not None:
        entries.append((0x8825, 4, 1, b"\0\0\0\0"))  # patched below
    entries.sort(key=lambda e: e[0])

    def layout(ifd: list[tuple[int, int, int, bytes]], start: int) -> tuple[bytes, bytes]:
        n = len(ifd)
        data_off = start + 2 + 12 * n + 4
        head = struct.pack("<H", n)
        data = b""
        for tag, typ, count, value in ifd:
            if len(value) <= 4:
                head += struct.pack("<HHI", tag, typ, count) + value.ljust(4, b"\0")
            else:
                head += struct.pack("<HHII", tag, typ, count, data_off + len(data))
                data += value + (b"\0" if len(value) % 2 else b"")
        return head + b"\0\0\0\0", data

    ifd0_head, ifd0_data = layout(entries, 8)
    gps_offset = 8 + len(ifd0_head) + len(ifd0_data)
    if gps is not None:
        entries = [(t, ty, c, struct.pack("<I", gps_offset) if t == 0x8825 else v)
                   for t, ty, c, v in entries]
        ifd0_head, ifd0_data = layout(entries, 8)
        gps_head, gps_data = layout(sorted(gps), gps_offset)
    else:
        gps_head, gps_data = b"", b""
    return b"II*\0" + struct.pack("<I", 8) + ifd0_head + ifd0_data + gps_head + gps_data


def ascii_(tag: int, text: str) -> tuple[int, int, int, bytes]:
    raw = text.encode() + b"\0"
    return _entry(tag, 2, len(raw), raw)


def rationals(tag: int, values: list[Rational]) -> tuple[int, int, int, bytes]:
    return _entry(tag, 5, len(values), b"".join(struct.pack("<II", n, d) for n, d in values))


def short(tag: int, value: int) -> tuple[int, int, int, bytes]:
    return _entry(tag, 3, 1, struct.pack("<H", value))


def gps_ifd(lat: list[Rational], lat_ref: str, lon: list[Rational], lon_ref: str,
            extra: list[tuple[int, int, int, bytes]] = ()) -> list[tuple[int, int, int, bytes]]:
    return [_entry(0x0000, 1, 4, bytes([2, 3, 0, 0])), ascii_(0x0001, lat_ref),
            rationals(0x0002, lat), ascii_(0x0003, lon_ref), rationals(0x0004, lon), *extra]


def camera_ifd0() -> list[tuple[int, int, int, bytes]]:
    return [ascii_(0x010F, "Geoprivacy Sample Co."), ascii_(0x0110, "Demo Camera 1"),
            short(0x0112, 1), ascii_(0x0132, "2024:05:17 10:42:00")]


def jpeg_with_exif(tiff: bytes, seed: int) -> bytes:
    """A 64×48 gradient JPEG whose APP1 carries ``tiff`` as EXIF."""
    from PIL import Image

    img = Image.new("RGB", (64, 48))
    img.putdata([((x * 4 + seed) % 256, (y * 5) % 256, (x * y + seed * 7) % 256)
                 for y in range(48) for x in range(64)])
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90, exif=b"Exif\0\0" + tiff)
    return buf.getvalue()


def png_clean() -> bytes:
    from PIL import Image

    img = Image.new("RGB", (32, 32), (40, 120, 200))
    buf = io.BytesIO()
    img.save(buf, "PNG", optimize=False)
    return buf.getvalue()


def gpx_ride() -> bytes:
    """A short ride from Lund cathedral with a 5-minute stop half-way."""
    points = []
    t = 0
    lat, lon = 55.70584, 13.18611
    for i in range(12):
        points.append((lat + i * 0.0004, lon + i * 0.0006, t))
        t += 20
    stop_lat, stop_lon = points[-1][0], points[-1][1]
    for _ in range(16):
        t += 20
        points.append((stop_lat, stop_lon, t))
    for i in range(1, 8):
        t += 20
        points.append((stop_lat + i * 0.0005, stop_lon - i * 0.0002, t))
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<gpx version="1.1" creator="geoprivacy sample" '
             'xmlns="http://www.topografix.com/GPX/1/1">', "<trk><name>ride</name><trkseg>"]
    for la, lo, ts in points:
        hh, rem = divmod(ts, 3600)
        mm, ss = divmod(rem, 60)
        lines.append(f'<trkpt lat="{la:.6f}" lon="{lo:.6f}"><time>2024-05-17T{10 + hh:02d}:'
                     f'{mm:02d}:{ss:02d}Z</time></trkpt>')
    lines += ["</trkseg></trk>", "</gpx>", ""]
    return "\n".join(lines).encode()


def build() -> dict[str, bytes]:
    exact = build_tiff(camera_ifd0(), gps_ifd(
        [(55, 1), (42, 1), (1500, 100)], "N", [(13, 1), (11, 1), (3700, 100)], "E",
        [_entry(0x0005, 1, 1, b"\0"), rationals(0x0006, [(2100, 100)])]))
    coarse = build_tiff(camera_ifd0(), gps_ifd(
        [(55, 1), (42, 1), (0, 1)], "N", [(13, 1), (12, 1), (0, 1)], "E"))
    no_fix = build_tiff(camera_ifd0(), gps_ifd(
        [(0, 1), (0, 1), (0, 1)], "N", [(0, 1), (0, 1), (0, 1)], "E"))
    return {
        "lund_cathedral.jpg": jpeg_with_exif(exact, 1),
        "lund_coarse.jpg": jpeg_with_exif(coarse, 2),
        "no_fix.jpg": jpeg_with_exif(no_fix, 3),
        "clean.png": png_clean(),
        "bike_ride.gpx": gpx_ride(),
    }


def main(argv: list[str]) -> int:
    target = Path(argv[0]) if argv else Path(__file__).parent
    target.mkdir(parents=True, exist_ok=True)
    for name, data in build().items():
        (target / name).write_bytes(data)
        print(f"wrote {target / name} ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
