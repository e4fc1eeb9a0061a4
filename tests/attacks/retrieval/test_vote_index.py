"""Vote, regions, track interpolation and the index file, on small hand-made inputs."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from geoprivacy.attacks.retrieval.attacker import MIN_RADIUS_KM, regions, vote
from geoprivacy.attacks.retrieval.gallery import TrackClock
from geoprivacy.errors import GeoprivacyError
from geoprivacy.geo import granularity_for_radius, haversine_km
from geoprivacy.types import Granularity

LUND = (55.6985, 13.1950)
MADRID = (40.4470, -3.7248)


def test_vote_follows_the_heavier_cluster() -> None:
    # Three close matches in Lund (within ~100 m) and one slightly better match in Madrid.
    sims = np.array([0.90, 0.88, 0.87, 0.91])
    lats = np.array([LUND[0], LUND[0] + 0.0005, LUND[0] - 0.0005, MADRID[0]])
    lons = np.array([LUND[1], LUND[1], LUND[1] + 0.0005, MADRID[1]])
    est = vote(sims, lats, lons)
    assert haversine_km(est.lat, est.lon, *LUND) < 0.1
    assert est.radius_km == MIN_RADIUS_KM                     # supporters within ~60 m
    w = np.exp((sims - sims.max()) / 0.05)
    assert est.confidence == pytest.approx(w[:3].sum() / w.sum())
    assert granularity_for_radius(est.radius_km) is Granularity.EXACT


def test_vote_spread_gives_coarser_granularity() -> None:
    # Equal matches spread 20 km apart: one cluster, radius ~10 km → city.
    sims = np.array([0.8, 0.8])
    lats = np.array([0.0, 0.0])
    lons = np.array([0.0, 20 / 111.195])
    est = vote(sims, lats, lons)
    assert est.radius_km == pytest.approx(10.0, rel=0.01)
    assert granularity_for_radius(est.radius_km) is Granularity.CITY


def test_vote_without_neighbours_is_an_error() -> None:
    with pytest.raises(GeoprivacyError):
        vote(np.array([]), np.array([]), np.array([]))


def test_regions_merge_and_rank_by_weight() -> None:
    sims = np.array([0.95, 0.94, 0.94, 0.93])  # weights 1, .82, .82, .67
    lats = np.array([MADRID[0], LUND[0], LUND[0] + 0.001, LUND[0]])
    lons = np.array([MADRID[1], LUND[1], LUND[1], LUND[1] + 0.001])
    ranked = regions(sims, lats, lons, region_km=1.0)
    assert len(ranked) == 2
    assert haversine_km(ranked[0][0], ranked[0][1], *LUND) < 0.01   # three votes beat one
    assert ranked[0][2] > ranked[1][2]


def test_track_clock_interpolates_relative_times() -> None:
    fixes = [(1000.0, 10.0, 20.0), (1002.0, 12.0, 24.0), (1004.0, 12.0, 24.0)]
    clock = TrackClock(fixes, duration=None)
    assert clock.at(1.0) == pytest.approx((11.0, 22.0))
    assert clock.at(-5) == (10.0, 20.0) and clock.at(99) == (12.0, 24.0)
    untimed = TrackClock([(None, 0.0, 0.0), (None, 0.0, 2.0), (None, 0.0, 4.0)], duration=8.0)
    assert untimed.at(2.0) == pytest.approx((0.0, 1.0))    # spread over 8 s: a fix every 4 s


def test_index_type_is_chosen_by_size_and_overridable() -> None:
    from geoprivacy.attacks.retrieval.index import choose_index_type

    assert choose_index_type(100) == "flat"
    assert choose_index_type(50_000) == "ivf"
    assert choose_index_type(1_000_000) == "ivf"
    assert choose_index_type(100, "hnsw") == "hnsw"
    with pytest.raises(GeoprivacyError):
        choose_index_type(100, "annoy")


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf"])
def test_index_round_trip_finds_itself(tmp_path: Path, kind: str) -> None:
    pytest.importorskip("faiss")
    from geoprivacy.attacks.retrieval.encoders import EncoderIdentity
    from geoprivacy.attacks.retrieval.index import GalleryIndex

    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(400, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    rows = [{"lat": i / 10, "lon": -i / 10, "source": f"f{i}.jpg", "sha256": str(i),
             "time_s": math.nan} for i in range(400)]
    ident = EncoderIdentity("toy", "ab" * 32, "gap", 32, 8)
    GalleryIndex.build(vectors, rows, ident, kind).save(tmp_path / "g.npz")
    index = GalleryIndex.load(tmp_path / "g.npz")
    assert index.index_type == kind and index.identity == ident
    sims, found = index.search(vectors[:20], 1)
    assert (found[:, 0] == np.arange(20)).mean() >= 0.9
    info = index.info()
    assert info["count"] == 400 and info["extent"]["max_lat"] == pytest.approx(39.9)


def test_identity_mismatch_names_the_difference() -> None:
    from geoprivacy.attacks.retrieval.encoders import EncoderIdentity

    a = EncoderIdentity("efficientnet-lite0", "aa", "gem", 384, 1280)
    assert a.mismatch(a) is None
    reason = a.mismatch(EncoderIdentity("efficientnet-lite0", "aa", "gap", 384, 1280))
    assert reason is not None and "pooling" in reason


def test_not_an_index_is_one_line(tmp_path: Path) -> None:
    pytest.importorskip("faiss")
    from geoprivacy.attacks.retrieval.index import GalleryIndex

    bad = tmp_path / "x.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(GeoprivacyError, match="cannot read index"):
        GalleryIndex.load(bad)
