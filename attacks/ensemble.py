"""Combine what several attackers say about one file into one answer, and say who decided.

Each located Evidence votes with its confidence (GeoCLIP's is its calibrated top-1
probability; metadata positions are 1.0). The most confident one decides the place, ties going
to the smaller radius; the others either agree (their point lies within the larger of the two
radii) or disagree. The combined confidence is ``1 - Π(1 - c)`` over the decider and the
attackers that agree, each attacker counted once. The place is never averaged: an exact
metadata fix averaged with a visual guess would be worse than either.
"""

from __future__ import annotations

from typing import Iterable

from geoprivacy.geo import haversine_km
from geoprivacy.types import Evidence, EvidenceKind

ATTACKER = "ensemble"
#: Radius assumed for evidence that states none (an exact fix).
EXACT_RADIUS_KM = 1.0


def _radius(e: Evidence) -> float:
    return e.radius_km if e.radius_km is not None else EXACT_RADIUS_KM


def located(evidence: Iterable[Evidence]) -> list[Evidence]:
    """Evidence that names a coordinate (positions, track starts, predictions)."""
    return [e for e in evidence if e.is_location and e.attacker != ATTACKER
            and e.lat is not None and e.lon is not None]


def combine(evidence: Iterable[Evidence]) -> Evidence | None:
    """One Evidence for the file (attacker ``ensemble``), or None when nothing is located."""
    votes = located(evidence)
    if not votes:
        return None
    decider = max(votes, key=lambda e: (e.confidence, -_radius(e)))
    agree: dict[str, float] = {}
    disagree: dict[str, float] = {}
    for e in votes:
        dist = haversine_km(decider.lat, decider.lon, e.lat, e.lon)  # type: ignore[arg-type]
        bucket = agree if dist <= max(_radius(decider), _radius(e)) else disagree
        bucket[e.attacker] = max(bucket.get(e.attacker, 0.0), e.confidence)
    disagree = {k: v for k, v in disagree.items() if k not in agree}
    miss = 1.0
    for conf in agree.values():
        miss *= 1.0 - max(0.0, min(1.0, conf))
    kind = EvidenceKind.PREDICTION if decider.kind is EvidenceKind.PREDICTION else \
        EvidenceKind.POSITION
    return Evidence(
        attacker=ATTACKER, kind=kind, where=f"ensemble:{decider.attacker}",
        lat=decider.lat, lon=decider.lon, radius_km=decider.radius_km,
        granularity=decider.granularity, confidence=round(1.0 - miss, 5),
        detail={"decided_by": decider.attacker, "decider_where": decider.where,
                "agree": {k: round(v, 5) for k, v in sorted(agree.items())},
                "disagree": {k: round(v, 5) for k, v in sorted(disagree.items())},
                "votes": len(votes)})


def with_ensemble(evidence: Iterable[Evidence]) -> list[Evidence]:
    """``evidence`` plus the ensemble's answer when two or more attackers located the file."""
    evidence = list(evidence)
    if len({e.attacker for e in located(evidence)}) < 2:
        return evidence
    answer = combine(evidence)
    return evidence + ([answer] if answer is not None else [])
