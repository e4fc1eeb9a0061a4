"""The data types every stage shares (frozen dataclasses; ``to_dict()`` builds a fresh dict)."""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field, fields
from enum import Enum
from typing import Any


class Granularity(str, Enum):
    """How precisely a place is disclosed, finest first (the geolocation-benchmark ladder)."""

    EXACT = "exact"
    STREET = "street"
    CITY = "city"
    REGION = "region"
    COUNTRY = "country"
    CONTINENT = "continent"
    NONE = "none"

    @property
    def rank(self) -> int:
        """0 for exact … 6 for none; a smaller rank is a finer disclosure."""
        return _RANK[self]

    def finer_than(self, other: "Granularity") -> bool:
        return self.rank < other.rank


_RANK = {g: i for i, g in enumerate(Granularity)}


class EvidenceKind(str, Enum):
    """What an Evidence is: a real place, a track, a name, or a value that is not a place."""

    POSITION = "position"        # one coordinate pair
    TRACK = "track"              # a sequence of fixes (first fix in lat/lon, summary in detail)
    PLACE_NAME = "place_name"    # a city/region/country/street name without coordinates
    PLACEHOLDER = "placeholder"  # (0,0), empty tags: a GPS field exists but holds no place
    INVALID = "invalid"          # impossible values (|lat| > 90, zero denominators, 0xFFFFFFFF)
    PREDICTION = "prediction"    # a visual attacker's estimate

    @property
    def is_location(self) -> bool:
        """True when this evidence discloses a real place."""
        return self in (EvidenceKind.POSITION, EvidenceKind.TRACK, EvidenceKind.PLACE_NAME,
                        EvidenceKind.PREDICTION)


def _plain(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None          # NaN/inf are not JSON: every report must stay parseable
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "to_dict"):
        return _plain(value.to_dict())
    return copy.deepcopy(value)


class _ToDict:
    def to_dict(self) -> dict[str, Any]:
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}  # type: ignore[arg-type]


@dataclass(frozen=True)
class MediaItem(_ToDict):
    """One input file, with the kind and container found by sniffing its content."""

    path: str
    kind: str            # photo | video | sidecar | unknown
    container: str       # e.g. JPEG, TIFF, PNG, WebP, HEIF, MP4, MOV, SRT, GPX
    mime: str
    size: int
    sha256: str | None = None


@dataclass(frozen=True)
class Evidence(_ToDict):
    """One thing an attacker learned about where the media was made, and where it found it."""

    attacker: str
    kind: EvidenceKind
    where: str                       # tag path, e.g. EXIF:GPSLatitude, QuickTime:©xyz, GPMF:GPS5
    lat: float | None = None
    lon: float | None = None
    radius_km: float | None = None
    granularity: Granularity = Granularity.EXACT
    confidence: float = 1.0
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def is_location(self) -> bool:
        return self.kind.is_location and self.granularity is not Granularity.NONE


@dataclass(frozen=True)
class FileResult(_ToDict):
    """What the run learned about one input: its evidence, or why it could not be checked."""

    path: str
    kind: str
    container: str
    status: str                      # ok | error | skipped
    evidence: tuple[Evidence, ...] = ()
    errors: tuple[str, ...] = ()
    findings: tuple[Any, ...] = ()   # filled by the risk engine (gate)
    context: dict[str, Any] = field(default_factory=dict)

    @property
    def has_location(self) -> bool:
        return any(e.is_location for e in self.evidence)


@dataclass(frozen=True)
class DefenseResult(_ToDict):
    """What a defense did to one input and what it achieved, measured on its output."""

    method: str
    params: dict[str, Any]
    input: str
    output: str | None
    privacy_before: dict[str, Any] = field(default_factory=dict)
    privacy_after: dict[str, Any] = field(default_factory=dict)
    utility_before: dict[str, Any] = field(default_factory=dict)
    utility_after: dict[str, Any] = field(default_factory=dict)
    quality: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
