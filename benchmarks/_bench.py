"""What the audit benchmarks share: corpus files, a repeated copy set, timed commands."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("GEOPRIVACY_SHARED_DATA", REPO.parent / "shared" / "data"))


def corpus_paths(kind: str) -> list[Path]:
    """Files of one MANIFEST kind (photo, video), skipping any that are missing."""
    manifest = json.loads((SHARED_DATA / "MANIFEST.json").read_text())
    paths = [SHARED_DATA / e["path"] for e in manifest if e["kind"] == kind]
    return sorted(p for p in paths if p.is_file())


def repeated_dir(sources: list[Path], count: int, into: Path) -> list[Path]:
    """``count`` files in ``into``: the sources over and over, hard-linked (copied where a link
    is refused), each under a unique name with its original extension."""
    made: list[Path] = []
    for i in range(count):
        src = sources[i % len(sources)]
        dst = into / f"{i:05d}_{src.name}"
        try:
            os.link(src, dst)
        except OSError:
            shutil.copyfile(src, dst)
        made.append(dst)
    return made


def geoprivacy_exe() -> list[str]:
    """The installed console script beside this interpreter (else on PATH)."""
    beside = Path(sys.executable).with_name("geoprivacy")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("geoprivacy")
    if not found:
        sys.exit("the geoprivacy command is not installed (pip install -e .)")
    return [found]


def exiftool_exe() -> list[str]:
    found = shutil.which("exiftool")
    if not found:
        sys.exit("exiftool is not installed (Debian: libimage-exiftool-perl)")
    return [found]


def timed(cmd: list[str], repeat: int, ok_codes: tuple[int, ...] = (0, 1)) -> float:
    """Median wall seconds of ``repeat`` runs (after one untimed warm-up for the page cache)."""
    times = []
    for attempt in range(repeat + 1):
        started = time.perf_counter()
        done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        elapsed = time.perf_counter() - started
        if done.returncode not in ok_codes:
            sys.exit(f"{' '.join(cmd[:3])} … failed with exit {done.returncode}: "
                     f"{done.stderr.strip()[-500:]}")
        if attempt:
            times.append(elapsed)
    return statistics.median(times)


def print_rows(rows: list[tuple[str, str]]) -> None:
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key.ljust(width)}  {value}")
