"""Resumable video processing: encode in segments cut at keyframes, then join them.

A long protect run that is interrupted keeps every finished segment (each written atomically
and recorded in a journal); ``--resume`` re-does only the missing ones. Joining copies the
segments' video packets and the input's audio packets into one file, interleaved by time,
so audio stays bit-identical and every frame keeps its original timestamp.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import math
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable, Iterator


from geoprivacy.errors import GeoprivacyError
from geoprivacy.fsutil import atomic_path, atomic_write
from geoprivacy.media.video import (AudioOut, EncodeSettings, FrameBatchFn, add_video_output,
                                    colour_tags, encode_batch, main_video_stream)

DEFAULT_SEGMENT_SECONDS = 10.0


@dataclass(frozen=True)
class Segment:
    """Frames with ``start_pts <= pts < end_pts`` (end None: to the end); ``first_index`` is the
    index of its first frame in the whole video."""

    number: int
    start_pts: int
    end_pts: int | None
    first_index: int


def plan(src: str, seconds: float = DEFAULT_SEGMENT_SECONDS) -> list[Segment]:
    """Segments of about ``seconds`` each, cut at keyframes (packets only, no decoding)."""
    import av

    with av.open(src) as c:
        v = main_video_stream(c)
        tb = v.time_base
        keys: list[tuple[int, int]] = []       # (pts, frames before it)
        count = 0
        for packet in c.demux(v):
            if packet.pts is None:
                continue
            if packet.is_keyframe:
                keys.append((packet.pts, count))
            count += 1
    if not keys:
        raise GeoprivacyError("no keyframe in the video stream")
    step = int(seconds / tb) if tb else 0
    segments = [Segment(0, keys[0][0], None, 0)]
    for pts, before in keys[1:]:
        if pts - segments[-1].start_pts >= step:
            last = segments[-1]
            segments[-1] = Segment(last.number, last.start_pts, pts, last.first_index)
            segments.append(Segment(len(segments), pts, None, before))
    return segments


def _frames(src: str, seg: Segment) -> Iterator[Any]:
    import av

    with av.open(src) as c:
        v = main_video_stream(c)
        v.thread_type = "AUTO"
        if seg.number:
            c.seek(seg.start_pts, stream=v, backward=True, any_frame=False)
        for frame in c.decode(v):
            if frame.pts is None or frame.pts < seg.start_pts:
                continue
            if seg.end_pts is not None and frame.pts >= seg.end_pts:
                return
            yield frame


def encode_segment(src: str, dst: str, seg: Segment, process: FrameBatchFn, *,
                   batch: int, settings: EncodeSettings,
                   on_progress: Callable[[int], None] | None = None) -> int:
    """Encode one segment's (processed) frames, video only, into ``dst`` atomically."""
    import av

    with av.open(src) as c:
        vin = main_video_stream(c)
        rate, tb = vin.average_rate or Fraction(30), vin.time_base
        width, height = vin.codec_context.width, vin.codec_context.height
        colour = colour_tags(vin.codec_context)
    frames = 0
    with atomic_path(dst) as tmp, av.open(tmp, "w", format="mp4") as out:
        vout = add_video_output(out, rate, tb, (width, height), settings, colour)
        pending: list[Any] = []

        def flush() -> None:
            nonlocal frames
            if not pending:
                return
            encode_batch(out, vout, pending, process, seg.first_index + frames, settings)
            frames += len(pending)
            if on_progress:
                on_progress(len(pending))
            pending.clear()

        for frame in _frames(src, seg):
            pending.append(frame)
            if len(pending) >= batch:
                flush()
        flush()
        for packet in vout.encode(None):
            out.mux(packet)
    return frames


def join(src: str, parts: list[str], dst: str) -> dict[str, Any]:
    """One file from the segments' video and the input's audio, interleaved by time."""
    import av

    with av.open(parts[0]) as first, av.open(src) as inp, atomic_path(dst) as tmp:
        audio_in = list(inp.streams.audio)
        with av.open(tmp, "w", format=_format_for(dst)) as out:
            vout = out.add_stream_from_template(first.streams.video[0])
            rotation = _rotation(src)
            if rotation:
                vout.set_display_rotation(rotation)  # type: ignore[attr-defined]
            amap = {s.index: AudioOut(out, s) for s in audio_in}

            def video() -> Iterator[tuple[float, int, Any]]:
                for n, part in enumerate(parts):
                    with av.open(part) as c:
                        for p in c.demux(c.streams.video[0]):
                            if p.dts is not None:
                                yield float(p.dts * p.time_base), n, p

            def audio() -> Iterator[tuple[float, int, Any]]:
                if not audio_in:
                    return
                for p in inp.demux(*audio_in):
                    if p.dts is not None:
                        yield float(p.dts * p.time_base), -1, p
                    elif p.size == 0:    # end of stream: flushes a re-encoding decoder, last
                        yield math.inf, -1, p

            counts: dict[str, Any] = {"video": 0, "audio": 0}
            for _, _, packet in heapq.merge(video(), audio(), key=lambda t: (t[0], t[1])):
                if packet.stream.type == "video":
                    packet.stream = vout
                    counts["video"] += 1
                    out.mux(packet)
                else:
                    amap[packet.stream.index].mux(packet)
                    counts["audio"] += 1
            for track in amap.values():
                track.close()
            counts["audio_reencoded"] = [a.reencoded for a in amap.values() if a.reencoded]
    return counts


def _rotation(src: str) -> int:
    from geoprivacy.media.video import probe
    return probe(src).rotation


def _format_for(dst: str) -> str:
    ext = os.path.splitext(dst)[1].lower()
    return {".mov": "mov", ".mkv": "matroska"}.get(ext, "mp4")


class Journal:
    """What finished, for ``--resume``: the plan, a fingerprint of the settings, done segments."""

    def __init__(self, folder: Path, fingerprint: str) -> None:
        self.folder, self.fingerprint = folder, fingerprint
        self.path = folder / "journal.json"

    def load(self, segments: list[Segment]) -> set[int]:
        if not self.path.exists():
            return set()
        try:
            data = json.loads(self.path.read_text())
        except (OSError, json.JSONDecodeError):
            return set()
        if data.get("fingerprint") != self.fingerprint or \
                data.get("segments") != [s.start_pts for s in segments]:
            raise GeoprivacyError(f"{self.folder} holds a run with other settings or another "
                                  "input; remove it or run without --resume")
        return {n for n in data.get("done", []) if (self.folder / part_name(n)).exists()}

    def save(self, segments: list[Segment], done: set[int]) -> None:
        with atomic_write(self.path) as fh:
            json.dump({"fingerprint": self.fingerprint,
                       "segments": [s.start_pts for s in segments], "done": sorted(done)}, fh)


def part_name(number: int) -> str:
    return f"segment_{number:05d}.mp4"


def fingerprint(src: str, **settings: Any) -> str:
    st = os.stat(src)
    blob = json.dumps({"src": os.path.abspath(src), "size": st.st_size, "mtime": st.st_mtime_ns,
                       **{k: repr(v) for k, v in sorted(settings.items())}}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def transcode_resumable(src: str, dst: str, process_for: Callable[[Segment], FrameBatchFn], *,
                        batch: int = 8, settings: EncodeSettings | None = None,
                        resume: bool = False, segment_seconds: float = DEFAULT_SEGMENT_SECONDS,
                        on_progress: Callable[[int], None] | None = None,
                        settings_key: dict[str, Any] | None = None) -> dict[str, Any]:
    """Process ``src`` segment by segment into ``dst``; with ``resume`` skip finished segments.

    ``process_for(segment)`` gives the frame-batch function for a segment (fresh per segment,
    so a resumed run computes each segment exactly as an uninterrupted one).
    """
    import shutil

    settings = settings or EncodeSettings()
    folder = Path(dst + ".parts")
    segments = plan(src, segment_seconds)
    journal = Journal(folder, fingerprint(src, **(settings_key or {}), crf=settings.crf,
                                          preset=settings.preset, codec=settings.codec))
    if folder.exists() and not resume:
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    done = journal.load(segments) if resume else set()
    skipped = len(done)
    frames = 0
    for seg in segments:
        if seg.number in done:
            continue
        frames += encode_segment(src, str(folder / part_name(seg.number)), seg,
                                 process_for(seg), batch=batch, settings=settings,
                                 on_progress=on_progress)
        done.add(seg.number)
        journal.save(segments, done)
    counts = join(src, [str(folder / part_name(s.number)) for s in segments], dst)
    shutil.rmtree(folder, ignore_errors=True)
    return {"segments": len(segments), "resumed_segments": skipped, "frames_encoded": frames,
            "frames_out": counts["video"], "audio_packets": counts["audio"],
            "audio_reencoded": counts.get("audio_reencoded", [])}
