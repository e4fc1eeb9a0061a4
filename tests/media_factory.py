"""Small videos the tests generate: H.264 + AAC, optional variable frame rate and rotation."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np


def make_clip(path: Path, frames: int = 30, size: tuple[int, int] = (160, 96),
              vfr: bool = False, audio: bool = True, rotation: int = 0,
              gop: int | None = None) -> Path:
    """Write a clip of moving colour bars; with ``vfr`` the frame durations alternate."""
    import av

    w, h = size
    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=30)
        v.width, v.height, v.pix_fmt = w, h, "yuv420p"
        v.time_base = Fraction(1, 15360)
        v.codec_context.time_base = Fraction(1, 15360)
        if gop:
            v.codec_context.gop_size = gop
            v.options = {"keyint_min": str(gop), "sc_threshold": "0"}
        if rotation:
            v.set_display_rotation(rotation)
        a = None
        if audio:
            a = out.add_stream("aac", rate=44100)
            a.layout = "mono"
        pts = 0
        x = np.arange(w)
        for i in range(frames):
            img = np.zeros((h, w, 3), np.uint8)
            img[..., 0] = (x[None, :] * 2 + i * 5) % 256
            img[..., 1] = (np.arange(h)[:, None] * 3) % 256
            img[..., 2] = (i * 9) % 256
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = pts
            frame.time_base = Fraction(1, 15360)
            pts += 512 if not vfr or i % 2 == 0 else 1024
            for packet in v.encode(frame):
                out.mux(packet)
        for packet in v.encode(None):
            out.mux(packet)
        if a is not None:
            samples = int(44100 * pts / 15360)
            t = np.arange(samples) / 44100
            tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None, :]
            for start in range(0, samples, 1024):
                chunk = av.AudioFrame.from_ndarray(tone[:, start:start + 1024], format="fltp",
                                                   layout="mono")
                chunk.sample_rate = 44100
                chunk.pts = start
                for packet in a.encode(chunk):
                    out.mux(packet)
            for packet in a.encode(None):
                out.mux(packet)
    return path


def cut_clip(src: Path, dst: Path, frames: int) -> Path:
    """The first ``frames`` frames of ``src`` re-encoded as H.264 MP4 (no audio), same size."""
    import av

    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        vin = inp.streams.video[0]
        v = out.add_stream("libx264", rate=vin.average_rate or 25)
        v.width, v.height, v.pix_fmt = vin.codec_context.width, vin.codec_context.height, "yuv420p"
        for i, frame in enumerate(inp.decode(vin)):
            if i >= frames:
                break
            rgb = av.VideoFrame.from_ndarray(frame.to_ndarray(format="rgb24"), format="rgb24")
            rgb.pts = i
            for packet in v.encode(rgb.reformat(format="yuv420p")):
                out.mux(packet)
        for packet in v.encode(None):
            out.mux(packet)
    return dst
