"""Policy loading (schema errors with line numbers), precedence, and undetermined rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from geoprivacy.context import Context, stated
from geoprivacy.policy import PolicyError, load_policy, parse_policy
from geoprivacy.types import Granularity

PRECEDENCE_POLICY = """\
version: 1
name: precedence
defaults: {public: country, internal: city, research: region}
rules:
  - id: loose-landmark
    description: famous places may be disclosed exactly
    when: {distinctiveness: famous}
    allow: exact
  - id: city-if-main-reason
    description: location is the point of the photo
    when: {location_main_reason: "yes"}
    allow: city
  - id: region-if-main-reason
    description: same context, more restrictive, written later
    when: {location_main_reason: "yes"}
    allow: region
  - id: faces-high
    description: faces beat everything below priority 10
    when: {faces: present}
    allow: country
    priority: 10
  - id: consent-top
    description: explicit consent at the highest priority loosens again
    when: {consent: "yes", audience: research}
    allow: exact
    priority: 50
  - id: tie-first
    description: a tie with tie-second (same level and priority); written first
    when: {text: present}
    allow: continent
    priority: 5
  - id: tie-second
    description: a tie with tie-first; written second
    when: {text: present}
    allow: continent
    priority: 5
"""


def ctx(audience: str = "public", **cues: str) -> Context:
    values = {k: stated(k, v, "test") for k, v in cues.items()}
    values["audience"] = stated("audience", audience, "test")
    return Context(values)


@pytest.mark.parametrize("audience, cues, rule_id, allowed", [
    # 5. no rule matches: the audience default
    ("public", {}, "default-public", "country"),
    ("research", {}, "default-research", "region"),
    ("internal", {"distinctiveness": "generic"}, "default-internal", "city"),
    # 1. only matching rules count
    ("public", {"distinctiveness": "famous"}, "loose-landmark", "exact"),
    # 3. same priority: the most restrictive allow wins, whatever the order
    ("public", {"distinctiveness": "famous", "location_main_reason": "yes"},
     "region-if-main-reason", "region"),
    # 2. a higher priority wins even when less restrictive rules matched
    ("public", {"distinctiveness": "famous", "faces": "present"}, "faces-high", "country"),
    # 2. ... and a still higher one can loosen again
    ("research", {"faces": "present", "consent": "yes"}, "consent-top", "exact"),
    # the audience is a cue: consent-top does not apply to public
    ("public", {"faces": "present", "consent": "yes"}, "faces-high", "country"),
    # 4. a full tie: the rule written first
    ("public", {"text": "present"}, "tie-first", "continent"),
    # absent cues do not match
    ("public", {"faces": "absent", "distinctiveness": "famous"}, "loose-landmark", "exact"),
])
def test_precedence_table(audience: str, cues: dict[str, str], rule_id: str,
                          allowed: str) -> None:
    policy = parse_policy(PRECEDENCE_POLICY, "precedence.yaml")
    decision = policy.decide(ctx(audience, **cues), audience)
    assert (decision.rule_id, decision.allowed.value) == (rule_id, allowed)


def test_unknown_cue_that_could_restrict_is_reported() -> None:
    policy = parse_policy(PRECEDENCE_POLICY, "precedence.yaml")
    # famous place known, faces unknown: exact is allowed only if there are no faces
    decision = policy.decide(ctx("public", distinctiveness="famous", location_main_reason="no",
                                 text="absent", consent="no"), "public")
    assert decision.allowed is Granularity.EXACT
    assert decision.strictest is Granularity.COUNTRY
    assert [r.id for r in decision.undetermined] == ["faces-high"]
    assert decision.unknown_cues == ("faces",)


def test_unknown_cue_that_could_only_loosen_is_not_reported() -> None:
    policy = parse_policy(PRECEDENCE_POLICY, "precedence.yaml")
    decision = policy.decide(ctx("research", faces="present", text="absent"), "research")
    assert decision.rule_id == "faces-high"
    assert decision.strictest is Granularity.COUNTRY and decision.undetermined == ()


def test_default_policy_loads_and_names_the_cues_it_needs() -> None:
    policy = load_policy()
    assert policy.name == "geoprivacy-default"
    assert {"faces", "people", "residential", "plates"} <= set(policy.needed_cues())
    assert "audience" not in policy.needed_cues()
    # a visible face, even at a famous place, allows at most the country
    d = policy.decide(ctx(people="face_visible", distinctiveness="famous",
                          location_main_reason="yes"), "public")
    assert d.allowed is Granularity.COUNTRY and d.rule_id == "GP101-face-visible"


def _policy(rules: str) -> str:
    return ("version: 1\ndefaults: {public: country, internal: city, research: region}\n"
            "rules:\n" + rules)


@pytest.mark.parametrize("text, line, words", [
    (_policy("  - id: a\n    description: d\n    allow: citty\n"), 6, "'citty' is not one of"),
    ("version: 1\ndefaults: {public: country}\nrules: []\n", 2, "'internal' is a required"),
    (_policy("  - id: a\n    description: d\n    allow: city\n    colour: red\n"), 4,
     "unknown key"),
    (_policy("  - id: a\n    description: d\n    allow: city\n    when: {people: faces}\n"), 7,
     "answer 'faces' is not one of"),
    (_policy("  - id: a\n    description: d\n    allow: city\n"
             "  - id: a\n    description: e\n    allow: city\n"), 7, "duplicate rule id"),
    (_policy("  - id: a\n    description: d\n    allow: city\n    priority: high\n"), 7,
     "is not of type 'integer'"),
    (_policy("  - id: a\n    description: d\n    allow: city\n    when: {q: yes}\n"), 7,
     "quoted string"),
    ("version: 1\ndefaults: [\n", 3, "not valid YAML"),
    ("- just\n- a list\n", 1, "expected a mapping"),
    ("version: 2\ndefaults: {public: country, internal: city, research: region}\nrules: []\n",
     1, "version"),
])
def test_malformed_policy_gives_one_error_with_a_line(text: str, line: int, words: str) -> None:
    with pytest.raises(PolicyError) as err:
        parse_policy(text, "bad.yaml")
    message = str(err.value)
    assert message.startswith(f"policy bad.yaml line {line}:"), message
    assert words in message
    assert "\n" not in message


def test_policy_file_errors(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(str(tmp_path / "missing.yaml"))
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00junk")
    with pytest.raises(PolicyError, match="not UTF-8"):
        load_policy(str(binary))
    good = tmp_path / "good.yaml"
    good.write_text(PRECEDENCE_POLICY)
    policy = load_policy(str(good))
    assert policy.source == str(good) and len(policy.digest) == 64
    assert policy.to_dict()["rules"][0]["when"] == {"distinctiveness": ["famous"]}


def test_cues_that_matter() -> None:
    policy = parse_policy(PRECEDENCE_POLICY, "precedence.yaml")
    unknown = ctx("public")
    # exact evidence under the country default: a loosening landmark rule could clear it,
    # the priority-10 faces rule could not change it
    matter = policy.cues_that_matter(unknown, "public", [Granularity.EXACT])
    assert "distinctiveness" in matter and "faces" not in matter
    # nothing located: no cue matters
    assert policy.cues_that_matter(unknown, "public", []) == set()
    # once faces are known present (priority 10), lower-priority cues no longer matter
    faces = ctx("public", faces="present")
    assert policy.cues_that_matter(faces, "public", [Granularity.EXACT]) == set()


def test_rules_needing_an_unanswerable_cue_do_not_ask_for_the_others() -> None:
    policy = parse_policy(PRECEDENCE_POLICY.replace(
        "when: {distinctiveness: famous}", "when: {distinctiveness: famous, faces: absent}"),
        "p.yaml")
    unknown = ctx("public")
    assert "faces" in policy.cues_that_matter(unknown, "public", [Granularity.EXACT])
    assert "faces" not in policy.cues_that_matter(unknown, "public", [Granularity.EXACT],
                                                  frozenset({"distinctiveness"}))
