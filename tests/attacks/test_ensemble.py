"""The ensemble: the most confident attacker decides, agreement raises confidence."""

from __future__ import annotations

import pytest

from geoprivacy.attacks.ensemble import combine, with_ensemble
from geoprivacy.types import Evidence, EvidenceKind, Granularity


def ev(attacker: str, lat: float, lon: float, conf: float, radius: float | None,
       kind: EvidenceKind = EvidenceKind.PREDICTION,
       level: Granularity = Granularity.CITY) -> Evidence:
    return Evidence(attacker, kind, f"{attacker}:x", lat, lon, radius, level, conf)


def test_metadata_fix_decides_and_agreeing_guess_adds_confidence() -> None:
    out = combine([ev("metadata", 52.2297, 21.0122, 1.0, None, EvidenceKind.POSITION,
                      Granularity.EXACT),
                   ev("geoclip", 52.3, 21.1, 0.2, 750.0, level=Granularity.COUNTRY)])
    assert out is not None
    assert out.detail["decided_by"] == "metadata" and out.kind is EvidenceKind.POSITION
    assert (out.lat, out.lon) == (52.2297, 21.0122) and out.granularity is Granularity.EXACT
    assert out.detail["agree"] == {"geoclip": 0.2, "metadata": 1.0}


def test_confidence_weighting_and_disagreement() -> None:
    votes = [ev("geoclip", 48.85, 2.35, 0.3, 200.0, level=Granularity.REGION),
             ev("retrieval", 55.70, 13.19, 0.6, 1.0, level=Granularity.EXACT),
             ev("overlay", 55.701, 13.195, 0.5, None, EvidenceKind.POSITION)]
    out = combine(votes)
    assert out.detail["decided_by"] == "retrieval"
    assert set(out.detail["agree"]) == {"retrieval", "overlay"}
    assert out.detail["disagree"] == {"geoclip": 0.3}
    assert out.confidence == pytest.approx(1 - 0.4 * 0.5)


def test_nothing_located_and_single_attacker() -> None:
    placeholder = Evidence("metadata", EvidenceKind.PLACEHOLDER, "EXIF:GPS", 0.0, 0.0,
                           granularity=Granularity.NONE)
    assert combine([placeholder]) is None
    one = [ev("geoclip", 1.0, 2.0, 0.1, 750.0)]
    assert with_ensemble(one) == one          # a single attacker needs no ensemble
    two = one + [ev("retrieval", 1.0, 2.0, 0.5, 1.0)]
    assert with_ensemble(two)[-1].attacker == "ensemble"
