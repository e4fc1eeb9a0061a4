"""Photos per second: `geoprivacy audit` vs `exiftool -r -n -ee -j -gps:all`, one process each.

The corpus photos (photos/ and retrieval/ of the shared data) are hard-linked into a temporary
directory over and over until there are ``--files`` of them; each tool then reads the whole
directory in one process (median of ``--repeat`` runs after a warm-up). Both write JSON
(geoprivacy to a file in the temp dir, exiftool to /dev/null). Prints the numbers and the ratio.

Run: .venv/bin/python benchmarks/audit_photos.py [--files 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench import (corpus_paths, exiftool_exe, geoprivacy_exe, print_rows,  # noqa: E402
                    rate, ratios, repeated_dir, timed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sources = corpus_paths("photo")
    if not sources:
        sys.exit("no corpus photos found (set GEOPRIVACY_SHARED_DATA)")
    with tempfile.TemporaryDirectory(prefix="gp-bench-photos-") as tmp:
        root = Path(tmp)
        photos = root / "photos"
        photos.mkdir()
        files = repeated_dir(sources, args.files, photos)
        total_mb = sum(p.stat().st_size for p in files) / 1e6
        ours = timed([*geoprivacy_exe(), "audit", str(photos), "--format", "json",
                      "-o", str(root / "report.json")], args.repeat)
        theirs = timed([*exiftool_exe(), "-r", "-n", "-ee", "-j", "-gps:all", str(photos)],
                       args.repeat)
    n = len(files)
    print_rows([
        ("photos", f"{n} ({len(sources)} distinct corpus photos, {total_mb:.1f} MB)"),
        rate("geoprivacy audit --format json", n, ours, "files"),
        rate("exiftool -r -n -ee -j -gps:all", n, theirs, "files"),
        ratios(ours, theirs),
    ])


if __name__ == "__main__":
    main()
