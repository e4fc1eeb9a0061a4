"""Baselines and suppressions: accepted findings that must not fail the gate again.

A baseline is the set of finding fingerprints of an earlier run (content hash + rule + where
the evidence is), so it survives renames, report-format changes and reformatting. A
suppressions file (YAML) lists entries that each need a reason; an entry matches by
fingerprint, or by path glob (and optional rule id).
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass, replace
from typing import Any, Iterable

from geoprivacy import __version__
from geoprivacy.errors import GeoprivacyError
from geoprivacy.fsutil import atomic_write
from geoprivacy.risk import Finding

BASELINE_VERSION = 1


def write_baseline(path: str, findings: Iterable[Finding]) -> int:
    """Write every (unsuppressed) finding's fingerprint; returns how many."""
    rows = sorted({(f.fingerprint, f.rule_id, f.media, f.evidence.where) for f in findings})
    doc = {"version": BASELINE_VERSION, "tool": {"name": "geoprivacy", "version": __version__},
           "findings": [{"fingerprint": fp, "rule_id": r, "media": m, "where": w}
                        for fp, r, m, w in rows]}
    with atomic_write(path) as fh:
        json.dump(doc, fh, indent=2)
        fh.write("\n")
    return len(rows)


def load_baseline(path: str) -> frozenset[str]:
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except OSError as exc:
        raise GeoprivacyError(f"baseline {path}: cannot read ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise GeoprivacyError(f"baseline {path}: not JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("version") != BASELINE_VERSION or \
            not isinstance(doc.get("findings"), list):
        raise GeoprivacyError(f"baseline {path}: not a geoprivacy baseline (version "
                              f"{BASELINE_VERSION} with a findings list)")
    out = set()
    for row in doc["findings"]:
        fp = row.get("fingerprint") if isinstance(row, dict) else None
        if not isinstance(fp, str):
            raise GeoprivacyError(f"baseline {path}: a finding without a fingerprint")
        out.add(fp)
    return frozenset(out)


@dataclass(frozen=True)
class Suppression:
    reason: str
    fingerprint: str | None = None
    path: str | None = None
    rule: str | None = None

    def matches(self, f: Finding) -> bool:
        if self.fingerprint is not None:
            return f.fingerprint == self.fingerprint
        if self.path is not None and not fnmatch.fnmatchcase(f.media, self.path):
            return False
        return self.rule is None or self.rule == f.rule_id


def load_suppressions(path: str) -> tuple[Suppression, ...]:
    import yaml
    try:
        with open(path, encoding="utf-8") as fh:
            node = yaml.compose(fh)
            fh.seek(0)
            data = yaml.safe_load(fh)
    except OSError as exc:
        raise GeoprivacyError(f"suppressions {path}: cannot read ({exc.strerror or exc})") from None
    except yaml.YAMLError as exc:
        raise GeoprivacyError(f"suppressions {path}: not valid YAML ({exc})") from None
    entries = data.get("suppressions") if isinstance(data, dict) else data
    if not isinstance(entries, list):
        raise GeoprivacyError(f"suppressions {path}: expected a list under 'suppressions'")
    items = node.value if node is not None and hasattr(node, "value") else []
    seq = next((v.value for k, v in items if getattr(k, "value", None) == "suppressions"), items) \
        if isinstance(data, dict) else items
    out = []
    for i, entry in enumerate(entries):
        line = seq[i].start_mark.line + 1 if i < len(seq) and hasattr(seq[i], "start_mark") else 0
        where = f"suppressions {path} line {line}"
        if not isinstance(entry, dict):
            raise GeoprivacyError(f"{where}: each entry is a mapping with a reason")
        unknown = set(entry) - {"reason", "fingerprint", "path", "rule"}
        if unknown:
            raise GeoprivacyError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        reason = entry.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise GeoprivacyError(f"{where}: every suppression needs a non-empty reason")
        if not entry.get("fingerprint") and not entry.get("path"):
            raise GeoprivacyError(f"{where}: give a fingerprint or a path glob")
        out.append(Suppression(reason.strip(), _opt(entry, "fingerprint"), _opt(entry, "path"),
                               _opt(entry, "rule")))
    return tuple(out)


def _opt(entry: dict[str, Any], key: str) -> str | None:
    value = entry.get(key)
    return None if value is None else str(value)


def apply(findings: tuple[Finding, ...], baseline: frozenset[str],
          suppressions: tuple[Suppression, ...]) -> tuple[Finding, ...]:
    """Mark baselined and suppressed findings (they stay in the report, but do not fail)."""
    out = []
    for f in findings:
        if f.fingerprint in baseline:
            f = replace(f, suppressed="in baseline")
        else:
            s = next((s for s in suppressions if s.matches(f)), None)
            if s is not None:
                f = replace(f, suppressed=s.reason)
        out.append(f)
    return tuple(out)
