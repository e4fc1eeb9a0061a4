"""Video galleries: frames every N seconds / metres, labelled at the GPS-track position of their
timestamp; evaluation hides a query's own time window."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from geoprivacy.geo import haversine_km
from tests.corpus import SHARED_DATA

pytest.importorskip("av")

KARMA = SHARED_DATA / "videos" / "karma.mp4"   # GoPro Karma drone: 12 s, GPMF track, 47 fixes


def _samples(**kw):  # type: ignore[no-untyped-def]
    from geoprivacy.attacks.retrieval.gallery import collect_samples

    samples, skipped = collect_samples([str(KARMA)], **kw)
    return list(samples), skipped


def _track():  # type: ignore[no-untyped-def]
    from geoprivacy.attacks.metadata import MetadataAttacker
    from geoprivacy.attacks.retrieval.gallery import TrackClock, track_fixes, video_duration
    from geoprivacy.audit import identify

    attacker = MetadataAttacker()
    attacker.options.detail = True
    fixes = track_fixes(attacker.attack(identify(str(KARMA))).evidence)
    return fixes, TrackClock(fixes, video_duration(str(KARMA)))


def test_frames_every_seconds_are_labelled_on_the_track() -> None:
    samples, skipped = _samples(every_s=2.0)
    fixes, clock = _track()
    assert not skipped and len(fixes) == 47
    times = [s.time_s for s in samples]
    assert len(samples) == 7 and times[0] == pytest.approx(0.0, abs=0.1)   # 0, 2, … 12 s
    assert all(b - a >= 2.0 for a, b in zip(times, times[1:]))
    for s in samples:
        assert (s.lat, s.lon) == pytest.approx(clock.at(s.time_s))
        assert s.image.size == (854, 480) and s.source == str(KARMA)
    # the first frame sits on the first fix of the track
    first = min(fixes, key=lambda f: f[0])
    assert (samples[0].lat, samples[0].lon) == pytest.approx((first[1], first[2]), abs=1e-5)


def test_frames_every_metres_follow_distance() -> None:
    _, clock = _track()
    samples, _ = _samples(every_m=5.0)
    assert len(samples) >= 2
    for a, b in zip(samples, samples[1:]):
        assert haversine_km(a.lat, a.lon, b.lat, b.lon) * 1000 >= 5.0 - 1e-6


def test_photo_without_location_is_skipped(tmp_path: Path) -> None:
    from PIL import Image

    from geoprivacy.attacks.retrieval.gallery import collect_samples

    Image.new("RGB", (16, 16)).save(tmp_path / "plain.jpg")
    samples, skipped = collect_samples([str(tmp_path)])
    assert list(samples) == [] and skipped == [(str(tmp_path / "plain.jpg"),
                                                "no location in its metadata")]


def test_holdout_hides_the_query_time_window() -> None:
    from geoprivacy.attacks.retrieval.evaluate import exclusion_mask
    from geoprivacy.attacks.retrieval.gallery import Sample

    labels = SimpleNamespace(sha256=np.array(["v", "v", "v", "p", "w"]),
                             time_s=np.array([0.0, 30.0, 100.0, math.nan, 5.0]))
    attacker = SimpleNamespace(index=SimpleNamespace(labels=labels))
    frame = Sample(None, 0, 0, "v.mp4", "v", time_s=10.0)  # type: ignore[arg-type]
    assert exclusion_mask(attacker, frame, 60.0).tolist() == [True, True, False, False, False]
    photo = Sample(None, 0, 0, "p.jpg", "p")  # type: ignore[arg-type]
    assert exclusion_mask(attacker, photo, 60.0).tolist() == [False, False, False, True, False]


@pytest.mark.slow
def test_cli_builds_a_video_gallery(tmp_path: Path) -> None:
    pytest.importorskip("open_clip")
    pytest.importorskip("faiss")
    from click.testing import CliRunner

    from geoprivacy.attacks.retrieval.index import GalleryIndex
    from geoprivacy.cli import main
    from tests.attacks.retrieval.helpers import TINY_ARCH, tiny_open_clip

    ckpt = tiny_open_clip(tmp_path / "model")
    out = tmp_path / "v.npz"
    result = CliRunner().invoke(main, ["index", "build", str(KARMA), "-o", str(out), "--every-s",
                                       "3", "--encoder", f"open_clip:{TINY_ARCH}", "--weights",
                                       str(ckpt), "--device", "cpu", "-q"])
    assert result.exit_code == 0, result.output
    info = GalleryIndex.load(out).info()
    assert info["count"] == info["video_frames"] == 5 and info["sources"] == 1  # 0, 3, … 12 s
    assert info["settings"]["every_s"] == 3.0
