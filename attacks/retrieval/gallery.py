"""Labelled images for a gallery or a benchmark: geo-tagged photos, and frames of videos with
GPS tracks (a frame every N metres or N seconds, at the track position of its timestamp).

Labels come from the metadata attacker, so a gallery is built from exactly what `audit` reads.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

import numpy as np
from PIL import Image

from geoprivacy.errors import GeoprivacyError
from geoprivacy.geo import haversine_km
from geoprivacy.media.video import main_video_stream
from geoprivacy.types import Evidence, EvidenceKind, MediaItem

#: Frames taken from one video at most (bounds time and memory on long recordings).
MAX_FRAMES_PER_VIDEO = 5_000
#: Frames decoded from one video at most, selected or not.
MAX_DECODED_FRAMES = 500_000
ENCODE_CHUNK = 64


@dataclass(frozen=True)
class Sample:
    """One image to embed and where it was taken."""

    image: Image.Image
    lat: float
    lon: float
    source: str
    sha256: str
    time_s: float = math.nan

    def label(self) -> dict[str, Any]:
        return {"lat": self.lat, "lon": self.lon, "source": self.source, "sha256": self.sha256,
                "time_s": self.time_s}


def sha256_file(path: str) -> str:
    """Content hash: a query never matches its own file, whatever its name."""
    from geoprivacy.models import file_sha256
    return file_sha256(path)


def best_position(evidence: Iterable[Evidence]) -> tuple[float, float] | None:
    """The most precise real coordinate the metadata gave (a position, else a track's start)."""
    ranked = sorted((e for e in evidence if e.lat is not None and e.lon is not None
                     and e.kind in (EvidenceKind.POSITION, EvidenceKind.TRACK)),
                    key=lambda e: (e.granularity.rank, e.kind is not EvidenceKind.POSITION))
    return (ranked[0].lat, ranked[0].lon) if ranked else None  # type: ignore[return-value]


def track_fixes(evidence: Iterable[Evidence]) -> list[tuple[float | None, float, float]]:
    """(time, lat, lon) of the longest track (needs the attacker's ``options.detail``)."""
    best: list[dict[str, Any]] = []
    for e in evidence:
        if e.kind is EvidenceKind.TRACK:
            fixes = e.detail.get("track", {}).get("fixes") or []
            if len(fixes) > len(best):
                best = fixes
    return [(f.get("time"), float(f["lat"]), float(f["lon"])) for f in best]


class TrackClock:
    """Position at a media time. Fix times are made relative to the first fix (the recording is
    assumed to start with the track); fixes without times are spread over the video duration."""

    def __init__(self, fixes: list[tuple[float | None, float, float]], duration: float | None):
        if not fixes:
            raise GeoprivacyError("a track with no fixes")
        if all(t is not None for t, _, _ in fixes):
            ordered = sorted(fixes, key=lambda f: f[0])  # type: ignore[arg-type,return-value]
            t0 = ordered[0][0]
            self.times = [float(t) - float(t0) for t, _, _ in ordered]  # type: ignore[arg-type]
        else:
            ordered = fixes
            span = duration if duration and duration > 0 else float(len(fixes) - 1)
            step = span / max(1, len(fixes) - 1)
            self.times = [i * step for i in range(len(fixes))]
        self.lats = [f[1] for f in ordered]
        self.lons = [f[2] for f in ordered]

    def at(self, t: float) -> tuple[float, float]:
        """Linear interpolation between the fixes around ``t`` (clamped to the track's ends)."""
        i = bisect.bisect_right(self.times, t)
        if i <= 0:
            return self.lats[0], self.lons[0]
        if i >= len(self.times):
            return self.lats[-1], self.lons[-1]
        t0, t1 = self.times[i - 1], self.times[i]
        w = 0.0 if t1 <= t0 else (t - t0) / (t1 - t0)
        return (self.lats[i - 1] + w * (self.lats[i] - self.lats[i - 1]),
                self.lons[i - 1] + w * (self.lons[i] - self.lons[i - 1]))


def video_frames(path: str, *, every_s: float | None = None, every_m: float | None = None,
                 clock: TrackClock | None = None, max_frames: int = MAX_FRAMES_PER_VIDEO
                 ) -> Iterator[tuple[float, Image.Image]]:
    """Decoded frames, streamed: one every ``every_s`` seconds, or every ``every_m`` metres along
    ``clock``'s track (when both are given, whichever comes first)."""
    import av

    if every_s is None and (every_m is None or clock is None):
        every_s = 1.0
    try:
        container = av.open(path)
    except (av.FFmpegError, OSError) as exc:
        raise GeoprivacyError(f"cannot open video {path}: {exc}") from None
    with container:
        try:
            stream = main_video_stream(container)
        except GeoprivacyError as exc:
            raise GeoprivacyError(f"{path}: {exc}") from None
        last_t: float | None = None
        last_pos: tuple[float, float] | None = None
        taken = 0
        try:
            for decoded, frame in enumerate(container.decode(stream)):
                if decoded >= MAX_DECODED_FRAMES or taken >= max_frames:
                    break
                t = frame.time if frame.time is not None else decoded / float(
                    stream.average_rate or 25)
                take = last_t is None
                if not take and every_s is not None and t - last_t >= every_s:  # type: ignore
                    take = True
                if not take and every_m is not None and clock is not None:
                    pos = clock.at(t)
                    take = haversine_km(*pos, *last_pos) * 1000 >= every_m  # type: ignore
                if take:
                    last_t = t
                    last_pos = clock.at(t) if clock is not None else None
                    taken += 1
                    yield t, frame.to_image()
        except av.FFmpegError as exc:
            raise GeoprivacyError(f"cannot decode video {path}: {exc}") from None


def video_duration(path: str) -> float | None:
    import av

    try:
        with av.open(path) as container:
            if container.duration:
                return container.duration / 1_000_000
            stream = main_video_stream(container)
            if stream is not None and stream.duration and stream.time_base:
                return float(stream.duration * stream.time_base)
    except (av.FFmpegError, OSError, GeoprivacyError):
        return None
    return None


def samples_for(item: MediaItem, evidence: list[Evidence], *, every_s: float | None,
                every_m: float | None) -> Iterator[Sample]:
    """Labelled images of one input: the photo itself, or frames of a geo-tagged video."""
    from geoprivacy.attacks.retrieval.encoders import load_image

    digest = sha256_file(item.path)
    if item.kind == "photo":
        pos = best_position(evidence)
        if pos is None:
            raise GeoprivacyError("no location in its metadata")
        yield Sample(load_image(item.path), pos[0], pos[1], item.path, digest)
        return
    if item.kind != "video":
        raise GeoprivacyError(f"not a photo or video ({item.container})")
    fixes = track_fixes(evidence)
    if fixes:
        clock = TrackClock(fixes, video_duration(item.path))
    else:
        pos = best_position(evidence)
        if pos is None:
            raise GeoprivacyError("no location in its metadata")
        clock = TrackClock([(0.0, pos[0], pos[1])], None)
        every_m = None
    for t, image in video_frames(item.path, every_s=every_s, every_m=every_m, clock=clock):
        lat, lon = clock.at(t)
        yield Sample(image.convert("RGB"), lat, lon, item.path, digest, float(t))


def collect_samples(paths: list[str], *, every_s: float | None = None,
                    every_m: float | None = None,
                    progress: Callable[[list[str], str], Iterable[str]] | None = None
                    ) -> tuple[Iterator[Sample], list[tuple[str, str]]]:
    """Samples of every input (lazily), and (path, reason) for inputs that gave none."""
    from geoprivacy.attacks.metadata import MetadataAttacker
    from geoprivacy.audit import identify
    from geoprivacy.inputs import collect

    inputs = collect(paths)
    skipped: list[tuple[str, str]] = list(inputs.errors)
    attacker = MetadataAttacker()
    attacker.options.detail = True
    files = progress(inputs.files, "indexing") if progress else inputs.files

    def generate() -> Iterator[Sample]:
        for path in files:
            try:
                item = identify(path)
                outcome = attacker.attack(item)
                yield from samples_for(item, outcome.evidence, every_s=every_s, every_m=every_m)
            except GeoprivacyError as exc:
                skipped.append((path, str(exc)))
            except OSError as exc:
                skipped.append((path, f"cannot read: {exc.strerror or exc}"))

    return generate(), skipped


def embed_samples(encoder: Any, samples: Iterable[Sample]) -> tuple[np.ndarray, list[dict]]:
    """Vectors and labels, embedding ENCODE_CHUNK images at a time (bounded memory)."""
    vectors: list[np.ndarray] = []
    labels: list[dict[str, Any]] = []
    chunk: list[Sample] = []
    for sample in samples:
        chunk.append(sample)
        if len(chunk) >= ENCODE_CHUNK:
            vectors.append(encoder.encode([s.image for s in chunk]))
            labels.extend(s.label() for s in chunk)
            chunk = []
    if chunk:
        vectors.append(encoder.encode([s.image for s in chunk]))
        labels.extend(s.label() for s in chunk)
    dim = encoder.identity.dim
    return (np.concatenate(vectors) if vectors else np.zeros((0, dim), np.float32)), labels
