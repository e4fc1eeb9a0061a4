"""A geo-tagged gallery: vectors in a faiss index plus one label (lat, lon, source) per vector.

Saved as one ``.npz`` file (no pickles): the serialized faiss index, label arrays and a JSON
header with the encoder identity, so a query with a different encoder is refused.
Index type: exact inner product (``flat``) for small galleries, IVF for large ones, chosen by
size unless the user says otherwise; HNSW on request (benchmarks/faiss_scale.py: at 10^5 x 1280
it queried as fast as IVF but took ~100x longer to build here).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from geoprivacy.attacks.retrieval.encoders import EncoderIdentity
from geoprivacy.errors import GeoprivacyError

FORMAT = "geoprivacy-retrieval-index/1"
INDEX_TYPES = ("auto", "flat", "hnsw", "ivf")
#: Below this many vectors exact search is fast enough (tens of ms per query on 2 busy cores).
FLAT_MAX = 20_000
HNSW_M = 32
IVF_NPROBE = 16


def read_header(path: str | Path) -> dict[str, Any]:
    """An index file's JSON header, read without faiss or the vectors (cheap enough for a
    parent process to check ``--index`` before its workers load it); one-line errors."""
    try:
        with np.load(path, allow_pickle=False) as data:
            header = json.loads(str(data["header"]))
    except OSError as exc:
        raise GeoprivacyError(f"cannot read index {path}: {exc.strerror or exc}") from None
    except (ValueError, KeyError, json.JSONDecodeError):
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise GeoprivacyError(f"cannot read index {path}: not a geoprivacy retrieval index "
                              "(make one with `geoprivacy index build`)")
    return header


def choose_index_type(n: int, requested: str = "auto") -> str:
    """``flat`` below FLAT_MAX vectors, ``ivf`` from there; or as requested (``hnsw`` too)."""
    if requested not in INDEX_TYPES:
        raise GeoprivacyError(f"unknown index type {requested!r}; choose {', '.join(INDEX_TYPES)}")
    if requested != "auto":
        return requested
    return "flat" if n < FLAT_MAX else "ivf"


def make_faiss_index(vectors: np.ndarray, index_type: str) -> Any:
    """A trained faiss index over ``vectors`` (inner product = cosine for L2-normalised rows)."""
    import faiss

    n, dim = vectors.shape
    if index_type == "flat":
        index = faiss.IndexFlatIP(dim)
    elif index_type == "hnsw":
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.hnsw.efSearch = 64
    elif index_type == "ivf":
        # sqrt(n) lists, trained on 50 points per list: k-means stays tens of seconds at 10^6.
        nlist = max(1, min(int(math.sqrt(n)), n // 39))
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(0)
        size = min(n, 50 * nlist)
        sample = vectors if size == n else vectors[rng.choice(n, size, replace=False)]
        index.train(np.ascontiguousarray(sample, dtype=np.float32))
        index.nprobe = min(IVF_NPROBE, nlist)
    else:
        raise GeoprivacyError(f"unknown index type {index_type!r}")
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


@dataclass
class Labels:
    """One row per vector: where it was taken and which file (and time in it) it came from."""

    lat: np.ndarray
    lon: np.ndarray
    source: np.ndarray          # path as given
    sha256: np.ndarray          # content hash of the source file (queries skip their own file)
    time_s: np.ndarray          # seconds into a video, NaN for photos

    def __len__(self) -> int:
        return int(self.lat.shape[0])

    @classmethod
    def from_rows(cls, rows: list[dict[str, Any]]) -> "Labels":
        return cls(lat=np.array([r["lat"] for r in rows], np.float64).reshape(-1),
                   lon=np.array([r["lon"] for r in rows], np.float64).reshape(-1),
                   source=np.array([str(r["source"]) for r in rows], dtype=str).reshape(-1),
                   sha256=np.array([str(r.get("sha256", "")) for r in rows], dtype=str)
                   .reshape(-1),
                   time_s=np.array([r.get("time_s", math.nan) for r in rows], np.float64)
                   .reshape(-1))


@dataclass
class GalleryIndex:
    """The faiss index, its labels and the identity of the encoder that made the vectors."""

    index: Any
    labels: Labels
    identity: EncoderIdentity
    index_type: str
    header: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(cls, vectors: np.ndarray, rows: list[dict[str, Any]], identity: EncoderIdentity,
              index_type: str = "auto", extra: dict[str, Any] | None = None) -> "GalleryIndex":
        if len(rows) == 0:
            raise GeoprivacyError("no geo-tagged image or video frame found to index")
        if vectors.shape != (len(rows), identity.dim):
            raise GeoprivacyError(f"vectors {vectors.shape} do not match {len(rows)} labels of "
                                  f"dim {identity.dim}")
        kind = choose_index_type(len(rows), index_type)
        header = {"format": FORMAT, "encoder": identity.to_dict(), "index_type": kind,
                  "count": len(rows), "created": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                               time.gmtime())}
        header.update(extra or {})
        return cls(make_faiss_index(vectors, kind), Labels.from_rows(rows), identity, kind,
                   header)

    def save(self, path: str | Path) -> None:
        """One ``.npz`` file, written atomically."""
        import faiss

        from geoprivacy.fsutil import atomic_write

        blob = faiss.serialize_index(self.index)
        with atomic_write(path, "wb") as fh:
            np.savez(fh, header=np.array(json.dumps(self.header)), faiss=blob,
                     lat=self.labels.lat, lon=self.labels.lon, source=self.labels.source,
                     sha256=self.labels.sha256, time_s=self.labels.time_s)

    @classmethod
    def load(cls, path: str | Path) -> "GalleryIndex":
        """Read an index file; anything else gives a one-line error."""
        import faiss

        header = read_header(path)
        try:
            with np.load(path, allow_pickle=False) as data:
                index = faiss.deserialize_index(np.ascontiguousarray(data["faiss"]))
                labels = Labels(lat=data["lat"], lon=data["lon"], source=data["source"],
                                sha256=data["sha256"], time_s=data["time_s"])
        except (OSError, ValueError, KeyError, RuntimeError, json.JSONDecodeError) as exc:
            raise GeoprivacyError(f"cannot read index {path}: {exc}") from None
        if index.ntotal != len(labels):
            raise GeoprivacyError(f"{path}: {index.ntotal} vectors but {len(labels)} labels")
        ident = EncoderIdentity(**header["encoder"])
        if header["index_type"] == "ivf":
            index.nprobe = min(IVF_NPROBE, index.nlist)
        elif header["index_type"] == "hnsw":
            index.hnsw.efSearch = 64
        return cls(index, labels, ident, header["index_type"], header)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Similarities and label rows of the top-``k`` neighbours (row -1: fewer than k)."""
        if queries.ndim != 2 or queries.shape[1] != self.identity.dim:
            raise GeoprivacyError(f"query vectors of dim {queries.shape[-1]} do not fit an index "
                                  f"of dim {self.identity.dim}")
        k = max(1, min(int(k), len(self.labels)))
        return self.index.search(np.ascontiguousarray(queries, dtype=np.float32), k)

    def info(self) -> dict[str, Any]:
        """Size, extent and encoder, for ``index info``."""
        lat, lon = self.labels.lat, self.labels.lon
        sources = set(self.labels.source.tolist())
        frames = int(np.sum(~np.isnan(self.labels.time_s)))
        return {
            "count": len(self.labels), "sources": len(sources), "video_frames": frames,
            "index_type": self.index_type, "encoder": self.identity.to_dict(),
            "extent": {"min_lat": float(lat.min()), "max_lat": float(lat.max()),
                       "min_lon": float(lon.min()), "max_lon": float(lon.max())}
            if len(lat) else None,
            "created": self.header.get("created"),
            "settings": {k: v for k, v in self.header.items()
                         if k not in ("format", "encoder", "index_type", "count", "created")},
        }
