"""The risk engine: levels reached, severity by gap, fingerprints, judgements, explanations."""

from __future__ import annotations

import pytest

from geoprivacy.context import Context, CueState, metadata_cues, stated
from geoprivacy.policy import parse_policy
from geoprivacy.risk import Finding, fingerprint, judge, reached_level, severity
from geoprivacy.types import Evidence, EvidenceKind, Granularity

G = Granularity
EXACT = Evidence("metadata", EvidenceKind.POSITION, "EXIF:GPSLatitude", 55.7, 13.19,
                 radius_km=0.013)
CITY_NAME = Evidence("metadata", EvidenceKind.PLACE_NAME, "IPTC:City", granularity=G.CITY,
                     detail={"name": "Lund"})
PLACEHOLDER = Evidence("metadata", EvidenceKind.PLACEHOLDER, "EXIF:GPSLatitude",
                       granularity=G.NONE, confidence=0.0)
TRACK = Evidence("metadata", EvidenceKind.TRACK, "GPX:trk", 43.6, -116.0)

POLICY = parse_policy("""\
version: 1
defaults: {public: country, internal: city, research: exact}
rules:
  - id: R-faces
    description: faces allow at most the country
    when: {faces: present}
    allow: country
    priority: 10
  - id: R-landmark
    description: landmarks allow the city
    when: {landmark: present}
    allow: city
""", "t.yaml")


@pytest.mark.parametrize("ev, level", [
    (EXACT, G.EXACT),
    (CITY_NAME, G.CITY),
    (PLACEHOLDER, G.NONE),
    (Evidence("geoclip", EvidenceKind.PREDICTION, "image", 1.0, 2.0, radius_km=0.5,
              granularity=G.EXACT), G.EXACT),
    (Evidence("geoclip", EvidenceKind.PREDICTION, "image", 1.0, 2.0, radius_km=80.0,
              granularity=G.EXACT), G.REGION),          # radius decides, not the claim
    (Evidence("geoclip", EvidenceKind.PREDICTION, "image", 1.0, 2.0, radius_km=3000.0,
              granularity=G.CITY), G.NONE),
    (Evidence("metadata", EvidenceKind.POSITION, "EXIF:GPS", 1.0, 2.0, radius_km=15.0,
              granularity=G.CITY), G.CITY),             # coarsened metadata
])
def test_reached_level(ev: Evidence, level: Granularity) -> None:
    assert reached_level(ev) is level


@pytest.mark.parametrize("reached, allowed, sev", [
    (G.EXACT, G.CITY, "low"), (G.STREET, G.CITY, "low"), (G.CITY, G.COUNTRY, "medium"),
    (G.EXACT, G.COUNTRY, "high"), (G.EXACT, G.CONTINENT, "critical"),
    (G.EXACT, G.NONE, "critical"), (G.REGION, G.COUNTRY, "low"),
])
def test_severity_grows_with_the_gap(reached: G, allowed: G, sev: str) -> None:
    assert severity(reached, allowed) == sev


def test_fingerprint_is_stable_and_depends_on_content_rule_and_where() -> None:
    a = fingerprint("ab" * 32, "R-faces", EXACT)
    assert a == fingerprint("ab" * 32, "R-faces", EXACT) and len(a) == 32
    assert a != fingerprint("cd" * 32, "R-faces", EXACT)
    assert a != fingerprint("ab" * 32, "R-landmark", EXACT)
    assert a != fingerprint("ab" * 32, "R-faces", TRACK)


def ctx(**cues: str) -> Context:
    return Context({"audience": stated("audience", "public", "t"),
                    **{k: stated(k, v, "t") for k, v in cues.items()}})


def test_finding_explains_itself_and_round_trips() -> None:
    j = judge("a.jpg", "ab" * 32, (EXACT, CITY_NAME, PLACEHOLDER), ctx(faces="present"),
              POLICY, "public")
    assert [f.evidence.where for f in j.findings] == ["EXIF:GPSLatitude", "IPTC:City"]
    first = j.findings[0]
    assert (first.rule_id, first.allowed, first.reached, first.severity) == \
        ("R-faces", G.COUNTRY, G.EXACT, "high")
    assert "R-faces" in first.explanation and "EXIF:GPSLatitude" in first.explanation
    assert "faces=present" in first.explanation and first.cues == {"faces": "present"}
    assert Finding.from_dict(first.to_dict()) == first
    assert j.undetermined == ()


def test_within_policy_is_clean() -> None:
    j = judge("a.jpg", "ab" * 32, (CITY_NAME,), ctx(faces="absent", landmark="present"),
              POLICY, "public")
    assert j.findings == () and j.undetermined == ()


def test_unknown_cue_never_makes_a_file_clean() -> None:
    # landmark present allows the city; a face (not checked) would allow only the country
    j = judge("a.jpg", "ab" * 32, (CITY_NAME,), ctx(landmark="present"), POLICY, "public")
    assert j.findings == ()
    assert len(j.undetermined) == 1
    assert "R-faces" in j.undetermined[0] and "faces" in j.undetermined[0]


def test_default_explains_the_audience() -> None:
    j = judge("t.gpx", "ab" * 32, (TRACK,), ctx(faces="absent", landmark="absent"), POLICY,
              "public")
    assert j.findings[0].rule_id == "default-public"
    assert "a GPS track" in j.findings[0].explanation
    research = Context({"audience": stated("audience", "research", "t")})
    unknown = judge("t.gpx", "ab" * 32, (TRACK,), research, POLICY, "research")
    assert unknown.findings == () and len(unknown.undetermined) == 1
    known = research.merged({"faces": stated("faces", "absent", "t"),
                             "landmark": stated("landmark", "absent", "t")})
    clean = judge("t.gpx", "ab" * 32, (TRACK,), known, POLICY, "research")
    assert clean.findings == () and clean.undetermined == ()


def test_metadata_cues() -> None:
    cues = metadata_cues([TRACK, PLACEHOLDER])
    assert cues["gps_track"].state is CueState.PRESENT
    assert cues["place_name"].state is CueState.ABSENT
