"""Contextual-integrity policy: which contexts allow which location granularity.

A policy file (YAML) names, per audience, a default finest level and a list of rules. A rule
matches when every cue in its ``when`` matches; its ``allow`` is the finest level that may be
disclosed in that context.

Precedence, in order (tested in tests/geoprivacy/test_policy.py):
1. only rules whose ``when`` all match are candidates (``audience`` is a cue like any other);
2. the candidates with the highest ``priority`` (default 0) win;
3. among those, the most restrictive ``allow`` (the coarsest level) wins;
4. on a tie, the rule written first wins;
5. no candidate: ``defaults[audience]``.

A rule whose cues could not be checked is *undetermined*. It never makes a file clean: the
engine also computes the strictest level any undetermined rule could impose, and a file that
would only be clean if those cues were absent is reported as not checked.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Mapping

from geoprivacy.context import AUDIENCES, CATEGORICAL, Context, normalise_answer
from geoprivacy.errors import GeoprivacyError
from geoprivacy.types import Granularity

DEFAULT_AUDIENCE = "public"
MAX_POLICY_BYTES = 1024 * 1024


class PolicyError(GeoprivacyError):
    """A policy file that cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class Rule:
    id: str
    description: str
    allow: Granularity
    when: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    priority: int = 0
    help: str = ""
    order: int = 0          # position in the file: the last tie-breaker

    def evaluate(self, context: Context) -> bool | None:
        """True: every cue matches; False: a known cue does not; None: undetermined."""
        unknown = False
        for cue, wanted in self.when.items():
            value = context.get(cue)
            if not value.known:
                unknown = True
            elif not any(value.matches(w) for w in wanted):
                return False
        return None if unknown else True

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "description": self.description, "allow": self.allow.value,
                "when": {k: list(v) for k, v in self.when.items()}, "priority": self.priority}


@dataclass(frozen=True)
class Decision:
    """The finest level a context allows, which rule said so, and what unknown cues could do."""

    allowed: Granularity
    rule_id: str
    rule: Rule | None
    strictest: Granularity                  # the coarsest level an undetermined rule could impose
    undetermined: tuple[Rule, ...] = ()     # rules that could impose ``strictest``

    @property
    def unknown_cues(self) -> tuple[str, ...]:
        return tuple(sorted({c for r in self.undetermined for c in r.when}))


@dataclass(frozen=True)
class Policy:
    name: str
    rules: tuple[Rule, ...]
    defaults: Mapping[str, Granularity]
    attackers: tuple[str, ...] = ("metadata",)
    description: str = ""
    source: str = "<default>"
    digest: str = ""

    def needed_cues(self) -> tuple[str, ...]:
        """Every cue some rule looks at (what cue providers are asked for)."""
        return tuple(sorted({c for r in self.rules for c in r.when} - {"audience"}))

    def decide(self, context: Context, audience: str = DEFAULT_AUDIENCE) -> Decision:
        """Apply the precedence above to one file's context."""
        default = self.defaults[audience]
        results = [(r, r.evaluate(context)) for r in self.rules]
        matched = [r for r, ok in results if ok is True]
        maybe = [r for r, ok in results if ok is None]
        if matched:
            top = max(r.priority for r in matched)
            tier = [r for r in matched if r.priority == top]
            rule = max(tier, key=lambda r: (r.allow.rank, -r.order))
            allowed, rule_id = rule.allow, rule.id
            relevant = [r for r in maybe if r.priority >= top]
        else:
            rule, allowed, rule_id = None, default, f"default-{audience}"
            relevant = maybe
        stricter = tuple(r for r in relevant if r.allow.rank > allowed.rank)
        strictest = max([allowed] + [r.allow for r in stricter], key=lambda g: g.rank)
        return Decision(allowed, rule_id, rule, strictest, stricter)

    def cues_that_matter(self, context: Context, audience: str, reached: list[Granularity],
                         unanswerable: frozenset[str] = frozenset()) -> set[str]:
        """Unknown cues whose answer could turn a finding into none or none into a finding
        for evidence reaching ``reached`` (what is worth running a detector for). Rules that
        also need an ``unanswerable`` cue are left out: they stay undetermined anyway."""
        decision = self.decide(context, audience)
        top = decision.rule.priority if decision.rule is not None else None
        out: set[str] = set()
        for rule in self.rules:
            if rule.evaluate(context) is not None or (top is not None and rule.priority < top):
                continue
            if any(c in unanswerable and not context.get(c).known for c in rule.when):
                continue
            if top is not None and rule.priority == top:
                hypothetical = max(decision.allowed, rule.allow, key=lambda g: g.rank)
            else:
                hypothetical = rule.allow
            if any(r.finer_than(decision.allowed) != r.finer_than(hypothetical) for r in reached):
                out |= {c for c in rule.when if not context.get(c).known}
        return out

    def rule(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules if r.id == rule_id), None)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "source": self.source, "sha256": self.digest,
                "defaults": {k: v.value for k, v in self.defaults.items()},
                "attackers": list(self.attackers), "rules": [r.to_dict() for r in self.rules]}


# --- Loading ---------------------------------------------------------------------------------

def _schema() -> dict[str, Any]:
    text = resources.files("geoprivacy").joinpath("schemas/policy.schema.json").read_text("utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


def default_policy_text() -> str:
    return resources.files("geoprivacy").joinpath("data/default_policy.yaml").read_text("utf-8")


def load_policy(path: str | None = None) -> Policy:
    """The policy at ``path`` (YAML), or the shipped default. Errors name the file and line."""
    if path is None:
        return parse_policy(default_policy_text(), "<default policy>")
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_POLICY_BYTES + 1)
    except OSError as exc:
        raise PolicyError(f"policy {path}: cannot read ({exc.strerror or exc})") from None
    if len(raw) > MAX_POLICY_BYTES:
        raise PolicyError(f"policy {path}: larger than {MAX_POLICY_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PolicyError(f"policy {path}: not UTF-8 text (byte {exc.start})") from None
    return parse_policy(text, path)


def parse_policy(text: str, source: str) -> Policy:
    """Parse and validate policy YAML; the first problem becomes one PolicyError with a line."""
    import jsonschema
    import yaml

    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise PolicyError(f"policy {source}{where}: not valid YAML: {problem}") from None
    if node is None or not isinstance(data, dict):
        raise PolicyError(f"policy {source} line 1: expected a mapping with version, defaults "
                          "and rules")
    validator = jsonschema.Draft202012Validator(_schema())
    errors = sorted(validator.iter_errors(data),
                    key=lambda e: (_line_of(node, list(e.absolute_path)), list(e.absolute_path)))
    if errors:
        err = jsonschema.exceptions.best_match(errors)
        path = list(err.absolute_path)
        line = _line_of(node, path)
        at = "/".join(str(p) for p in path) or "(top level)"
        raise PolicyError(f"policy {source} line {line}: {at}: {_short(err)}")
    return _build(data, node, source, hashlib.sha256(text.encode()).hexdigest())


def _short(err: Any) -> str:
    if err.validator == "additionalProperties":
        return err.message.replace("Additional properties are not allowed", "unknown key")
    if err.validator == "enum":
        return f"{err.instance!r} is not one of {', '.join(map(str, err.validator_value))}"
    if err.validator == "oneOf" and isinstance(err.instance, (int, float, bool)):
        return f"{err.instance!r} must be a quoted string answer (write \"{err.instance}\")"
    return str(err.message)


def _line_of(node: Any, path: list[Any]) -> int:
    """1-based line of the YAML node at a jsonschema error path (or of its closest parent)."""
    import yaml

    current = node
    for part in path:
        nxt = None
        if isinstance(current, yaml.MappingNode):
            for key, value in current.value:
                if key.value == str(part):
                    nxt = value if not isinstance(value, yaml.ScalarNode) else key
                    break
        elif isinstance(current, yaml.SequenceNode) and isinstance(part, int) \
                and part < len(current.value):
            nxt = current.value[part]
        if nxt is None:
            break
        current = nxt
    return int(current.start_mark.line) + 1


def _build(data: dict[str, Any], node: Any, source: str, digest: str) -> Policy:
    rules: list[Rule] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(data.get("rules") or []):
        line = _line_of(node, ["rules", i])
        if raw["id"] in seen:
            raise PolicyError(f"policy {source} line {line}: rules/{i}/id: duplicate rule id "
                              f"{raw['id']!r} (first on line {seen[raw['id']]})")
        seen[raw["id"]] = line
        when: dict[str, tuple[str, ...]] = {}
        for cue, wanted in (raw.get("when") or {}).items():
            values = wanted if isinstance(wanted, list) else [wanted]
            try:
                when[cue] = tuple(_check_answer(cue, str(v)) for v in values)
            except GeoprivacyError as exc:
                wline = _line_of(node, ["rules", i, "when", cue])
                raise PolicyError(f"policy {source} line {wline}: rules/{i}/when/{cue}: "
                                  f"{exc}") from None
        rules.append(Rule(id=raw["id"], description=raw["description"],
                          allow=Granularity(raw["allow"]), when=when,
                          priority=int(raw.get("priority", 0)), help=raw.get("help", ""),
                          order=i))
    defaults = {a: Granularity(data["defaults"][a]) for a in AUDIENCES}
    return Policy(name=data.get("name", source), rules=tuple(rules), defaults=defaults,
                  attackers=tuple(data.get("attackers") or ("metadata",)),
                  description=data.get("description", ""), source=source, digest=digest)


def _check_answer(cue: str, answer: str) -> str:
    """An answer a rule can match: a known cue's answers (or present/absent)."""
    if cue in CATEGORICAL and answer in ("present", "absent"):
        return answer
    return normalise_answer(cue, answer)
