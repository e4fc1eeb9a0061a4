"""Geolocation attackers: each reads one media item and returns Evidence of where it was made."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from geoprivacy.registry import Plugin, Registry
from geoprivacy.types import Evidence, MediaItem


@dataclass
class AttackOutcome:
    """Evidence an attacker found, and the errors that stopped it from checking everything.

    Evidence with errors means a partial check: what was found is real, but the rest of the
    file could not be read, so "nothing found" must not be concluded from it.
    """

    evidence: list[Evidence] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class Attacker(Protocol):
    """What an attacker plugin's ``load()`` returns."""

    name: str

    def attack(self, item: MediaItem) -> AttackOutcome:
        """Evidence found in ``item``, and why parts of it could not be checked."""
        ...


ATTACKERS: Registry[Attacker] = Registry("attacker", entry_point_group="geoprivacy.attackers")


def _load_metadata() -> Attacker:
    from geoprivacy.attacks.metadata import MetadataAttacker
    return MetadataAttacker()


ATTACKERS.register(Plugin("metadata", "location in EXIF/XMP/IPTC, video atoms, GPS tracks, sidecars",
                          _load_metadata))


def _load_retrieval() -> Attacker:
    from geoprivacy.attacks.retrieval.attacker import RetrievalAttacker
    return RetrievalAttacker()  # the gallery comes later: use_index(--index)


def _vision_installed() -> bool:
    from importlib.util import find_spec
    return all(find_spec(m) is not None for m in ("torch", "timm", "faiss"))


ATTACKERS.register(Plugin("retrieval", "background matched against a geo-tagged gallery "
                          "(needs --index)", _load_retrieval, extra="vision",
                          available=_vision_installed))


def _load_geoclip() -> Attacker:
    from geoprivacy.attacks.geoclip import GeoClipAttacker
    return GeoClipAttacker()  # options (backbone, device, top-k) set by the command


def _geoclip_available() -> bool:
    from geoprivacy.attacks.geoclip import available
    return available()


def _geoclip_needs() -> str | None:
    from geoprivacy.attacks.geoclip.model import find_backbone
    from geoprivacy.errors import ModelUnavailable
    try:
        find_backbone()
    except ModelUnavailable:
        return "the CLIP ViT-L/14 backbone (--geoclip-backbone DIR)"
    return None


ATTACKERS.register(Plugin("geoclip", "GeoCLIP: top-k places predicted from pixels (needs the "
                          "CLIP ViT-L/14 backbone, --geoclip-backbone)", _load_geoclip,
                          extra="vision", available=_geoclip_available, needs=_geoclip_needs))


def _load_overlay() -> Attacker:
    from geoprivacy.cues.text import OverlayAttacker
    return OverlayAttacker()


def _overlay_available() -> bool:
    from geoprivacy.cues.text import _available
    return _available()


ATTACKERS.register(Plugin("overlay", "coordinates burned into the picture (dashcam/drone "
                          "overlays), read by OCR", _load_overlay, extra="vision",
                          available=_overlay_available))
