"""Segmented, resumable encoding: same frames and timestamps as one pass, audio untouched."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from geoprivacy.errors import GeoprivacyError
from geoprivacy.media.segments import plan, transcode_resumable
from tests.media_factory import make_clip


def pts(path: Path) -> list[int]:
    with av.open(str(path)) as c:
        return [f.pts for f in c.decode(video=0)]


def audio(path: Path) -> list[bytes]:
    with av.open(str(path)) as c:
        return [bytes(p) for p in c.demux(c.streams.audio[0]) if p.size]


@pytest.fixture()
def clip(tmp_path: Path) -> Path:
    # a keyframe every 10 frames, so there are several segments to cut at
    return make_clip(tmp_path / "in.mp4", frames=60, vfr=True, gop=10)


def test_plan_cuts_at_keyframes(clip: Path) -> None:
    segments = plan(str(clip), seconds=0.1)
    assert len(segments) == 6
    assert segments[0].first_index == 0 and segments[-1].end_pts is None
    for a, b in zip(segments, segments[1:]):
        assert a.end_pts == b.start_pts and b.first_index > a.first_index


def test_resume_after_a_crash_gives_the_same_output(clip: Path, tmp_path: Path) -> None:
    seen: list[int] = []

    def process_for(seg):  # noqa: ANN001, ANN202
        def process(batch: np.ndarray, idx: list[int]) -> np.ndarray:
            seen.extend(idx)
            return 255 - batch
        return process

    whole = tmp_path / "whole.mp4"
    stats = transcode_resumable(str(clip), str(whole), process_for, segment_seconds=0.0)
    assert stats["frames_out"] == 60 and pts(whole) == pts(clip)
    assert audio(whole) == audio(clip)
    assert sorted(seen) == list(range(60))
    segments = stats["segments"]

    calls = {"n": 0}

    def crashing_for(seg):  # noqa: ANN001, ANN202
        def process(batch: np.ndarray, idx: list[int]) -> np.ndarray:
            if seg.number == segments - 1:
                calls["n"] += 1
                raise KeyboardInterrupt
            return 255 - batch
        return process

    out = tmp_path / "resumed.mp4"
    with pytest.raises(KeyboardInterrupt):
        transcode_resumable(str(clip), str(out), crashing_for, segment_seconds=0.0)
    assert not out.exists(), "no half-written output in place"
    stats = transcode_resumable(str(clip), str(out), process_for, segment_seconds=0.0,
                                resume=True)
    assert stats["resumed_segments"] == segments - 1
    assert stats["frames_encoded"] < 60
    assert pts(out) == pts(clip) and audio(out) == audio(clip)
    assert not Path(str(out) + ".parts").exists()


def test_resume_with_other_settings_is_refused(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "o.mp4"

    def boom_for(seg):  # noqa: ANN001, ANN202
        def process(batch: np.ndarray, idx: list[int]) -> np.ndarray:
            if seg.number > 0:
                raise KeyboardInterrupt
            return batch
        return process

    with pytest.raises(KeyboardInterrupt):
        transcode_resumable(str(clip), str(out), boom_for, segment_seconds=0.0,
                            settings_key={"method": "blur"})
    with pytest.raises(GeoprivacyError, match="other settings"):
        transcode_resumable(str(clip), str(out), boom_for, segment_seconds=0.0, resume=True,
                            settings_key={"method": "mosaic"})
