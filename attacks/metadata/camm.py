"""Google CAMM (Camera Motion Metadata) tracks: GPS packets of type 5 and 6 as one track.

Hand-written: the format is a few fixed little-endian structs (Street View "Camera Motion
Metadata Spec"); samples are read through the track's sample table, never the video.

Each packet: ``u16 reserved, u16 type`` then the payload. Type 5: ``double lat, lon, alt``.
Type 6: ``double time_gps_epoch, i32 gps_fix_type, double lat, lon, float alt,
horizontal_accuracy, vertical_accuracy, velocity_east, velocity_north, velocity_up,
speed_accuracy``. Other types (orientation, exposure, gyro, accelerometer, position,
magnetic field) are skipped by their size.
"""

from __future__ import annotations

import struct
import time

from geoprivacy.attacks.metadata.isobmff import Track, Walker
from geoprivacy.tracks import Fix

#: Packet size per type, header included (spec; type 0 is angle-axis float[3]).
PACKET_SIZES = {0: 16, 1: 12, 2: 16, 3: 16, 4: 16, 5: 28, 6: 60, 7: 16}
GPS_EPOCH_OFFSET = 315_964_800.0   # 1980-01-06 (GPS epoch) minus 1970-01-01
MAX_FIXES = 2_000_000


def parse_track(walker: Walker, track: Track) -> None:
    where = f"CAMM track {track.index}"
    fixes: list[Fix] = []
    no_fix = 0
    for sample in walker.samples(track, where):
        data = walker.sample_data(sample)
        for fix, problem in decode_packets(data, sample.time):
            if problem:
                walker.warn_once(f"{where}: {problem}")
            elif fix is None:
                no_fix += 1
            elif len(fixes) < MAX_FIXES:
                fixes.append(fix)
    if fixes:
        walker.out.track("CAMM:GPS", fixes, {"skipped_no_fix": no_fix} if no_fix else None)
    elif no_fix:
        walker.out.placeholder("CAMM:GPS", f"{no_fix} GPS packets without a fix")


def decode_packets(data: bytes, media_time: float | None
                   ) -> list[tuple[Fix | None, str | None]]:
    """(fix, None) per GPS packet, (None, None) for a no-fix packet, (None, problem) on damage."""
    found: list[tuple[Fix | None, str | None]] = []
    pos = 0
    while pos + 4 <= len(data):
        kind = struct.unpack_from("<H", data, pos + 2)[0]
        size = PACKET_SIZES.get(kind)
        if size is None:
            found.append((None, f"unknown packet type {kind}"))
            break
        if pos + size > len(data):
            found.append((None, f"packet type {kind} cut off"))
            break
        if kind == 5:
            lat, lon, alt = struct.unpack_from("<ddd", data, pos + 4)
            found.append((Fix(lat, lon, alt, media_time), None))
        elif kind == 6:
            when, fix_type, lat, lon, alt, h_acc = struct.unpack_from("<dIddff", data, pos + 4)
            if fix_type == 0:
                found.append((None, None))
            else:
                extra = (("fix", f"{fix_type}D"), ("horizontal_accuracy_m", round(h_acc, 3)))
                found.append((Fix(lat, lon, alt, _unix_time(when, media_time), extra), None))
        pos += size
    return found


def _unix_time(gps_seconds: float, media_time: float | None) -> float | None:
    """The spec says GPS epoch; some writers use the Unix epoch (exiftool sees both)."""
    if gps_seconds <= 0:
        return media_time
    unix = gps_seconds + GPS_EPOCH_OFFSET
    return gps_seconds if unix > time.time() + 86400 else unix
