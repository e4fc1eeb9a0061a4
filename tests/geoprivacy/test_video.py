"""Streaming transcode keeps every frame, its timestamp, and the audio packets."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from geoprivacy.media.video import iter_frames, probe, transcode
from tests.corpus import SHARED_DATA
from tests.media_factory import make_clip

CLIP = SHARED_DATA / "videos" / "sample-5s.mp4"


def packets(path: Path, kind: str) -> list[tuple[int | None, bytes]]:
    with av.open(str(path)) as c:
        stream = [s for s in c.streams if s.type == kind][0]
        return [(p.pts, bytes(p)) for p in c.demux(stream) if p.size]


def pts(path: Path) -> list[int]:
    with av.open(str(path)) as c:
        return [f.pts for f in c.decode(video=0)]


@pytest.mark.parametrize("vfr", [False, True])
def test_transcode_keeps_frames_timestamps_and_audio(tmp_path: Path, vfr: bool) -> None:
    short = make_clip(tmp_path / "short.mp4", frames=40, vfr=vfr, rotation=90)
    out = tmp_path / "out.mp4"
    seen: list[int] = []

    def invert(batch: np.ndarray, idx: list[int]) -> np.ndarray:
        seen.extend(idx)
        return 255 - batch

    stats = transcode(str(short), str(out), invert, batch=5)
    assert stats["frames_in"] == stats["frames_out"] == 40
    assert seen == list(range(40))
    assert stats["rotation"] == probe(str(out)).rotation != 0
    assert pts(out) == pts(short)
    assert packets(out, "audio") == packets(short, "audio")
    a, b = probe(str(short)), probe(str(out))
    assert (a.width, a.height, a.frames) == (b.width, b.height, b.frames)
    # timestamps are identical (above); the average rate of a VFR clip depends on how the
    # muxer guesses the last frame's duration, so it may differ by a fraction of a frame
    assert b.fps == pytest.approx(a.fps, rel=0.02)
    first_in = next(iter_frames(str(short)))[2].astype(int)
    first_out = next(iter_frames(str(out)))[2].astype(int)
    assert np.abs((255 - first_in) - first_out).mean() < 6  # really inverted (lossy codec)


def test_bad_output_extension_is_a_clear_error(tmp_path: Path) -> None:
    from geoprivacy.errors import GeoprivacyError
    with pytest.raises(GeoprivacyError, match="unsupported output extension"):
        transcode(str(CLIP), str(tmp_path / "x.gif"), lambda a, i: a)
