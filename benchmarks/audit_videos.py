"""Videos per second vs `exiftool -ee`, and audit cost vs file size for the same metadata.

1. The corpus videos, hard-linked ``--copies`` times into a temporary directory, read by
   `geoprivacy audit` and by `exiftool -r -n -ee -j -gps:all` in one process each (median of
   ``--repeat`` runs after a warm-up); prints videos/s and the ratio.
2. One corpus video (default: the GoPro karma.mp4, whose GPS lives in a GPMF metadata track
   that must be read) rewritten at 5 MB and 500 MB with the same moov: the mdat box is grown
   with a sparse hole after the real media data, so every sample offset stays valid and the
   moov after it is byte-identical. A parser that never reads media data takes the same time on
   both; prints the CLI time, the in-process parse time and the bytes the parser read.

Run: .venv/bin/python benchmarks/audit_videos.py [--copies 20] [--repeat 3] [--source NAME]
"""

from __future__ import annotations

import argparse
import statistics
import struct
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench import (SHARED_DATA, corpus_paths, exiftool_exe, geoprivacy_exe,  # noqa: E402
                    print_rows, rate, ratios, repeated_dir, timed)

MB = 1024 * 1024


def top_level_boxes(path: Path) -> list[tuple[bytes, int, int, int]]:
    """(type, offset, header size, total size) of each top-level box."""
    boxes = []
    size = path.stat().st_size
    with open(path, "rb") as fh:
        offset = 0
        while offset + 8 <= size and len(boxes) < 1000:
            fh.seek(offset)
            length, kind = struct.unpack(">I4s", fh.read(8))
            header = 8
            if length == 1:
                length, header = struct.unpack(">Q", fh.read(8))[0], 16
            elif length == 0:
                length = size - offset
            if length < header:
                break
            boxes.append((kind, offset, header, length))
            offset += length
    return boxes


def grow_mdat(src: Path, dst: Path, total: int) -> None:
    """``src`` with its mdat grown by a sparse hole (after the media data) to ``total`` bytes."""
    boxes = top_level_boxes(src)
    mdat = next((b for b in boxes if b[0] == b"mdat"), None)
    if mdat is None:
        sys.exit(f"{src.name} has no top-level mdat box")
    _, offset, header, length = mdat
    pad = total - src.stat().st_size
    if pad < 0:
        sys.exit(f"{src.name} is already larger than {total} bytes")
    new_length = length + pad
    if header == 8 and new_length >= 2 ** 32:
        sys.exit("the grown mdat would need a 64-bit size; choose a smaller target")
    data = src.read_bytes()
    size_field = (struct.pack(">I", new_length) if header == 8
                  else data[offset:offset + 8] + struct.pack(">Q", new_length))
    with open(dst, "wb") as out:
        out.write(data[:offset])
        out.write(size_field)
        out.write(data[offset + len(size_field):offset + length])
        out.seek(pad, 1)                       # a hole: no disk blocks, reads as zeros
        out.write(data[offset + length:])
    if dst.stat().st_size != total:
        sys.exit(f"grew {dst.name} to {dst.stat().st_size} bytes, wanted {total}")


def parse_in_process(path: Path, repeat: int) -> tuple[float, int, int]:
    """Median seconds to sniff + parse metadata, bytes read, evidence count."""
    from geoprivacy.attacks.metadata import parsers
    from geoprivacy.attacks.metadata.common import Collector
    from geoprivacy.media.sniff import sniff
    from geoprivacy.media.source import Source

    table = parsers()
    times, read, found = [], 0, 0
    for _ in range(repeat + 1):
        started = time.perf_counter()
        with Source.from_path(path) as src:
            out = Collector()
            table[sniff(src).container](src, out)
            read = src.bytes_read
        times.append(time.perf_counter() - started)
        found = sum(1 for e in out.evidence if e.is_location)
    return statistics.median(times[1:]), read, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=20, help="copies of each corpus video")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--source", default="videos/karma.mp4",
                        help="corpus video for the 5 MB / 500 MB test")
    args = parser.parse_args()
    videos = corpus_paths("video")
    if not videos:
        sys.exit("no corpus videos found (set GEOPRIVACY_SHARED_DATA)")
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="gp-bench-videos-") as tmp:
        root = Path(tmp)
        folder = root / "videos"
        folder.mkdir()
        files = repeated_dir(videos, len(videos) * args.copies, folder)
        total_mb = sum(p.stat().st_size for p in files) / 1e6
        ours = timed([*geoprivacy_exe(), "audit", str(folder), "--format", "json",
                      "-o", str(root / "report.json")], args.repeat)
        theirs = timed([*exiftool_exe(), "-r", "-n", "-ee", "-j", "-gps:all", str(folder)],
                       args.repeat)
        n = len(files)
        rows += [
            ("videos", f"{n} ({len(videos)} distinct corpus videos, {total_mb:.1f} MB)"),
            rate("geoprivacy audit --format json", n, ours, "videos"),
            rate("exiftool -r -n -ee -j -gps:all", n, theirs, "videos"),
            ratios(ours, theirs),
        ]

        source = SHARED_DATA / args.source
        small, large = root / "same_moov_5MB.mp4", root / "same_moov_500MB.mp4"
        grow_mdat(source, small, 5 * MB)
        grow_mdat(source, large, 500 * MB)
        parse_ms = []
        for path in (small, large):
            cli = timed([*geoprivacy_exe(), "audit", str(path), "--format", "json",
                         "-o", str(root / "one.json")], args.repeat)
            exif = timed([*exiftool_exe(), "-n", "-ee", "-j", "-gps:all", str(path)],
                         args.repeat)
            seconds, read, found = parse_in_process(path, max(args.repeat, 30))
            parse_ms.append(seconds * 1000)
            rows.append((f"{path.name} ({path.stat().st_size // MB} MB)",
                         f"audit CLI {cli[0]:.3f} s | parse in-process {seconds * 1000:.1f} ms, "
                         f"read {read / 1024:.0f} KB, {found} locations | exiftool -ee "
                         f"{exif[0]:.3f} s"))
        rows.append(("parse time 500 MB / 5 MB", f"{parse_ms[1] / parse_ms[0]:.2f}x "
                     "(about 1 when cost follows metadata size, not file size)"))
    print_rows(rows)


if __name__ == "__main__":
    main()
