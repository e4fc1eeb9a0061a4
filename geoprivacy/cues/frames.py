"""Pictures to look at: a photo's pixels, or a few frames spread over a video."""

from __future__ import annotations

import os
from typing import Any, Iterator

import numpy as np

from geoprivacy.errors import GeoprivacyError

#: Containers whose pixels the visual attackers and cue detectors look at.
VISUAL_CONTAINERS = frozenset({"JPEG", "PNG", "TIFF", "BigTIFF", "WebP", "HEIF", "AVIF",
                               "MP4", "MOV", "3GP", "AVI", "MPEG-TS"})

#: Largest photo decoded for the detectors (pixels); bigger ones are refused, not decoded.
MAX_PIXELS = 120_000_000


def photo_rgb(path: str) -> np.ndarray:
    """A photo as an upright RGB uint8 array (EXIF orientation applied)."""
    return np.asarray(decode_photo(path))


def decode_photo(path: str | os.PathLike[str]) -> Any:
    """An upright RGB ``PIL.Image`` (EXIF orientation applied); GeoprivacyError (one line) for
    a photo that is too large or cannot be decoded."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    register_heif()
    try:
        with Image.open(path) as img:
            if img.width * img.height > MAX_PIXELS:
                raise GeoprivacyError(f"image too large to analyse ({img.width}x{img.height})")
            img.load()
            return to_rgb8(ImageOps.exif_transpose(img))
    except GeoprivacyError:
        raise
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError, ValueError) as exc:
        raise GeoprivacyError(f"cannot decode image: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - decoder plugins raise anything (pillow-heif:
        # EOFError on a truncated HEIC), and one bad photo must not abort the run
        raise GeoprivacyError(f"cannot decode image: {type(exc).__name__}: {exc}") from None


#: Pillow modes with more than 8 bits per sample, which ``convert("RGB")`` clips at 255.
_DEEP_MODES = ("I", "F", "I;16", "I;16L", "I;16B", "I;16N")


def to_rgb8(img: Any) -> Any:
    """RGB, 8 bits: a 16-bit or float single band (thermal, multispectral, scientific TIFFs)
    stretched from its 0.5th to 99.5th percentile, as a viewer shows it — Pillow's own
    conversion clips it to a white (or black) page that no attacker can look at."""
    from PIL import Image

    if img.mode not in _DEEP_MODES:
        return img.convert("RGB")
    values = np.asarray(img, dtype=np.float32)
    finite = values[np.isfinite(values)]
    low, high = np.percentile(finite, (0.5, 99.5)) if finite.size else (0.0, 0.0)
    if high <= low:
        high = low + 1.0
    scaled = np.clip((np.nan_to_num(values, nan=low) - low) * (255.0 / (high - low)), 0, 255)
    return Image.fromarray(scaled.astype(np.uint8), "L").convert("RGB")


def register_heif() -> None:
    """HEIC/AVIF photos decode through pillow-heif when it is installed."""
    try:
        import pillow_heif
    except ImportError:
        return
    pillow_heif.register_heif_opener()


def video_frames(path: str, count: int = 3) -> Iterator[tuple[str, np.ndarray]]:
    """Up to ``count`` frames spread evenly over a video, each with a label ``frame N``."""
    from geoprivacy.media.video import iter_frames, probe

    info = probe(path)
    total = info.frames or int((info.duration_s or 0) * (info.fps or 0)) or count
    every = max(1, total // max(1, count))
    decoded = 0
    try:
        for index, _t, rgb in iter_frames(path, every=every, max_frames=count):
            decoded += 1
            yield f"frame {index}", rgb
    except GeoprivacyError:
        raise
    except Exception as exc:  # noqa: BLE001 - PyAV raises many error types for broken streams
        raise GeoprivacyError(f"cannot decode video: {exc}") from None
    if not decoded:     # nothing looked at is "not checked", never "nothing found"
        raise GeoprivacyError("no video frame could be decoded")


def media_frames(path: str, kind: str, count: int = 3) -> list[tuple[str, np.ndarray]]:
    """The pictures of a photo (one) or a video (up to ``count``), labelled for ``where``."""
    if kind == "photo":
        return [("image", photo_rgb(path))]
    if kind == "video":
        return list(video_frames(path, count))
    raise GeoprivacyError(f"not a photo or video ({kind})")
