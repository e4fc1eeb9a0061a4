"""The retrieval attacker: top-k gallery neighbours → a weighted vote on where the media was made.

Vote: each neighbour weighs ``exp((sim - best_sim) / TEMPERATURE)``; the neighbour whose
``CLUSTER_KM`` surroundings hold the most weight is the mode, and the estimate is the weighted
mean of the neighbours around it. Radius: the weighted spread of those supporters around the
estimate (at least MIN_RADIUS_KM). Confidence: the supporters' share of the total weight.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from geoprivacy.attacks import AttackOutcome
from geoprivacy.errors import GeoprivacyError
from geoprivacy.geo import EARTH_RADIUS_KM, granularity_for_radius, haversine_km
from geoprivacy.types import Evidence, EvidenceKind, MediaItem

ATTACKER = "retrieval"
TEMPERATURE = 0.05
CLUSTER_KM = 25.0
MIN_RADIUS_KM = 0.5
DEFAULT_K = 10
MEDIA_CONTAINERS = frozenset({"JPEG", "PNG", "TIFF", "BigTIFF", "WebP", "HEIF", "AVIF",
                              "MP4", "MOV", "3GP", "AVI", "MPEG-TS"})
#: Frames of a queried video (evenly spread) that vote together.
VIDEO_QUERY_FRAMES = 8


@dataclass(frozen=True)
class Estimate:
    lat: float
    lon: float
    radius_km: float
    confidence: float
    neighbours: list[dict[str, Any]] = field(default_factory=list)
    ranked: list[tuple[float, float, float]] = field(default_factory=list)  # regions, best first


def _mean_position(lats: np.ndarray, lons: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """Weighted mean on the sphere (safe across the antimeridian)."""
    la, lo = np.radians(lats), np.radians(lons)
    x = np.sum(w * np.cos(la) * np.cos(lo))
    y = np.sum(w * np.cos(la) * np.sin(lo))
    z = np.sum(w * np.sin(la))
    return (math.degrees(math.atan2(z, math.hypot(x, y))), math.degrees(math.atan2(y, x)))


def pairwise_km(lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    la, lo = np.radians(lats)[:, None], np.radians(lons)[:, None]
    dlat, dlon = la - la.T, lo - lo.T
    a = np.sin(dlat / 2) ** 2 + np.cos(la) * np.cos(la.T) * np.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def vote(sims: np.ndarray, lats: np.ndarray, lons: np.ndarray,
         cluster_km: float = CLUSTER_KM) -> Estimate:
    """Location estimate from neighbours (similarities and their labels)."""
    if len(sims) == 0:
        raise GeoprivacyError("no neighbours to vote with")
    w = np.exp((sims - sims.max()) / TEMPERATURE)
    near = pairwise_km(lats, lons) <= cluster_km
    support = near @ w
    mode = int(np.argmax(support))
    members = near[mode]
    lat, lon = _mean_position(lats[members], lons[members], w[members])
    dists = np.array([haversine_km(lat, lon, a, b) for a, b in zip(lats[members], lons[members])])
    spread = float(np.sqrt(np.sum(w[members] * dists ** 2) / np.sum(w[members])))
    return Estimate(lat, lon, max(MIN_RADIUS_KM, spread), float(support[mode] / w.sum()))


def regions(sims: np.ndarray, lats: np.ndarray, lons: np.ndarray,
            region_km: float = CLUSTER_KM) -> list[tuple[float, float, float]]:
    """Ranked predicted regions (lat, lon, weight): neighbours merged into discs of
    ``region_km`` around the first neighbour of each, ordered by total vote weight."""
    w = np.exp((sims - sims.max()) / TEMPERATURE) if len(sims) else sims
    out: list[list[float]] = []
    for s, a, b in zip(w, lats, lons):
        for r in out:
            if haversine_km(r[0], r[1], a, b) <= region_km:
                r[2] += float(s)
                break
        else:
            out.append([float(a), float(b), float(s)])
    out.sort(key=lambda r: -r[2])
    return [(r[0], r[1], r[2]) for r in out]


class RetrievalAttacker:
    """Queries a gallery index with the encoder it was built with."""

    name = ATTACKER
    reads_pixels = True

    def __init__(self, index_path: str | None = None, *, k: int = DEFAULT_K,
                 device: str = "auto", weights: str | None = None) -> None:
        self.k, self.device, self.weights = k, device, weights
        self.index_path: str | None = None
        if index_path is not None:
            self.use_index(index_path)

    def use_index(self, index_path: str) -> None:
        """Load the gallery and the encoder it was built with (refuses any other encoder)."""
        from geoprivacy.attacks.retrieval.encoders import encoder_for
        from geoprivacy.attacks.retrieval.index import GalleryIndex

        self.index = GalleryIndex.load(index_path)
        self.encoder = encoder_for(self.index.identity, device=self.device, weights=self.weights)
        self.index_path = index_path

    def supports(self, container: str) -> bool:
        """Pixels it can decode: photos (Pillow) and videos (PyAV); never sidecars."""
        return container in MEDIA_CONTAINERS

    def neighbours(self, vectors: np.ndarray, exclude: np.ndarray | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
        """Similarities and label rows of the top-k over all query vectors, skipping gallery
        rows where the boolean mask ``exclude`` is set (the query's own file or time window)."""
        extra = 0 if exclude is None else int(exclude.sum())
        sims, rows = self.index.search(vectors, self.k + extra)
        keep_s, keep_r = [], []
        for srow, rrow in zip(sims, rows):
            kept = 0
            for s, r in zip(srow, rrow):
                if r < 0 or (exclude is not None and exclude[r]) or kept >= self.k:
                    continue
                keep_s.append(float(s))
                keep_r.append(int(r))
                kept += 1
        return np.array(keep_s), np.array(keep_r, dtype=np.int64)

    def estimate(self, vectors: np.ndarray, exclude: np.ndarray | None = None,
                 region_km: float = CLUSTER_KM) -> Estimate:
        """Vote over the neighbours of all ``vectors`` (several frames of one video vote
        together); ``neighbours`` lists the best k, most similar first; ``ranked`` the
        predicted regions (discs of ``region_km``), best first."""
        sims, rows = self.neighbours(vectors, exclude)
        if len(rows) == 0:
            raise GeoprivacyError("the index has no usable neighbour for this query")
        labels = self.index.labels
        est = vote(sims, labels.lat[rows], labels.lon[rows])
        order = np.argsort(-sims, kind="stable")
        top = [{"source": str(labels.source[rows[i]]), "lat": float(labels.lat[rows[i]]),
                "lon": float(labels.lon[rows[i]]), "similarity": round(float(sims[i]), 4)}
               for i in order[: self.k]]
        ranked = regions(sims[order], labels.lat[rows[order]], labels.lon[rows[order]],
                         region_km)
        return Estimate(est.lat, est.lon, est.radius_km, est.confidence, top, ranked)

    def query_images(self, item: MediaItem) -> list[Any]:
        from geoprivacy.attacks.retrieval.encoders import load_image
        from geoprivacy.attacks.retrieval.gallery import video_duration, video_frames

        if item.kind == "photo":
            return [load_image(item.path)]
        if item.kind == "video":
            duration = video_duration(item.path) or 0.0
            step = max(duration / VIDEO_QUERY_FRAMES, 0.04)
            return [im.convert("RGB") for _, im in
                    video_frames(item.path, every_s=step, max_frames=VIDEO_QUERY_FRAMES)]
        raise GeoprivacyError(f"not a photo or video ({item.container})")

    def attack(self, item: MediaItem) -> AttackOutcome:
        if self.index_path is None:
            raise GeoprivacyError("the retrieval attacker needs a gallery: pass --index INDEX "
                                  "(build one with `geoprivacy index build`)")
        try:
            images = self.query_images(item)
            if not images:
                return AttackOutcome(errors=["no frame could be decoded"])
            est = self.estimate(self.encoder.encode(images))
        except GeoprivacyError as exc:
            return AttackOutcome(errors=[str(exc)])
        evidence = Evidence(
            attacker=ATTACKER, kind=EvidenceKind.PREDICTION, where=f"retrieval:top-{self.k}",
            lat=round(est.lat, 6), lon=round(est.lon, 6), radius_km=round(est.radius_km, 3),
            granularity=granularity_for_radius(est.radius_km),
            confidence=round(est.confidence, 4),
            detail={"index": self.index_path, "encoder": self.index.identity.encoder,
                    "frames": len(images), "neighbours": est.neighbours})
        return AttackOutcome(evidence=[evidence])
