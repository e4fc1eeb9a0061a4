"""`geoprivacy gate --engine ray`: files/s versus Ray workers and versus dataset size, peak
memory per worker, and the local engine beside it.

The dataset is the corpus photos hard-linked over and over (``--sizes`` files). For each
worker count a local Ray cluster with that many CPUs is started once (start-up timed apart);
each size is gated without the cache, so every file is read, hashed and parsed. A size whose
projected time (from the previous size's rate) exceeds ``--budget-s`` is skipped and marked so.
Peak memory per worker: the largest resident set of any ``ray::`` worker process under this
driver, sampled every 0.2 s with psutil. The driver's own share (task rows, judging, report) is
measured apart, because on a cluster it is the part that does not scale out.

Run: .venv/bin/python benchmarks/ray_gate.py [--sizes 1000,10000,100000] [--workers 1,2]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench import REPO, corpus_paths, print_rows, repeated_dir  # noqa: E402

os.environ["RAY_USAGE_STATS_ENABLED"] = "0"


class PeakRSS:
    """Largest RSS (MiB) of any Ray worker process below this one, sampled in a thread."""

    def __init__(self) -> None:
        import psutil
        self._me = psutil.Process()
        self.peak = 0.0
        self.workers: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil
        while not self._stop.is_set():
            for proc in self._me.children(recursive=True):
                try:
                    if not proc.name().startswith("ray::") and \
                            not " ".join(proc.cmdline()[:1]).startswith("ray::"):
                        continue
                    self.workers.add(proc.pid)
                    self.peak = max(self.peak, proc.memory_info().rss / 2**20)
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
            self._stop.wait(0.2)

    def __enter__(self) -> "PeakRSS":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()


def run_once(folder: Path, engine: str) -> dict[str, float]:
    """One uncached gate run; wall seconds split into cluster and driver shares."""
    from geoprivacy.engines import ray_engine
    from geoprivacy.gate import GateOptions, gate
    from geoprivacy.policy import load_policy

    started = time.perf_counter()
    report = gate([str(folder)], GateOptions(policy=load_policy(None), cache=False,
                                             engine=engine))
    wall = time.perf_counter() - started
    out = {"wall_s": wall, "files": len(report.files), "exit": report.exit_code}
    if engine == "ray":
        out.update(cluster_s=ray_engine.LAST_RUN["cluster_s"],
                   actor_pool=ray_engine.LAST_RUN["actor_pool"])
        out["driver_s"] = wall - out["cluster_s"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--budget-s", type=float, default=150.0,
                        help="Skip a run projected to take longer than this.")
    parser.add_argument("--json", type=Path, default=REPO / "benchmarks" / "results" /
                        "ray_gate.json")
    args = parser.parse_args()
    import ray

    sizes = [int(s) for s in args.sizes.split(",")]
    workers = [int(w) for w in args.workers.split(",")]
    sources = corpus_paths("photo")
    rows: list[tuple[str, str]] = [("machine", f"os.cpu_count() = {os.cpu_count()}, load "
                                               f"average {os.getloadavg()[0]:.1f} at start")]
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="geoprivacy-raybench-") as tmp:
        folders = {}
        for n in sizes:
            folders[n] = Path(tmp) / f"d{n}"
            folders[n].mkdir()
            repeated_dir(sources, n, folders[n])
        rows.append(("dataset", f"{len(sources)} corpus photos hard-linked to "
                                f"{', '.join(str(n) for n in sizes)} files"))

        def sweep(label: str, engine: str, w: int) -> None:
            rate = None
            for n in sizes:
                if rate and n / rate > args.budget_s:
                    rows.append((f"{label}, {n} files", f"skipped: projected {n / rate:.0f} s "
                                                        f"> budget {args.budget_s:.0f} s"))
                    results.append({"engine": engine, "workers": w, "files": n,
                                    "skipped": True, "projected_s": n / rate})
                    continue
                with PeakRSS() as mem:
                    r = run_once(folders[n], engine)
                rate = n / r["wall_s"]
                r.update(engine=engine, workers=w, files=n, files_per_s=rate,
                         peak_worker_mib=mem.peak if engine == "ray" else None,
                         worker_pids=len(mem.workers))
                results.append(r)
                extra = ""
                if engine == "ray":
                    extra = (f"  cluster {r['cluster_s']:6.1f} s = {n / r['cluster_s']:6.0f}/s"
                             f"  driver {r['driver_s']:5.1f} s  peak/worker "
                             f"{mem.peak:4.0f} MiB ({len(mem.workers)} procs)"
                             f"  actor pool {r['actor_pool']}")
                rows.append((f"{label}, {n} files", f"{r['wall_s']:7.1f} s {rate:6.0f} files/s"
                                                    f"{extra}  exit {r['exit']}"))

        sweep("local engine, 1 process", "local", 1)
        for w in workers:
            started = time.perf_counter()
            ray.init(num_cpus=w, include_dashboard=False, log_to_driver=False)
            up = time.perf_counter() - started
            rows.append((f"ray: start {w}-CPU local cluster", f"{up:.1f} s"))
            results.append({"engine": "ray", "workers": w, "startup_s": up})
            try:
                sweep(f"ray, {w} worker(s)", "ray", w)
            finally:
                ray.shutdown()
    rows.append(("load average at end", f"{os.getloadavg()[0]:.1f}"))
    print_rows(rows)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"cpu_count": os.cpu_count(), "runs": results}, indent=1))
    print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
