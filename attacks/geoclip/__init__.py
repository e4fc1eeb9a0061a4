"""The GeoCLIP attacker: where a photo (or a few video frames) looks like it was taken.

Top-k gallery places with GeoCLIP's probabilities; the top one becomes a ``prediction`` Evidence
whose radius and granularity come from the calibration table (conservative country-level radius
when uncalibrated); calibrated, its confidence is the table's quantile (the probability the
place lies within that radius), which is what the ensemble weighs. Each candidate is named
offline (city, region, country) with ``geoprivacy.reverse_geocode``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from geoprivacy.attacks import AttackOutcome
from geoprivacy.errors import GeoprivacyError
from geoprivacy.geo import granularity_for_radius
from geoprivacy.types import Evidence, EvidenceKind, MediaItem


@dataclass
class GeoClipOptions:
    backbone: str | None = None         # Hugging Face CLIP folder (--geoclip-backbone)
    weights: str | None = None          # folder with GeoCLIP's files (default: the wheel)
    gallery: str | None = None          # CSV with LAT, LON (default: the 100K gallery)
    calibration: str | None = None      # calibration JSON (default: $GEOPRIVACY_HOME/geoclip)
    top_k: int = 5
    frames: int = 3                     # frames per video
    device: str = "auto"
    allow_download: bool = False
    name_places: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


class GeoClipAttacker:
    """Loads GeoCLIP once; ``attack(item)`` predicts for a photo or a few video frames."""

    name = "geoclip"
    reads_pixels = True

    def __init__(self, options: GeoClipOptions | None = None) -> None:
        self.options = options or GeoClipOptions()
        self._model: Any = None
        self.calibration: dict[str, Any] | None = None

    def configure(self, **settings: Any) -> "GeoClipAttacker":
        """Set options (unknown keys are ignored) and load the model now, so that a missing
        backbone is one clear error before any file is read."""
        for key, value in settings.items():
            if value is not None and hasattr(self.options, key):
                setattr(self.options, key, value)
        self._model = None
        _ = self.model_
        return self

    @property
    def model_(self) -> Any:
        """The loaded GeoClipModel (loaded on first use)."""
        if self._model is None:
            from geoprivacy.attacks.geoclip.calibration import load_calibration
            from geoprivacy.attacks.geoclip.model import GeoClipModel
            o = self.options
            self._model = GeoClipModel(o.backbone, weights=o.weights, gallery=o.gallery,
                                       device=o.device, allow_download=o.allow_download)
            self.calibration = load_calibration(o.calibration,
                                                self._model.info["backbone_sha256"])
        return self._model

    @property
    def model_info(self) -> dict[str, Any]:
        """What the run report records: files, hashes, versions, calibration state."""
        return dict(self.model_.info, attacker="geoclip",
                    calibrated=self.calibration is not None)

    def supports(self, container: str) -> bool:
        from geoprivacy.cues.frames import VISUAL_CONTAINERS
        return container in VISUAL_CONTAINERS

    def attack(self, item: MediaItem) -> AttackOutcome:
        from geoprivacy.cues.frames import media_frames

        outcome = AttackOutcome()
        try:
            model = self.model_
            frames = media_frames(item.path, item.kind, self.options.frames)
        except GeoprivacyError as exc:
            outcome.errors.append(str(exc))
            return outcome
        if not frames:
            outcome.errors.append("no frame could be decoded")
            return outcome
        preds = model.predict([rgb for _label, rgb in frames], self.options.top_k)
        # One Evidence per file: the frame whose top-1 is most confident speaks for it.
        best = max(range(len(frames)), key=lambda i: preds[i][0].prob)
        outcome.evidence.append(self.evidence(preds[best], frames[best][0]))
        return outcome

    def evidence(self, top: list[Any], where: str = "image") -> Evidence:
        """A prediction Evidence for one image's top-k list."""
        from geoprivacy.attacks.geoclip.calibration import radius_for

        from geoprivacy.attacks.geoclip.calibration import QUANTILE

        first = top[0]
        radius, calibrated = radius_for(self.calibration, first.prob)
        # Calibrated: "within radius_km with probability QUANTILE" (the table's quantile).
        # Uncalibrated: GeoCLIP's own top-1 probability, flagged as such.
        confidence = float((self.calibration or {}).get("quantile", QUANTILE)) if calibrated \
            else first.prob
        candidates = [{"lat": round(p.lat, 5), "lon": round(p.lon, 5), "prob": round(p.prob, 5)}
                      for p in top]
        if self.options.name_places:
            _name(candidates)
        return Evidence(
            attacker="geoclip", kind=EvidenceKind.PREDICTION, where=f"pixels:{where}",
            lat=round(first.lat, 5), lon=round(first.lon, 5), radius_km=round(radius, 3),
            granularity=granularity_for_radius(radius), confidence=round(confidence, 5),
            detail={"top_k": candidates, "calibrated": calibrated,
                    "top1_prob": round(first.prob, 5),
                    "radius_basis": ("calibration table quantile" if calibrated else
                                     "uncalibrated: conservative country-level radius")})


def _name(candidates: list[dict[str, Any]]) -> None:
    """Add the offline place name of each candidate (best effort: skipped if unavailable)."""
    try:
        from geoprivacy.reverse_geocode import reverse_geocode_many
        places = reverse_geocode_many([(c["lat"], c["lon"]) for c in candidates])
    except GeoprivacyError:
        return
    for c, place in zip(candidates, places):
        if place is not None:
            c["place"] = place.label()
            c["country_code"] = place.country_code
            c["place_distance_km"] = round(place.distance_km, 1)


def available() -> bool:
    """Cheap: packages importable and the shipped GeoCLIP files present (backbone not probed)."""
    from geoprivacy.cues.base import module_available
    from geoprivacy.models import check
    return module_available("torch", "transformers", "geoclip") and check("geoclip").ok
