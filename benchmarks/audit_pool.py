"""What the per-file budget pool costs: `geoprivacy audit` in-process vs in worker processes.

The corpus photos are hard-linked into a temporary directory until there are ``--files`` of
them; then, one process per run (median of ``--repeat`` after a warm-up): in-process
(``--jobs 1``, no budget), one worker with a budget (``--jobs 1 --timeout 60 --max-memory
1024``), ``--jobs 2`` (default budget), and exiftool for the speed target. Prints wall and CPU
seconds, files/s and the ratio to exiftool.

Run: .venv/bin/python benchmarks/audit_pool.py [--files 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench import corpus_paths, exiftool_exe, geoprivacy_exe, print_rows, rate, \
    repeated_dir, timed  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sources = corpus_paths("photo")
    if not sources:
        sys.exit("no corpus photos found (set GEOPRIVACY_SHARED_DATA)")
    with tempfile.TemporaryDirectory(prefix="gp-bench-pool-") as tmp:
        root = Path(tmp)
        photos = root / "photos"
        photos.mkdir()
        files = repeated_dir(sources, args.files, photos)
        n = len(files)
        base = [*geoprivacy_exe(), "audit", str(photos), "--format", "json", "-o",
                str(root / "report.json")]
        runs = {
            "in-process (--jobs 1, no budget)": base,
            "1 worker + budget (--timeout 60 --max-memory 1024)":
                base + ["--timeout", "60", "--max-memory", "1024"],
            "2 workers (--jobs 2, default budget)": base + ["--jobs", "2"],
        }
        timings = {label: timed(cmd, args.repeat) for label, cmd in runs.items()}
        theirs = timed([*exiftool_exe(), "-r", "-n", "-ee", "-j", "-gps:all", str(photos)],
                       args.repeat)
    rows = [("photos", f"{n} ({len(sources)} distinct corpus photos)")]
    rows += [rate(label, n, t, "files") for label, t in timings.items()]
    rows.append(rate("exiftool -r -n -ee -j -gps:all", n, theirs, "files"))
    for label, (wall, cpu) in timings.items():
        rows.append((f"speed vs exiftool: {label}",
                     f"wall {theirs[0] / wall:.2f}x | CPU {theirs[1] / cpu:.2f}x"))
    print_rows(rows)


if __name__ == "__main__":
    main()
