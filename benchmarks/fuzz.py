"""Fuzz campaigns: every metadata parser and strip writer under atheris, inputs/s and crashes.

Each target runs in its own process (``fuzz/run.py``, seeded from the shared corpus plus small
generated files, copied to a temp folder) for ``--seconds`` or ``--runs`` inputs, with a
per-input timeout and an RSS limit, so a hang or an unbounded allocation counts as a crash too.
libFuzzer stops a campaign at its first crash; the reproducer's path is printed.

Run: .venv/bin/python benchmarks/fuzz.py [--seconds 60 | --runs 1000000] [--jobs 2]
         [--out benchmarks/results/fuzz.jsonl] [TARGET...]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "fuzz"))

import targets  # noqa: E402

_STAT = re.compile(r"stat::(\w+):\s*(\d+)")
_CRASH = re.compile(r"(ERROR: libFuzzer: [^\n]*|=== Uncaught Python exception: ===|"
                    r"Test unit written to [^\n]*)")


def campaign(name: str, seconds: int | None, runs: int | None, timeout: int,
             rss_mb: int) -> dict[str, object]:
    """Run one target; its executed inputs, rate, and the crash line (if any)."""
    flags = [f"-timeout={timeout}", f"-rss_limit_mb={rss_mb}", "-print_final_stats=1"]
    flags.append(f"-max_total_time={seconds}" if seconds else f"-runs={runs}")
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, str(REPO / "fuzz" / "run.py"), name, *flags],
                          capture_output=True, text=True, errors="replace")
    wall = time.perf_counter() - started
    log = proc.stdout + proc.stderr
    stats = {k: int(v) for k, v in _STAT.findall(log)}
    crashes = _CRASH.findall(log)
    executed = stats.get("number_of_executed_units", 0)
    return {"target": name, "inputs": executed, "per_s": stats.get("average_exec_per_sec", 0),
            "wall_s": wall, "peak_rss_mb": stats.get("peak_rss_mb", 0),
            "crash": " | ".join(dict.fromkeys(crashes)) if (crashes or proc.returncode) else "",
            "rc": proc.returncode}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--seconds", type=int, help="per target (default 30)")
    group.add_argument("--runs", type=int, help="inputs per target")
    parser.add_argument("--jobs", type=int, default=1, help="campaigns at once")
    parser.add_argument("--timeout", type=int, default=10, help="seconds per input")
    parser.add_argument("--rss-mb", type=int, default=2048, help="memory limit per campaign")
    parser.add_argument("--out", type=Path, help="also append the rows as JSON lines here")
    parser.add_argument("targets", nargs="*", help=f"default: all ({len(targets.SEEDS)})")
    args = parser.parse_args()
    names = args.targets or sorted(targets.SEEDS)
    unknown = [n for n in names if n not in targets.SEEDS]
    if unknown:
        sys.exit(f"unknown targets: {', '.join(unknown)}; "
                 f"known: {', '.join(sorted(targets.SEEDS))}")
    seconds = None if args.runs else (args.seconds or 30)
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        rows = list(pool.map(lambda n: campaign(n, seconds, args.runs, args.timeout,
                                                args.rss_mb), names))
    print(f"{'target':16} {'inputs':>10} {'inputs/s':>9} {'rss MB':>7}  crashes")
    for r in rows:
        print(f"{r['target']:16} {r['inputs']:>10} {r['per_s']:>9} {r['peak_rss_mb']:>7}  "
              f"{r['crash'] or 0}")
    if args.out:
        import json
        with args.out.open("a", encoding="utf-8") as fh:
            for r in rows:
                fh.write(json.dumps({**r, "date": time.strftime("%Y-%m-%d %H:%M:%S")}) + "\n")
    total = sum(int(r["inputs"]) for r in rows)
    crashed = [r["target"] for r in rows if r["crash"]]
    print(f"total: {total} inputs over {len(rows)} targets; crashes: {len(crashed)}"
          + (f" ({', '.join(map(str, crashed))})" if crashed else ""))
    sys.exit(1 if crashed else 0)


if __name__ == "__main__":
    main()
