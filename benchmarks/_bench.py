"""What the audit benchmarks share: corpus files, a repeated copy set, timed commands."""

from __future__ import annotations

import json
import os
import resource
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


def timed(cmd: list[str], repeat: int, ok_codes: tuple[int, ...] = (0, 1)) -> tuple[float, float]:
    """Median wall seconds and median CPU seconds (user + system) of ``repeat`` runs, after one
    untimed warm-up for the page cache. CPU time is the steadier number on a shared machine."""
    walls, cpus = [], []
    for attempt in range(repeat + 1):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        elapsed = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode not in ok_codes:
            sys.exit(f"{' '.join(cmd[:3])} … failed with exit {done.returncode}: "
                     f"{done.stderr.strip()[-500:]}")
        if attempt:
            walls.append(elapsed)
            cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def rate(label: str, n: int, wall_cpu: tuple[float, float], unit: str) -> tuple[str, str]:
    wall, cpu = wall_cpu
    return label, (f"wall {wall:.2f} s = {n / wall:.1f} {unit}/s | CPU {cpu:.2f} s = "
                   f"{n / cpu:.1f} {unit}/s")


def ratios(ours: tuple[float, float], theirs: tuple[float, float]) -> tuple[str, str]:
    return ("speed ratio (geoprivacy / exiftool)",
            f"wall {theirs[0] / ours[0]:.2f}x | CPU {theirs[1] / ours[1]:.2f}x")


def print_rows(rows: list[tuple[str, str]]) -> None:
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key.ljust(width)}  {value}")


def timed_rss(cmd: list[str]) -> tuple[float, int, subprocess.CompletedProcess[str]]:
    """Seconds and this child's own peak RSS (KiB, from wait4) of one command."""
    import tempfile
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        done = subprocess.CompletedProcess(cmd, proc.returncode, out.read(), err.read())
    return seconds, usage.ru_maxrss, done


def protect_cli(clip: Path, out: Path, args: list[str]) -> dict[str, object]:
    """Run `geoprivacy protect CLIP -o OUT ARGS` once; its first result with wall-clock fps
    (end to end: model loading, processing, encoding, verification), the pipeline's own fps
    and the command's peak memory.
    """
    report = out.with_suffix(".json")
    cmd = [*geoprivacy_exe(), "protect", str(clip), "-o", str(out), "--format", "json",
           "--report", str(report), "--min-utility", "0", "-q", *args]
    wall, peak_kib, proc = timed_rss(cmd)
    if not report.exists():
        return {"error": (proc.stderr.strip().splitlines() or ["no report"])[-1]}
    res = json.loads(report.read_text())["results"][0]
    q, u, p = res["quality"], res["utility_after"], res["privacy_after"]
    return {"map_kept": u.get("kept"), "objects": u.get("objects"), "psnr": q["psnr_db"],
            "ssim": q["ssim"], "flicker": q["flicker"], "fps": q["frames"] / wall,
            "fps_pipeline": q["fps"], "frames": q["frames"],
            "privacy": p.get("summary"), "seconds": wall, "peak_mib": peak_kib / 1024}
