"""Run a pixel defense over a photo or a video, then measure what it achieved on the output.

Privacy, utility and quality are measured on the *decoded output file*, never on tensors
before encoding: what is published is what counts.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from geoprivacy.defenses.protect.foreground import ForegroundMasker, NoForeground
from geoprivacy.defenses.quality import flicker, psnr, ssim
from geoprivacy.defenses.utility import Box, mean_average_precision
from geoprivacy.errors import GeoprivacyError
from geoprivacy.fsutil import atomic_path
from geoprivacy.media.video import EncodeSettings, dropped_streams, iter_frames, transcode
from geoprivacy.types import DefenseResult

Defense = Callable[[np.ndarray, np.ndarray, np.random.Generator], np.ndarray]


#: What protect writes a photo as, by output extension (JPEG for anything it cannot write).
PHOTO_FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP",
                 ".tif": "TIFF", ".tiff": "TIFF", ".heic": "HEIF", ".heif": "HEIF"}


def photo_formats() -> dict[str, str]:
    """PHOTO_FORMATS this installation can write: HEIC needs pillow-heif (the vision extra)."""
    try:
        import pillow_heif  # noqa: F401
    except ImportError:
        return {ext: fmt for ext, fmt in PHOTO_FORMATS.items() if fmt != "HEIF"}
    return dict(PHOTO_FORMATS)


@dataclass
class ProtectOptions:
    """Everything a protect run needs besides the defense itself."""

    method: str
    params: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    batch: int = 8
    encode: EncodeSettings = field(default_factory=EncodeSettings)
    jpeg_quality: int = 95
    sample_frames: int = 12            # frames compared for verification in a video
    on_progress: Callable[[int], None] | None = None
    resume: bool = False               # encode in keyframe segments, keep finished ones
    segment_seconds: float = 10.0
    #: With ``resume``: a fresh (defense, masker) per segment, so a resumed segment is computed
    #: exactly as in an uninterrupted run.
    fresh: Callable[[], tuple[Any, Any]] | None = None


@dataclass
class Outcome:
    """Original and protected (decoded from the output) samples, and run facts."""

    originals: list[np.ndarray]
    protected: list[np.ndarray]
    perturbations: list[np.ndarray]
    seconds: float
    frames: int
    input_bytes: int
    output_bytes: int
    foreground_boxes: int
    indices: list[int] = field(default_factory=lambda: [0])   # frame index of each sample
    dropped: list[str] = field(default_factory=list)   # streams left out of the output
    audio_reencoded: list[str] = field(default_factory=list)   # audio the container refused


def protect_photo(src: str, dst: str, defense: Defense, masker: ForegroundMasker | NoForeground,
                  options: ProtectOptions) -> Outcome:
    """Protect one photo; the output carries no metadata except the colour profile."""
    from PIL import Image

    from geoprivacy.cues.frames import photo_rgb

    start = time.perf_counter()
    writable = photo_formats()
    ext = os.path.splitext(dst)[1].lower()
    fmt = writable.get(ext)
    if fmt is None:
        hint = " (writing HEIC needs pillow-heif: pip install 'geoprivacy[vision]')" \
            if ext in PHOTO_FORMATS else ""
        raise GeoprivacyError(f"unsupported output extension for a photo "
                              f"{os.path.splitext(dst)[1]!r}; use one of "
                              f"{', '.join(sorted(writable))}{hint}")
    rgb = photo_rgb(src)     # first: a photo that cannot be decoded is its one-line error
    icc, alpha = _kept_from_photo(src)
    batch = rgb[None]
    masks = masker.masks(batch, [0])
    out = defense(batch, masks, np.random.default_rng(options.seed))[0]
    with atomic_path(dst) as tmp:
        save: dict[str, Any] = {"JPEG": {"quality": options.jpeg_quality},
                                "WEBP": {"quality": options.jpeg_quality},
                                "HEIF": {"quality": options.jpeg_quality},
                                "TIFF": {"compression": "tiff_adobe_deflate"}}.get(fmt, {})
        if icc:
            save["icc_profile"] = icc
        picture = Image.fromarray(out)
        if alpha is not None and fmt != "JPEG":
            picture.putalpha(alpha)
        picture.save(tmp, fmt, **save)
    decoded = photo_rgb(dst)
    return Outcome([rgb], [decoded], [out.astype(np.int16) - rgb.astype(np.int16)],
                   time.perf_counter() - start, 1, os.path.getsize(src), os.path.getsize(dst),
                   masker.boxes_seen)


def _kept_from_photo(src: str) -> tuple[bytes | None, Any]:
    """(colour profile, upright alpha channel or None) of a still photo, which the output keeps;
    an animated image is refused: only its first frame would come out."""
    from PIL import Image, ImageOps

    from geoprivacy.cues.frames import register_heif

    register_heif()
    try:
        with Image.open(src) as original:
            frames = getattr(original, "n_frames", 1)
            icc = original.info.get("icc_profile")
            has_alpha = original.mode in ("RGBA", "LA", "PA") or "transparency" in original.info
            alpha = ImageOps.exif_transpose(original).convert("RGBA").getchannel("A") \
                if has_alpha and frames == 1 else None
    except (OSError, ValueError, EOFError, SyntaxError) as exc:   # what Pillow's readers raise
        raise GeoprivacyError(f"cannot decode image: {type(exc).__name__}: {exc}") from None
    if frames > 1:
        raise GeoprivacyError(f"animated image ({frames} frames): protect handles still "
                              "photos and videos; convert it to a video first")
    return icc, alpha


def protect_video(src: str, dst: str, defense: Defense, masker: ForegroundMasker | NoForeground,
                  options: ProtectOptions, total_frames: int | None = None) -> Outcome:
    """Protect a video frame by frame (streaming), keep timestamps and audio, then sample it."""
    start = time.perf_counter()
    rng = np.random.default_rng(options.seed)
    every = max(1, (total_frames or options.sample_frames) // options.sample_frames)
    perturbations: list[np.ndarray] = []

    def process(batch: np.ndarray, indices: list[int]) -> np.ndarray:
        masks = masker.masks(batch, indices)
        result = defense(batch, masks, rng)
        for frame, new, index in zip(batch, result, indices):
            if index % every == 0 and len(perturbations) < options.sample_frames:
                perturbations.append(new.astype(np.int16) - frame.astype(np.int16))
        return result

    if options.resume and options.fresh is not None:
        from geoprivacy.media.segments import transcode_resumable

        def process_for(seg: Any) -> Callable[[np.ndarray, list[int]], np.ndarray]:
            seg_defense, seg_masker = options.fresh()   # type: ignore[misc]
            seg_rng = np.random.default_rng([options.seed, seg.number])

            def run(batch: np.ndarray, indices: list[int]) -> np.ndarray:
                result = seg_defense(batch, seg_masker.masks(batch, indices), seg_rng)
                for frame, new, index in zip(batch, result, indices):
                    if index % every == 0 and len(perturbations) < options.sample_frames:
                        perturbations.append(new.astype(np.int16) - frame.astype(np.int16))
                return result
            return run

        stats = transcode_resumable(src, dst, process_for, batch=options.batch,
                                    settings=options.encode, resume=True,
                                    segment_seconds=options.segment_seconds,
                                    on_progress=options.on_progress,
                                    settings_key={"method": options.method,
                                                  "params": options.params,
                                                  "seed": options.seed})
    else:
        with atomic_path(dst) as tmp:
            stats = transcode(src, tmp, process, batch=options.batch, settings=options.encode,
                              on_progress=options.on_progress)
    seconds = time.perf_counter() - start
    sampled = list(iter_frames(src, every=every, max_frames=options.sample_frames))
    originals = [f for _, _, f in sampled]
    h, w = originals[0].shape[:2] if originals else (0, 0)
    # an odd side was padded by one edge row or column for the encoder (add_video_output)
    protected = [f[:h, :w] for _, _, f in iter_frames(dst, every=every,
                                                       max_frames=options.sample_frames)]
    if len(originals) != len(protected):
        raise GeoprivacyError(f"output has fewer frames than the input ({len(protected)} "
                              f"sampled vs {len(originals)})")
    return Outcome(originals, protected, perturbations, seconds, stats["frames_out"],
                   os.path.getsize(src), os.path.getsize(dst), masker.boxes_seen,
                   [i for i, _, _ in sampled], dropped_streams(src),
                   list(stats.get("audio_reencoded", [])))


def quality_report(outcome: Outcome) -> dict[str, Any]:
    """PSNR/SSIM of the decoded output vs the original, flicker, and size growth."""
    psnrs = [psnr(a, b) for a, b in zip(outcome.originals, outcome.protected)]
    finite = [p for p in psnrs if np.isfinite(p)]
    return {
        "psnr_db": round(float(np.mean(finite)), 3) if finite else float("inf"),
        "ssim": round(float(np.mean([ssim(a, b) for a, b in
                                     zip(outcome.originals, outcome.protected)])), 4),
        "flicker": round(flicker(outcome.perturbations), 4),
        "size_ratio": round(outcome.output_bytes / max(1, outcome.input_bytes), 4),
        "frames": outcome.frames,
        "fps": round(outcome.frames / outcome.seconds, 3) if outcome.seconds else None,
        **({"audio_reencoded": outcome.audio_reencoded} if outcome.audio_reencoded else {}),
    }


def utility_report(outcome: Outcome, scorer: Any | None,
                   labels: dict[int, list[Box]] | None = None) -> dict[str, Any]:
    """mAP@0.5 on original and protected samples against a reference.

    The reference is ``labels`` (frame index → boxes; only labelled sampled frames count) when
    given, else ``scorer`` — a second detector, not the one that made the mask — on the
    original frames, so the original scores 1.0 by construction and the protected output's mAP
    is the share of its detections that survived.
    """
    if scorer is None:
        return {"checked": False, "reason": "no second detector available"}
    pairs = [(i, a, b) for i, a, b in zip(outcome.indices, outcome.originals, outcome.protected)
             if labels is None or i in labels]
    if not pairs:
        return {"checked": False, "reason": "no sampled frame has labels"}
    before = [scorer.boxes(a) for _, a, _ in pairs]
    after = [scorer.boxes(b) for _, _, b in pairs]
    truth = [labels[i] for i, _, _ in pairs] if labels is not None else before
    if not any(truth):
        return {"checked": False, "reason": "the reference has no objects in the sampled frames"}
    m_before = mean_average_precision(before, truth)["map"]
    m_after = mean_average_precision(after, truth)
    kept = (m_after["map"] / m_before) if m_before else None
    return {"checked": True, "map_before": m_before, "map_after": m_after["map"],
            "per_class_after": m_after["per_class"], "kept": kept,
            "reference": "labels" if labels is not None else "second detector",
            "frames": len(pairs), "objects": sum(len(t) for t in truth)}


def load_labels(path: str) -> dict[int, list[Box]]:
    """Ground-truth boxes: JSON ``{"FRAME": [[label, x1, y1, x2, y2], ...]}`` (photos: "0")."""
    import json

    try:
        raw = json.loads(open(path, encoding="utf-8").read())
        return {int(k): [Box(str(b[0]), float(b[1]), float(b[2]), float(b[3]), float(b[4]))
                         for b in v] for k, v in raw.items()}
    except (OSError, ValueError, TypeError, IndexError, AttributeError) as exc:
        raise GeoprivacyError(f"cannot read labels {path}: expected "
                              f'{{"FRAME": [[label, x1, y1, x2, y2], ...]}} ({exc})') from None


def defense_result(src: str, dst: str, options: ProtectOptions, outcome: Outcome,
                   privacy: tuple[dict[str, Any], dict[str, Any]],
                   utility: dict[str, Any]) -> DefenseResult:
    return DefenseResult(method=options.method, params=dict(options.params), input=src,
                         output=dst, privacy_before=privacy[0], privacy_after=privacy[1],
                         utility_before={"map": utility.get("map_before")},
                         utility_after={k: v for k, v in utility.items() if k != "map_before"},
                         quality=quality_report(outcome), seconds=round(outcome.seconds, 3))
