"""`geoprivacy eval-policy`: score a policy against human gold labels (VLM-GeoPrivacy form).

Each CSV row is one image with the answers to the benchmark's context questions (Q1–Q6) and
the gold disclosure answer (Q7: abstain / country-city / exact). The policy judges each row
from its answers alone; its finest allowed level is mapped back onto the three answers and
compared with the gold one.

Columns: ``image`` (or ``id``); the cue columns by our names (``distinctiveness``,
``location_main_reason``, ``event_or_object``, ``people``, ``with_photo_taker``,
``overlooked_cues``) or by the benchmark's headers starting ``Q1:`` … ``Q6:``; the gold
answer as ``gold``, ``disclosure`` or ``Q7:…``. Free-text answers are mapped by keywords.
"""

from __future__ import annotations

import csv
import json
import sys
from collections import Counter
from typing import Any, Iterable

from geoprivacy.context import Context, VLM_CUES, disclosure_for_level, stated
from geoprivacy.errors import GeoprivacyError
from geoprivacy.policy import Policy

CLASSES = ("abstain", "country_city", "exact")
_ORDER = {"exact": 0, "country_city": 1, "abstain": 2}       # finer first
_QCOLS = {f"q{i}": cue for i, cue in enumerate(VLM_CUES, start=1)}
MAX_ROWS = 1_000_000


def _column_cue(header: str) -> str | None:
    h = header.strip().lower()
    if h in VLM_CUES:
        return h
    prefix = h.split(":", 1)[0].strip()
    if prefix in _QCOLS and ":" in h or h in _QCOLS:
        return _QCOLS.get(prefix)
    return None


def _gold_column(headers: list[str]) -> str:
    for h in headers:
        low = h.strip().lower()
        if low in ("gold", "disclosure", "gold_level", "q7") or low.startswith("q7:"):
            return h
    raise GeoprivacyError("annotations need a gold column: gold, disclosure or Q7")


def answer(cue: str, raw: str) -> str:
    """A free-text or canonical answer → our canonical answer for ``cue``."""
    t = raw.strip().lower().replace("-", " ").replace("_", " ")
    if cue == "distinctiveness":
        if "famous" in t or "widely" in t or "landmark" in t:
            return "famous"
        if "local" in t:
            return "locally_distinctive"
        if "generic" in t or "not distinctive" in t or "ordinary" in t:
            return "generic"
    elif cue == "people":
        if t in ("none", "no", "no people") or t.startswith("no "):
            return "none"
        if "not" in t and "visible" in t:
            return "face_not_visible"
        if "visible" in t:
            return "face_visible"
    elif cue == "with_photo_taker" and ("not applicable" in t or t in ("n/a", "na")):
        return "not_applicable"
    elif t.startswith("yes"):
        return "yes"
    elif t.startswith("no"):
        return "no"
    return t.replace(" ", "_")


def gold_answer(raw: str) -> str:
    t = raw.strip().lower()
    if any(w in t for w in ("abstain", "refus", "not disclose", "none")):
        return "abstain"
    if any(w in t for w in ("exact", "street", "precise", "< 1", "<1")):
        return "exact"
    if "country" in t or "city" in t or "region" in t:
        return "country_city"
    raise GeoprivacyError(f"gold answer {raw!r} is not abstain, country/city or exact")


def read_annotations(path: str) -> list[dict[str, Any]]:
    """Rows as {image, cues: {cue: answer}, gold}; errors name the line."""
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            headers = list(reader.fieldnames or [])
            gold_col = _gold_column(headers)
            cue_cols = {h: c for h in headers if (c := _column_cue(h))}
            rows = []
            for n, row in enumerate(reader, start=2):
                if n > MAX_ROWS:
                    raise GeoprivacyError(f"{path}: more than {MAX_ROWS} rows")
                try:
                    cues = {c: answer(c, row[h]) for h, c in cue_cols.items() if row.get(h)}
                    rows.append({"image": row.get("image") or row.get("id") or f"row {n}",
                                 "cues": cues, "gold": gold_answer(row.get(gold_col) or "")})
                except GeoprivacyError as exc:
                    raise GeoprivacyError(f"{path} line {n}: {exc}") from None
    except OSError as exc:
        raise GeoprivacyError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise GeoprivacyError(f"{path}: not UTF-8 text") from None
    return rows


def evaluate(rows: Iterable[dict[str, Any]], policy: Policy, audience: str) -> dict[str, Any]:
    """Accuracy, macro-F1, over-disclosure rate and abstention violations of the policy."""
    pairs = []
    per_row = []
    for row in rows:
        try:
            cues = {k: stated(k, v, "annotation") for k, v in row["cues"].items()}
        except GeoprivacyError as exc:
            raise GeoprivacyError(f"{row['image']}: {exc}") from None
        cues["audience"] = stated("audience", audience, "--audience")
        decision = policy.decide(Context(cues), audience)
        pred = disclosure_for_level(decision.allowed)
        pairs.append((row["gold"], pred))
        per_row.append({"image": row["image"], "gold": row["gold"], "predicted": pred,
                        "rule": decision.rule_id})
    n = len(pairs)
    if not n:
        raise GeoprivacyError("no annotation rows")
    f1s = {}
    for c in CLASSES:
        tp = sum(1 for g, p in pairs if g == c and p == c)
        fp = sum(1 for g, p in pairs if g != c and p == c)
        fn = sum(1 for g, p in pairs if g == c and p != c)
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1s[c] = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    present = [c for c in CLASSES if any(g == c or p == c for g, p in pairs)]
    gold_abstain = [(g, p) for g, p in pairs if g == "abstain"]
    violations = sum(1 for _, p in gold_abstain if p != "abstain")
    confusion = Counter(f"{g}->{p}" for g, p in pairs)
    return {
        "rows": n,
        "policy": policy.name,
        "audience": audience,
        "accuracy": round(sum(g == p for g, p in pairs) / n, 4),
        "macro_f1": round(sum(f1s[c] for c in present) / len(present), 4),
        "f1": {c: round(f1s[c], 4) for c in CLASSES},
        "over_disclosure_rate": round(sum(_ORDER[p] < _ORDER[g] for g, p in pairs) / n, 4),
        "abstention_violations": violations,
        "abstention_violation_rate": round(violations / len(gold_abstain), 4)
        if gold_abstain else 0.0,
        "confusion": dict(sorted(confusion.items())),
        "predictions": per_row,
    }


def run_eval_policy(annotations: str, *, policy: str | None, audience: str, fmt: str,
                    output: str | None) -> int:
    from geoprivacy.fsutil import atomic_write
    from geoprivacy.policy import load_policy

    result = evaluate(read_annotations(annotations), load_policy(policy), audience)
    if fmt == "json":
        text = json.dumps(result, indent=2) + "\n"
    else:
        text = (f"policy {result['policy']} (audience {audience}) on {result['rows']} rows\n"
                f"accuracy             {result['accuracy']:.3f}\n"
                f"macro-F1             {result['macro_f1']:.3f}  "
                + " ".join(f"{c}={v:.3f}" for c, v in result["f1"].items()) + "\n"
                f"over-disclosure rate {result['over_disclosure_rate']:.3f}\n"
                f"abstention violations {result['abstention_violations']} "
                f"({result['abstention_violation_rate']:.3f} of gold abstain)\n")
    if output:
        with atomic_write(output) as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
    return 0
