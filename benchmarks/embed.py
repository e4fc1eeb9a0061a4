"""Embedding throughput of the retrieval encoder by batch size, on CPU and (when torch sees one)
on a GPU: images per second for the default encoder (EfficientNet-Lite0, gap, 224 px) and its
multi-scale variant, on the shared benchmark's photos (decoded once, outside the timing).
CPU ms/img (process time, all threads) is the figure to compare on a busy machine: wall time
there measures the other processes too.

Run: .venv/bin/python benchmarks/embed.py [--batches 1,4,16,32] [--images 64]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from geoprivacy.attacks.retrieval.encoders import TimmEncoder, load_image

DATA = Path(os.environ.get("GEOPRIVACY_SHARED_DATA",
                           Path(__file__).resolve().parents[2] / "shared" / "data"))


def images(count: int) -> list:
    paths = sorted((DATA / "retrieval" / "gallery").glob("*.jpg"))
    if not paths:
        raise SystemExit(f"no photos under {DATA / 'retrieval' / 'gallery'}")
    decoded = [load_image(p) for p in paths]
    return [decoded[i % len(decoded)] for i in range(count)]


def main() -> None:
    import torch

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", default="1,4,16,32")
    ap.add_argument("--images", type=int, default=64)
    ap.add_argument("--configs", default="gap@224,ms@224,gap@384")
    args = ap.parse_args()
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    batch = images(args.images)
    print(f"torch threads {torch.get_num_threads()}, load average "
          f"{os.getloadavg()[0]:.1f}; {args.images} images per run")
    print(f"{'device':>6} {'pooling@size':>12} {'batch':>5} {'img/s':>8} {'ms/img':>8} "
          f"{'cpu ms/img':>10}")
    for device in devices:
        for config in args.configs.split(","):
            pooling, size = config.split("@")
            for bs in (int(x) for x in args.batches.split(",")):
                enc = TimmEncoder(pooling=pooling, image_size=int(size), device=device,
                                  batch_size=bs)
                enc.encode(batch[:bs])                      # warm-up
                if device == "cuda":
                    torch.cuda.synchronize()
                t0, c0 = time.perf_counter(), time.process_time()
                enc.encode(batch)
                if device == "cuda":
                    torch.cuda.synchronize()
                dt, cpu = time.perf_counter() - t0, time.process_time() - c0
                print(f"{device:>6} {config:>12} {bs:5d} {len(batch) / dt:8.1f} "
                      f"{dt / len(batch) * 1000:8.1f} {cpu / len(batch) * 1000:10.1f}",
                      flush=True)


if __name__ == "__main__":
    main()
