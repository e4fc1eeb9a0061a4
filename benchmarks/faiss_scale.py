"""Gallery search cost as the gallery grows: 10^3 … 10^6 random unit vectors with the index
type `index build` picks automatically (flat < 20k vectors, IVF beyond; --index-type forces
one): build time, query latency (one query at a time, top-10; wall and CPU time), memory
(serialized index size and RSS growth) and recall@1.

Queries are noisy copies of gallery vectors; recall@1 is the share whose original comes first.
Random vectors have no cluster structure, the hard case for IVF's coarse lists.
Run: .venv/bin/python benchmarks/faiss_scale.py [--dim 1280] [--sizes 1000,10000,100000,1000000]
[--queries 200] [--index-type auto|flat|ivf|hnsw]
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import numpy as np

from geoprivacy.attacks.retrieval.index import choose_index_type, make_faiss_index


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20


def unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    out = np.empty((n, dim), np.float32)
    for start in range(0, n, 100_000):          # bounded temporary memory
        block = rng.standard_normal((min(100_000, n - start), dim), dtype=np.float32)
        out[start:start + len(block)] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def run(n: int, dim: int, queries: int, index_type: str) -> dict:
    import faiss

    rng = np.random.default_rng(n)
    vectors = unit(rng, n, dim)
    # queries: noisy copies of gallery vectors, so each has a true nearest neighbour
    picks = rng.choice(n, queries, replace=False)
    q = vectors[picks] + 0.05 * unit(rng, queries, dim)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    kind = choose_index_type(n, index_type)
    before = rss_mb()
    t0 = time.perf_counter()
    index = make_faiss_index(vectors, kind)
    build_s = time.perf_counter() - t0
    grown = rss_mb() - before
    size_mb = len(faiss.serialize_index(index)) / 2**20
    t0, c0 = time.perf_counter(), time.process_time()
    found = np.array([index.search(q[i:i + 1], 10)[1][0, 0] for i in range(queries)])
    per_query_ms = (time.perf_counter() - t0) / queries * 1000
    cpu_query_ms = (time.process_time() - c0) / queries * 1000
    t0 = time.perf_counter()
    index.search(q, 10)
    batched_ms = (time.perf_counter() - t0) / queries * 1000
    return {"n": n, "dim": dim, "index_type": kind, "build_s": round(build_s, 2),
            "query_ms": round(per_query_ms, 3), "cpu_query_ms": round(cpu_query_ms, 3),
            "batched_query_ms": round(batched_ms, 3),
            "index_mb": round(size_mb, 1), "rss_growth_mb": round(grown, 1),
            "recall_at_1": float(np.mean(found == picks))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dim", type=int, default=1280)
    ap.add_argument("--sizes", default="1000,10000,100000,1000000")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--index-type", default="auto")
    ap.add_argument("--json", help="also write the rows here")
    args = ap.parse_args()
    rows = []
    print(f"{'n':>8} {'dim':>5} {'type':>5} {'build s':>8} {'query ms':>9} {'cpu ms':>7} "
          f"{'batch ms':>9} "
          f"{'index MB':>9} {'RSS+ MB':>8} {'R@1':>5}")
    for n in (int(x) for x in args.sizes.split(",")):
        r = run(n, args.dim, min(args.queries, n), args.index_type)
        rows.append(r)
        print(f"{r['n']:8d} {r['dim']:5d} {r['index_type']:>5} {r['build_s']:8.2f} "
              f"{r['query_ms']:9.3f} {r['cpu_query_ms']:7.3f} {r['batched_query_ms']:9.3f} "
              f"{r['index_mb']:9.1f} "
              f"{r['rss_growth_mb']:8.1f} {r['recall_at_1']:5.2f}", flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=2)


if __name__ == "__main__":
    main()
