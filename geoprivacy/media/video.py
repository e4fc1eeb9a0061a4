"""Streaming video I/O with PyAV: decode frames in batches, re-encode only the picture.

Memory stays flat in video length (one batch of frames at a time). Every frame keeps its
presentation timestamp (variable frame rate survives), audio is copied packet for packet, and
the display rotation is carried over. Data and subtitle streams (GPS tracks, telemetry) and
cover pictures are left out (see ``dropped_streams``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable, Iterator

import numpy as np

from geoprivacy.errors import GeoprivacyError

#: Pixel formats whose chroma is subsampled horizontally and vertically (even sides only).
_EVEN_SIDES = frozenset({"yuv420p", "yuvj420p", "nv12", "yuv420p10le"})

#: Containers whose muxers take H.264 with copied AAC/MP3/etc. audio.
_OUTPUT_FORMAT = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska",
                  ".avi": "avi"}


@dataclass(frozen=True)
class VideoInfo:
    """What a user expects to survive processing."""

    width: int
    height: int
    fps: float
    frames: int | None
    duration_s: float | None
    codec: str
    rotation: int
    audio_streams: int
    time_base: Fraction


@dataclass
class EncodeSettings:
    """Output codec and quality; overridable from the CLI."""

    codec: str = "libx264"
    crf: int = 18
    preset: str = "medium"
    pix_fmt: str = "yuv420p"
    extra: dict[str, str] = field(default_factory=dict)


def open_video(path: str) -> Any:
    """A PyAV input container; GeoprivacyError (one line) when FFmpeg cannot open it."""
    import av

    try:
        return av.open(path)
    except av.error.FFmpegError as exc:
        raise GeoprivacyError(f"cannot read video: {exc}") from None


def main_video_stream(container: Any) -> Any:
    """The first video stream that is a moving picture: MOV/MP4 files may carry a cover
    picture (an attached JPEG) as a "video" stream, sometimes before the real one."""
    import av

    for stream in container.streams.video:
        if not stream.disposition & av.stream.Disposition.attached_pic:
            return stream
    raise GeoprivacyError("no video stream" if not container.streams.video
                          else "no video stream (only a cover picture)")


def dropped_streams(path: str) -> list[str]:
    """What re-encoding leaves out: every stream but the main video and the audio, e.g.
    GoPro GPMF or dashcam GPS data tracks, subtitle tracks (DJI writes GPS into them), cover
    pictures. Best effort: an unreadable file has already failed elsewhere."""
    import av

    try:
        with av.open(path) as container:
            main = main_video_stream(container)
            out = []
            for s in container.streams:
                if s is main or s.type == "audio":
                    continue
                kind = "cover picture" if s.type == "video" else f"{s.type} stream"
                name = s.codec_context.name if s.codec_context else None
                handler = "".join(c for c in (s.metadata or {}).get("handler_name", "")
                                  if c.isprintable()).strip()   # MP4 keeps a length byte
                out.append(f"{kind} ({handler or name or s.codec_tag or '?'})")
            return out
    except (av.error.FFmpegError, GeoprivacyError, OSError):
        return []


def probe(path: str) -> VideoInfo:
    """Video stream facts, read from the container (no full decode)."""
    import av

    try:
        with av.open(path) as container:
            stream = main_video_stream(container)
            rate = stream.average_rate or stream.guessed_rate or Fraction(0)
            duration = (float(stream.duration * stream.time_base) if stream.duration
                        else (container.duration / 1e6 if container.duration else None))
            return VideoInfo(width=stream.codec_context.width, height=stream.codec_context.height,
                             fps=float(rate), frames=stream.frames or None,
                             duration_s=duration, codec=stream.codec_context.name,
                             rotation=_rotation(container, stream),
                             audio_streams=len(container.streams.audio),
                             time_base=stream.time_base)
    except av.error.FFmpegError as exc:
        raise GeoprivacyError(f"cannot read video: {exc}") from None


def _rotation(container: Any, stream: Any) -> int:
    """Display rotation in degrees, from the first decoded frame's display matrix."""
    try:
        for frame in container.decode(stream):
            return int(round(getattr(frame, "rotation", 0) or 0))
    except Exception:  # noqa: BLE001 - rotation is best effort; decoding errors surface later
        return 0
    return 0


FrameBatchFn = Callable[[np.ndarray, list[int]], np.ndarray]


def add_video_output(out: Any, rate: Fraction, time_base: Fraction, size: tuple[int, int],
                     settings: EncodeSettings, colour: dict[str, int] | None = None) -> Any:
    """An encoder stream that keeps the input's time base (so original pts stay exact).

    4:2:0 chroma needs even sides: an odd width or height gets one more column or row, a copy
    of the edge (``encode_batch`` pads), instead of an encoder that refuses to open."""
    vout = out.add_stream(settings.codec, rate=rate)
    vout.width, vout.height = (size[0] + size[0] % 2, size[1] + size[1] % 2) \
        if settings.pix_fmt in _EVEN_SIDES else size
    vout.pix_fmt = settings.pix_fmt
    vout.time_base = time_base
    vout.codec_context.time_base = time_base
    vout.options = {"crf": str(settings.crf), "preset": settings.preset, **settings.extra}
    for name, value in (colour or {}).items():
        setattr(vout.codec_context, name, value)
    vout.codec_context.color_range = 1      # MPEG (limited) range, as yuv420p H.264 is
    return vout


#: Matrices swscale converts with (AVColorSpace values): BT.709, FCC, BT.601, SMPTE 240M, BT.2020.
_SWS_MATRICES = frozenset({1, 4, 5, 7, 9})


def colour_tags(codec_context: Any) -> dict[str, int]:
    """The input's colour primaries, transfer and matrix, for the output: without them a player
    shows an HLG/PQ (HDR) or BT.2020 phone video washed out, as if it were BT.709 SDR.
    ``encode_batch`` converts with the tagged matrix, so the tags describe the pixels."""
    tags = {}
    for name in ("color_primaries", "color_trc", "colorspace"):
        value = getattr(codec_context, name, None)
        if value not in (None, 0, 2):       # 0 reserved, 2 unspecified
            tags[name] = int(value)
    return tags


def encode_batch(out: Any, vout: Any, frames: list[Any], process: FrameBatchFn,
                 first_index: int, settings: EncodeSettings) -> None:
    """Run ``process`` on decoded ``frames`` and encode the results with their original pts."""
    import av

    arr = np.stack([f.to_ndarray(format="rgb24") for f in frames])
    result = process(arr, list(range(first_index, first_index + len(frames))))
    matrix = getattr(vout.codec_context, "colorspace", None)
    matrix = 5 if matrix == 6 else matrix     # SMPTE 170M is BT.601's matrix
    matrix = matrix if matrix in _SWS_MATRICES else None
    for original, pixels in zip(frames, result):
        pad_h, pad_w = vout.height - pixels.shape[0], vout.width - pixels.shape[1]
        if pad_h or pad_w:
            pixels = np.pad(pixels, ((0, pad_h), (0, pad_w), (0, 0)), mode="edge")
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), format="rgb24")
        frame.pts, frame.time_base = original.pts, original.time_base
        for packet in vout.encode(frame.reformat(format=settings.pix_fmt, dst_colorspace=matrix,
                                                 dst_color_range=1)):
            out.mux(packet)


def transcode(src: str, dst: str, process: FrameBatchFn, *, batch: int = 8,
              settings: EncodeSettings | None = None,
              on_progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Decode ``src``, pass RGB frame batches (N×H×W×3 uint8) through ``process``, encode ``dst``.

    ``process`` gets the batch and the frames' indices and returns the new batch (same shape).
    Audio streams are copied untouched; the rest is left out. Returns counts for verification.
    """
    import av

    settings = settings or EncodeSettings()
    ext = os.path.splitext(dst)[1].lower()
    fmt = _OUTPUT_FORMAT.get(ext)
    if fmt is None:
        raise GeoprivacyError(f"unsupported output extension {ext!r}; use one of "
                              f"{', '.join(sorted(_OUTPUT_FORMAT))}")
    with open_video(src) as inp:
        vin = main_video_stream(inp)
        vin.thread_type = "AUTO"
        copied = [s for s in inp.streams if s.type == "audio"]
        with av.open(dst, "w", format=fmt) as out:
            rate = vin.average_rate or vin.guessed_rate or Fraction(30)
            vout = add_video_output(out, rate, vin.time_base,
                                    (vin.codec_context.width, vin.codec_context.height), settings,
                                    colour=colour_tags(vin.codec_context))
            audio = {s.index: AudioOut(out, s) for s in copied}
            # The display matrix must be set before the muxer writes its header.
            rotation = probe(src).rotation
            if rotation:
                vout.set_display_rotation(rotation)  # type: ignore[attr-defined]
            frames_in = frames_out = 0
            pending: list[Any] = []

            def flush() -> None:
                nonlocal frames_out
                if not pending:
                    return
                encode_batch(out, vout, pending, process, frames_out, settings)
                frames_out += len(pending)
                if on_progress:
                    on_progress(len(pending))
                pending.clear()

            try:
                for packet in inp.demux(vin, *copied):
                    if packet.stream.index in audio:
                        audio[packet.stream.index].mux(packet)
                        continue
                    for frame in packet.decode():
                        frames_in += 1
                        pending.append(frame)
                        if len(pending) >= batch:
                            flush()
            except av.error.FFmpegError as exc:
                raise GeoprivacyError(f"cannot process video at frame {frames_in}: "
                                      f"{exc}") from None
            if not frames_in:
                raise GeoprivacyError("no video frame could be decoded (the stream is empty "
                                      "or unreadable)")
            flush()
            for packet in vout.encode(None):
                out.mux(packet)
            for track in audio.values():
                track.close()
    return {"frames_in": frames_in, "frames_out": frames_out, "audio_streams": len(copied),
            "rotation": rotation,
            "audio_reencoded": [a.reencoded for a in audio.values() if a.reencoded]}


class AudioOut:
    """One input audio stream in the output: packets copied untouched when the container takes
    the codec, else decoded and re-encoded to AAC (IMA ADPCM from dashcam AVIs cannot go in
    MP4), timed from the input's own timestamps so sync holds."""

    def __init__(self, out: Any, stream: Any) -> None:
        self.out = out
        self.reencoded: str | None = None
        try:
            self.stream = out.add_stream_from_template(stream)
            return
        except ValueError:
            pass
        import av

        ctx = stream.codec_context
        rate = ctx.sample_rate or 48000
        self.stream = out.add_stream("aac", rate=rate)
        channels = ctx.layout.nb_channels if ctx.layout else 2
        # AAC's standard layouts by channel count (an ADPCM stream's own is unnamed: "1 channels")
        self.stream.layout = {1: "mono", 2: "stereo", 3: "3.0", 4: "4.0", 5: "5.0",
                              6: "5.1", 7: "6.1", 8: "7.1"}.get(channels, "stereo")
        self.stream.format = "fltp"
        self.resampler = av.AudioResampler(format="fltp", layout=self.stream.layout, rate=rate)
        self.next_pts: int | None = None
        self.reencoded = f"{ctx.name} re-encoded to AAC ({out.format.name} cannot carry it)"

    def mux(self, packet: Any) -> None:
        if self.reencoded is None:
            if packet.dts is not None:
                packet.stream = self.stream
                self.out.mux(packet)
            return
        for frame in packet.decode():
            if self.next_pts is None and frame.pts is not None:   # start where the input does
                self.next_pts = int(round(frame.pts * frame.time_base * self.stream.rate))
            self._encode(self.resampler.resample(frame))

    def close(self) -> None:
        if self.reencoded is not None:
            self._encode(self.resampler.resample(None))
            for packet in self.stream.encode(None):
                self.out.mux(packet)

    def _encode(self, frames: list[Any]) -> None:
        for frame in frames:
            frame.pts = self.next_pts = self.next_pts or 0
            frame.time_base = Fraction(1, self.stream.rate)
            self.next_pts += frame.samples
            for packet in self.stream.encode(frame):
                self.out.mux(packet)


def iter_frames(path: str, *, every: int = 1, max_frames: int | None = None,
                ) -> Iterator[tuple[int, float, np.ndarray]]:
    """(index, seconds, RGB array) for every ``every``-th frame, streaming."""
    import av

    with open_video(path) as container:
        stream = main_video_stream(container)
        stream.thread_type = "AUTO"
        yielded, i = 0, -1
        try:
            for i, frame in enumerate(container.decode(stream)):
                if i % every:
                    continue
                t = float(frame.pts * frame.time_base) if frame.pts is not None else float("nan")
                yield i, t, frame.to_ndarray(format="rgb24")
                yielded += 1
                if max_frames is not None and yielded >= max_frames:
                    return
        except av.error.FFmpegError as exc:
            raise GeoprivacyError(f"cannot decode video after frame {i + 1}: {exc}") from None
