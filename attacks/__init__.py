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
