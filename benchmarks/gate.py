"""`geoprivacy gate` on the corpus replicated to ~10,000 files: first run vs cached re-run,
and ``--jobs 2`` vs ``--jobs 1``: files per second and peak memory.

Every corpus file (photos, videos, sidecars, malformed) is hard-linked into a temporary folder
over and over until there are ``--files`` of them. Each configuration runs in its own process
tree; peak memory is the largest resident set of any process in it (the gate process or one
pool worker), from ``getrusage(RUSAGE_CHILDREN)`` in a fresh wrapper process.

Run: .venv/bin/python benchmarks/gate.py [--files 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench import SHARED_DATA, geoprivacy_exe, print_rows, repeated_dir  # noqa: E402

WRAPPER = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
           "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL); "
           "u = resource.getrusage(resource.RUSAGE_CHILDREN); "
           "print(r.returncode, time.perf_counter() - t, u.ru_maxrss, u.ru_utime + u.ru_stime)")


def measure(cmd: list[str], home: Path) -> tuple[int, float, float, float]:
    """(exit code, wall seconds, peak RSS in MiB, CPU seconds of all processes) of one run.

    CPU seconds are reported too because wall time on a shared machine mostly measures the
    other tenants."""
    env = {**os.environ, "GEOPRIVACY_HOME": str(home)}
    out = subprocess.run([sys.executable, "-c", WRAPPER, *cmd], capture_output=True, text=True,
                         env=env, check=True)
    code, seconds, rss_kib, cpu = out.stdout.split()
    return int(code), float(seconds), int(rss_kib) / 1024, float(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    args = parser.parse_args()
    manifest = json.loads((SHARED_DATA / "MANIFEST.json").read_text())
    sources = sorted(p for p in (SHARED_DATA / e["path"] for e in manifest) if p.is_file())
    exe = geoprivacy_exe()
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="geoprivacy-bench-") as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        made = repeated_dir(sources, args.files, data)
        size = sum(p.stat().st_size for p in made)
        rows.append(("files", f"{len(made)} ({size / 1e9:.2f} GB, {len(sources)} distinct)"))
        gate = [*exe, "gate", str(data), "--format", "table", "-q"]   # CI-log output
        home = Path(tmp) / "home"
        runs = [
            ("first run, --jobs 1 (empty cache)", [*gate, "--jobs", "1"], home),
            ("cached re-run, --jobs 1", [*gate, "--jobs", "1"], home),
            ("no cache, --jobs 1", [*gate, "--jobs", "1", "--no-cache"], Path(tmp) / "h1"),
            ("no cache, --jobs 2", [*gate, "--jobs", "2", "--no-cache"], Path(tmp) / "h2"),
        ]
        results = {}
        for label, cmd, h in runs:
            started = time.perf_counter()
            code, seconds, rss, cpu = measure(cmd, h)
            assert code in (1, 3), f"{label}: unexpected exit {code}"
            results[label] = seconds
            rows.append((label, f"{seconds:7.2f} s  {len(made) / seconds:7.0f} files/s  "
                                f"cpu {cpu:6.2f} s  peak {rss:5.0f} MiB  (exit {code}, "
                                f"{time.perf_counter() - started:.1f} s with start-up)"))
        first, cached = results[runs[0][0]], results[runs[1][0]]
        one, two = results[runs[2][0]], results[runs[3][0]]
        rows.append(("cached / first", f"{cached / first:.2f} of the time"))
        rows.append(("--jobs 2 speed-up", f"{one / two:.2f}x (os.cpu_count() = {os.cpu_count()}, "
                                          f"load average {os.getloadavg()[0]:.1f})"))
    print_rows(rows)


if __name__ == "__main__":
    main()
