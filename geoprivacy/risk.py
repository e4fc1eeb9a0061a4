"""The risk engine: evidence + context + policy → Findings that explain themselves.

A Finding is raised when the level an attacker *reached* is finer than the level the context
*allows*. Metadata reaches the level its Evidence states (exact unless the coordinates were
coarsened); a visual attacker reaches the level its predicted radius supports.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from geoprivacy.context import Context
from geoprivacy.geo import granularity_for_radius
from geoprivacy.policy import Decision, Policy
from geoprivacy.types import Evidence, EvidenceKind, Granularity

#: Steps of the ladder used for the severity gap (street counts as exact: both ≤ 1 km).
_STEP = {Granularity.EXACT: 0, Granularity.STREET: 0, Granularity.CITY: 1,
         Granularity.REGION: 2, Granularity.COUNTRY: 3, Granularity.CONTINENT: 4,
         Granularity.NONE: 5}
SEVERITIES = ("low", "medium", "high", "critical")


def reached_level(ev: Evidence) -> Granularity:
    """The finest level this evidence discloses."""
    if not ev.is_location:
        return Granularity.NONE
    if ev.kind is EvidenceKind.PREDICTION and ev.radius_km is not None:
        by_radius = granularity_for_radius(ev.radius_km)
        return by_radius if by_radius.rank > ev.granularity.rank else ev.granularity
    return ev.granularity


def severity(reached: Granularity, allowed: Granularity) -> str:
    """low for one ladder step beyond what is allowed, up to critical for four or more."""
    gap = _STEP[allowed] - _STEP[reached]
    return SEVERITIES[max(0, min(gap, len(SEVERITIES)) - 1)]


def fingerprint(content_sha256: str, rule_id: str, ev: Evidence) -> str:
    """Stable across runs, paths and report formats: content + rule + where the evidence is."""
    key = "\0".join((content_sha256, rule_id, ev.attacker, ev.kind.value, ev.where))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class Finding:
    """One piece of evidence that discloses more than the context allows."""

    rule_id: str
    severity: str
    media: str
    evidence: Evidence
    allowed: Granularity
    reached: Granularity
    explanation: str
    fingerprint: str
    cues: dict[str, Any] = field(default_factory=dict)
    suppressed: str | None = None     # a suppression's reason, when one matched

    def to_dict(self) -> dict[str, Any]:
        out = {"rule_id": self.rule_id, "severity": self.severity, "media": self.media,
               "allowed": self.allowed.value, "reached": self.reached.value,
               "explanation": self.explanation, "fingerprint": self.fingerprint,
               "cues": dict(self.cues), "evidence": self.evidence.to_dict()}
        if self.suppressed is not None:
            out["suppressed"] = self.suppressed
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Finding":
        ev = dict(data["evidence"])
        ev["kind"] = EvidenceKind(ev["kind"])
        ev["granularity"] = Granularity(ev["granularity"])
        return cls(data["rule_id"], data["severity"], data["media"], Evidence(**ev),
                   Granularity(data["allowed"]), Granularity(data["reached"]),
                   data["explanation"], data["fingerprint"], dict(data.get("cues", {})),
                   data.get("suppressed"))


@dataclass(frozen=True)
class Judgement:
    """A file's findings, and why it could not be judged when unknown cues mattered."""

    findings: tuple[Finding, ...] = ()
    undetermined: tuple[str, ...] = ()
    decision: Decision | None = None


def judge(media: str, content_sha256: str, evidence: tuple[Evidence, ...], context: Context,
          policy: Policy, audience: str) -> Judgement:
    """Compare every piece of evidence with what the file's context allows."""
    decision = policy.decide(context, audience)
    used = _cues_used(decision, context)
    findings: list[Finding] = []
    undetermined: list[str] = []
    for ev in evidence:
        reached = reached_level(ev)
        if reached is Granularity.NONE:
            continue
        if reached.finer_than(decision.allowed):
            findings.append(Finding(
                rule_id=decision.rule_id, severity=severity(reached, decision.allowed),
                media=media, evidence=ev, allowed=decision.allowed, reached=reached,
                explanation=_explain(ev, reached, decision, policy, used),
                fingerprint=fingerprint(content_sha256, decision.rule_id, ev), cues=used))
        elif reached.finer_than(decision.strictest):
            rules = ", ".join(r.id for r in decision.undetermined)
            missing = ", ".join(f"{c} ({context.get(c).detail.get('reason', 'not checked')})"
                                for c in decision.unknown_cues if not context.get(c).known)
            undetermined.append(
                f"{ev.where}: reaches {reached.value}; rule(s) {rules} could allow at most "
                f"{decision.strictest.value} but need cues that could not be checked: {missing}")
    return Judgement(tuple(findings), tuple(undetermined), decision)


def _cues_used(decision: Decision, context: Context) -> dict[str, Any]:
    if decision.rule is None:
        return {"audience": context.get("audience").value}
    return {c: (context.get(c).value or context.get(c).state.value) for c in decision.rule.when}


def _explain(ev: Evidence, reached: Granularity, decision: Decision, policy: Policy,
             cues: dict[str, Any]) -> str:
    what = {EvidenceKind.TRACK: "a GPS track", EvidenceKind.PLACE_NAME: "a place name",
            EvidenceKind.PREDICTION: "a visual location estimate"}.get(ev.kind, "a position")
    if decision.rule is not None:
        why = f"rule {decision.rule.id} ({decision.rule.description.rstrip('.')})"
    else:
        why = f"the default of policy {policy.name} for the {cues.get('audience')} audience"
    ctx = ", ".join(f"{k}={v}" for k, v in sorted(cues.items()))
    radius = f" (±{ev.radius_km:g} km)" if ev.radius_km else ""
    return (f"{ev.attacker} found {what} in {ev.where} that discloses the {reached.value} "
            f"level{radius}; {why} allows at most {decision.allowed.value} [{ctx}].")
