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


def test_an_empty_video_stream_is_an_error_and_leaves_no_output(tmp_path: Path) -> None:
    """QuickTime.mov declares 149 frames but holds no media data: nothing was looked at, so it
    must be an error (never a silent empty output, never "nothing found")."""
    from geoprivacy.cues.frames import video_frames
    from geoprivacy.errors import GeoprivacyError

    skeleton = SHARED_DATA / "videos" / "QuickTime.mov"
    out = tmp_path / "out.mov"
    with pytest.raises(GeoprivacyError, match="no video frame could be decoded"):
        transcode(str(skeleton), str(out), lambda a, i: a)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(GeoprivacyError, match="no video frame could be decoded"):
        list(video_frames(str(skeleton)))
    with pytest.raises(GeoprivacyError, match="cannot read video"):
        list(iter_frames(str(tmp_path / "missing.mp4")))


def with_cover_picture(path: Path) -> Path:
    """An MP4 whose container also holds a cover picture (an attached 16×16 JPEG)."""
    with av.open(str(path), "w", format="mp4") as out:
        pic = out.add_stream("mjpeg", rate=1)
        pic.width = pic.height = 16
        pic.pix_fmt = "yuvj420p"
        pic.disposition = av.stream.Disposition.attached_pic
        video = out.add_stream("libx264", rate=10)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        cover = av.VideoFrame.from_ndarray(np.zeros((16, 16, 3), np.uint8), format="rgb24")
        for packet in [*pic.encode(cover.reformat(format="yuvj420p")), *pic.encode(None)]:
            out.mux(packet)
        for i in range(10):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 20 * i, np.uint8),
                                               format="rgb24")
            frame.pts = i
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
    return path


def test_the_cover_picture_is_not_the_video_and_is_dropped(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from geoprivacy.errors import GeoprivacyError
    from geoprivacy.media.video import main_video_stream

    def stream(disposition: int) -> SimpleNamespace:
        return SimpleNamespace(disposition=av.stream.Disposition(disposition))

    cover, movie = stream(1024), stream(1)
    assert main_video_stream(SimpleNamespace(streams=SimpleNamespace(video=[cover, movie]))) \
        is movie
    with pytest.raises(GeoprivacyError, match="only a cover picture"):
        main_video_stream(SimpleNamespace(streams=SimpleNamespace(video=[cover])))

    src = with_cover_picture(tmp_path / "cover.mp4")
    out = tmp_path / "out.mp4"
    stats = transcode(str(src), str(out), lambda a, i: a)
    assert stats["frames_out"] == 10 and probe(str(out)).width == 64
    with av.open(str(out)) as c:
        assert [s.codec_context.name for s in c.streams] == ["h264"]


def test_odd_sides_are_padded_by_one_edge_copy(tmp_path: Path) -> None:
    """x264 cannot open 4:2:0 at an odd width or height (phones crop to odd sizes)."""
    src = tmp_path / "odd.mov"
    with av.open(str(src), "w", format="mov") as out:
        stream = out.add_stream("mjpeg", rate=10)
        stream.width, stream.height, stream.pix_fmt = 161, 97, "yuvj444p"
        ramp = np.tile(np.linspace(0, 255, 161, dtype=np.uint8)[None, :, None], (97, 1, 3))
        for i in range(5):
            frame = av.VideoFrame.from_ndarray(ramp, format="rgb24")
            frame.pts = i
            out.mux(stream.encode(frame.reformat(format="yuvj444p")))
        out.mux(stream.encode(None))
    dst = tmp_path / "out.mp4"
    stats = transcode(str(src), str(dst), lambda a, i: a)
    assert stats["frames_out"] == 5
    info = probe(str(dst))
    assert (info.width, info.height) == (162, 98)
    last = next(iter_frames(str(dst)))[2].astype(int)
    assert np.abs(last[:, 161] - last[:, 160]).mean() < 4      # the edge column, copied
    assert np.abs(last[97] - last[96]).mean() < 4


def test_colour_tags_follow_the_input(tmp_path: Path) -> None:
    """An HLG/BT.2020 phone video must stay tagged so: untagged, players show it washed out."""
    src = tmp_path / "hlg.mp4"
    with av.open(str(src), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        ctx = stream.codec_context
        ctx.color_primaries, ctx.color_trc, ctx.colorspace, ctx.color_range = 9, 18, 9, 1
        for i in range(5):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), (200, 90, 40), np.uint8),
                                               format="rgb24")
            frame.pts = i
            out.mux(stream.encode(frame.reformat(format="yuv420p", dst_colorspace=9,
                                                 dst_color_range=1)))
        out.mux(stream.encode(None))
    dst = tmp_path / "out.mp4"
    transcode(str(src), str(dst), lambda a, i: a)
    with av.open(str(dst)) as c:
        ctx = c.streams.video[0].codec_context
        assert (ctx.color_primaries, ctx.color_trc, ctx.colorspace) == (9, 18, 9)
    before = next(iter_frames(str(src)))[2].astype(int)
    after = next(iter_frames(str(dst)))[2].astype(int)
    assert np.abs(before - after).mean() < 3      # converted with the matrix it is tagged with


def test_audio_the_container_refuses_is_reencoded_in_sync(tmp_path: Path) -> None:
    """Dashcam AVIs carry IMA ADPCM, which MP4 cannot hold: re-encode it, do not fail."""
    src = tmp_path / "dash.avi"
    rate, seconds = 16000, 2
    tone = (0.5 * np.sin(2 * np.pi * 440 * np.arange(rate * seconds) / rate)).astype(np.float32)
    with av.open(str(src), "w", format="avi") as out:
        video = out.add_stream("mjpeg", rate=10)
        video.width, video.height, video.pix_fmt = 64, 48, "yuvj420p"
        audio = out.add_stream("adpcm_ima_wav", rate=rate)
        audio.layout = "mono"
        for i in range(10 * seconds):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 10 * i, np.uint8),
                                               format="rgb24")
            frame.pts = i
            out.mux(video.encode(frame.reformat(format="yuvj420p")))
        resampler = av.AudioResampler(format=audio.format.name, layout="mono", rate=rate)
        pcm = av.AudioFrame.from_ndarray(tone[None], format="flt", layout="mono")
        pcm.sample_rate, pcm.pts = rate, 0
        for chunk in resampler.resample(pcm):
            out.mux(audio.encode(chunk))
        out.mux(audio.encode(None))
        out.mux(video.encode(None))
    dst = tmp_path / "out.mp4"
    stats = transcode(str(src), str(dst), lambda a, i: a)
    assert stats["audio_reencoded"] == ["adpcm_ima_wav re-encoded to AAC (mp4 cannot carry it)"]
    with av.open(str(dst)) as c:
        stream = c.streams.audio[0]
        assert stream.codec_context.name == "aac" and stream.codec_context.sample_rate == rate
        decoded = np.concatenate([f.to_ndarray().reshape(-1) for f in c.decode(stream)])
    assert abs(len(decoded) - len(tone)) <= 2048            # same length, give or take a frame
    spectrum = np.abs(np.fft.rfft(decoded[: len(tone)]))
    assert abs(np.argmax(spectrum) * rate / len(tone) - 440) < 5     # still the 440 Hz tone
