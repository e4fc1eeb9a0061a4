"""Run the retrieval attacker over a dataset with known truth and score it.

A dataset is a folder of geo-tagged media (their metadata is the truth) or a CSV ``path,lat,lon``.
Queries never see their own file in the gallery; a video frame also never sees gallery frames of
the same video within ``holdout_s`` seconds (a whole window around it is held out), so a query's
neighbours are not the same instant.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from geoprivacy.attacks.retrieval.attacker import RetrievalAttacker
from geoprivacy.attacks.retrieval.gallery import Sample, collect_samples, sha256_file, \
    video_frames
from geoprivacy.errors import GeoprivacyError
from geoprivacy.evaluation import QueryResult, area_to_truth, chance_shares, read_truth_csv

DEFAULT_HOLDOUT_S = 60.0
DEFAULT_QUERY_EVERY_S = 5.0
#: Radius of a predicted region for Recall-vs-Area (street level: the finest ladder step).
DEFAULT_REGION_KM = 1.0

Progress = Callable[[list[str], str], Iterable[str]]


def csv_samples(csv_path: str, every_s: float, progress: Progress | None
                ) -> tuple[Iterator[Sample], list[tuple[str, str]]]:
    """Samples of a ``path,lat,lon`` CSV: photos as they are, videos as frames (fixed truth)."""
    from geoprivacy.attacks.retrieval.encoders import load_image
    from geoprivacy.audit import identify

    truths = read_truth_csv(csv_path)
    skipped: list[tuple[str, str]] = []
    by_path = {t.path: t for t in truths}
    paths = list(by_path)
    files = progress(paths, "evaluating") if progress else paths

    def generate() -> Iterator[Sample]:
        for path in files:
            t = by_path[path]
            try:
                item = identify(path)
                digest = sha256_file(path)
                if item.kind == "video":
                    for ts, im in video_frames(path, every_s=every_s):
                        yield Sample(im.convert("RGB"), t.lat, t.lon, path, digest, float(ts))
                else:
                    yield Sample(load_image(path), t.lat, t.lon, path, digest)
            except GeoprivacyError as exc:
                skipped.append((path, str(exc)))
            except OSError as exc:
                skipped.append((path, f"cannot read: {exc.strerror or exc}"))

    return generate(), skipped


def dataset_samples(dataset: str, every_s: float = DEFAULT_QUERY_EVERY_S,
                    progress: Progress | None = None
                    ) -> tuple[Iterator[Sample], list[tuple[str, str]]]:
    if Path(dataset).is_file() and dataset.lower().endswith(".csv"):
        return csv_samples(dataset, every_s, progress)
    if not Path(dataset).exists():
        raise GeoprivacyError(f"dataset not found: {dataset}")
    return collect_samples([dataset], every_s=every_s, progress=progress)


def exclusion_mask(attacker: RetrievalAttacker, sample: Sample, holdout_s: float) -> np.ndarray:
    """Gallery rows a query must not see: its own photo, or its own video near its timestamp."""
    labels = attacker.index.labels
    same = labels.sha256 == sample.sha256
    if math.isnan(sample.time_s):
        return same
    with np.errstate(invalid="ignore"):
        near = np.abs(labels.time_s - sample.time_s) < holdout_s
    return same & (near | np.isnan(labels.time_s))


def evaluate(dataset: str, attacker: RetrievalAttacker, *,
             every_s: float = DEFAULT_QUERY_EVERY_S, holdout_s: float = DEFAULT_HOLDOUT_S,
             region_km: float = DEFAULT_REGION_KM, progress: Progress | None = None
             ) -> tuple[list[QueryResult], list[tuple[str, str]]]:
    """Every query's result, and (path, reason) for inputs that gave no query."""
    samples, skipped = dataset_samples(dataset, every_s, progress)
    labels = attacker.index.labels
    results = []
    for sample in samples:
        vec = attacker.encoder.encode([sample.image])
        mask = exclusion_mask(attacker, sample, holdout_s)
        try:
            est = attacker.estimate(vec, mask, region_km)
        except GeoprivacyError as exc:
            skipped.append((sample.source, str(exc)))
            continue
        name = sample.source if math.isnan(sample.time_s) else \
            f"{sample.source}@{sample.time_s:.2f}s"
        results.append(QueryResult(
            name, sample.lat, sample.lon, est.lat, est.lon, est.radius_km, est.confidence,
            area_to_truth(sample.lat, sample.lon, est.ranked, region_km),
            chance_shares(sample.lat, sample.lon, labels.lat[~mask], labels.lon[~mask])))
    return results, skipped
