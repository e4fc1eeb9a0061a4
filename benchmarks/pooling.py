"""Which pooling / input size retrieves the right place best on the shared retrieval benchmark.

Top-1 nearest gallery image of each query: share within 25 km of the truth, the mean rank of the
first same-place gallery image, and the margin: similarity of the best same-place image minus that
of the best other-place image, in units of the std of all query-gallery similarities (mean over
queries; larger separates places better; the unit makes poolings comparable).

Run: .venv/bin/python benchmarks/pooling.py [DATA_DIR] [ENCODERS] [SIZES]
"""

from __future__ import annotations

import csv
import sys
import time
from pathlib import Path

import numpy as np

from geoprivacy.attacks.retrieval.encoders import TimmEncoder, load_image
from geoprivacy.geo import haversine_km

DATA = Path(sys.argv[1] if len(sys.argv) > 1 and sys.argv[1] else
            Path(__file__).resolve().parents[2] / "shared" / "data" / "retrieval")


def rows(name: str) -> list[dict[str, str]]:
    with open(DATA / name, newline="") as fh:
        return list(csv.DictReader(fh))


def main() -> None:
    gallery, queries = rows("gallery.csv"), rows("truth.csv")
    g_img = [load_image(DATA / r["path"]) for r in gallery]
    q_img = [load_image(DATA / r["path"]) for r in queries]
    print(f"{'encoder':20} {'pool':5} {'size':>4} {'top1@25km':>9} {'first-hit rank':>14} "
          f"{'z-margin':>8} {'s/img':>6}")
    names = sys.argv[2].split(",") if len(sys.argv) > 2 else ["efficientnet-lite0"]
    sizes = [int(x) for x in sys.argv[3].split(",")] if len(sys.argv) > 3 else [224, 320, 384]
    for name in names:
        for size in sizes:
            for pooling in ("gap", "gem", "ms"):
                enc = TimmEncoder(name, pooling=pooling, image_size=size, device="cpu")
                t0 = time.perf_counter()
                g, q = enc.encode(g_img), enc.encode(q_img)
                per = (time.perf_counter() - t0) / (len(g_img) + len(q_img))
                sims = q @ g.T
                hits, ranks, margins = 0, [], []
                for i, r in enumerate(queries):
                    order = np.argsort(-sims[i])
                    d = [haversine_km(float(r["lat"]), float(r["lon"]), float(gallery[j]["lat"]),
                                      float(gallery[j]["lon"])) for j in order]
                    hits += d[0] <= 25
                    ranks.append(next(k for k, x in enumerate(d) if x <= 25) + 1)
                    same = [sims[i, j] for j, x in zip(order, d) if x <= 25]
                    other = [sims[i, j] for j, x in zip(order, d) if x > 25]
                    margins.append((max(same) - max(other)) / float(np.std(sims)))
                print(f"{name:20} {pooling:5} {size:4d} {hits}/{len(queries):<7} "
                      f"{np.mean(ranks):14.2f} {np.mean(margins):8.3f} {per:6.3f}")


if __name__ == "__main__":
    main()
