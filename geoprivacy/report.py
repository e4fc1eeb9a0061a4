"""The run report: one document per run, one versioned schema, one exit-code policy.

Later stages add to it (findings, models, policy) without changing what is there: readers of
``schema_version`` 1.x can rely on every field documented in ``schemas/report.schema.json``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from geoprivacy import __version__
from geoprivacy.types import FileResult

SCHEMA_VERSION = "1.0"

EXIT_OK = 0
EXIT_FOUND = 1
EXIT_NOTHING_CHECKED = 2
EXIT_NOT_CHECKED = 3


@dataclass(frozen=True)
class RunReport:
    """Everything a run learned. ``exit_code`` is the whole exit policy of a command."""

    command: str
    files: tuple[FileResult, ...]
    tool: dict[str, Any] = field(default_factory=lambda: {"name": "geoprivacy",
                                                          "version": __version__})
    models: tuple[dict[str, Any], ...] = ()
    policy: dict[str, Any] | None = None
    attackers: tuple[str, ...] = ("metadata",)

    @property
    def checked(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "ok"]

    @property
    def found(self) -> bool:
        """audit: any real location; gate: any policy finding."""
        if self.command == "gate":
            return any(_active(x) for f in self.files for x in f.findings)
        return any(f.has_location for f in self.files)

    @property
    def not_checked(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "error"]

    @property
    def exit_code(self) -> int:
        """1 if anything was found, else 3 if anything could not be checked,
        else 2 if nothing was checked, else 0."""
        if self.found:
            return EXIT_FOUND
        if self.not_checked:
            return EXIT_NOT_CHECKED
        if not self.checked:
            return EXIT_NOTHING_CHECKED
        return EXIT_OK

    def summary(self) -> dict[str, Any]:
        status = Counter(f.status for f in self.files)
        kinds = Counter(e.kind.value for f in self.files for e in f.evidence)
        return {
            "files": len(self.files),
            "ok": status.get("ok", 0),
            "error": status.get("error", 0),
            "skipped": status.get("skipped", 0),
            "with_location": sum(1 for f in self.files if f.has_location),
            "findings": sum(1 for f in self.files for x in f.findings if _active(x)),
            "suppressed": sum(1 for f in self.files for x in f.findings if not _active(x)),
            "evidence": dict(sorted(kinds.items())),
            "exit_code": self.exit_code,
        }

    def to_dict(self, redact: bool = False) -> dict[str, Any]:
        files = [f.to_dict() for f in self.files]
        if redact:
            for f in files:
                for ev in f["evidence"]:
                    redact_evidence(ev)
                for finding in f["findings"]:
                    redact_evidence(finding["evidence"])
        return {
            "schema_version": SCHEMA_VERSION,
            "command": self.command,
            "tool": dict(self.tool),
            "attackers": list(self.attackers),
            "models": [dict(m) for m in self.models],
            "policy": self.policy,
            "files": files,
            "summary": self.summary(),
        }


def _active(finding: Any) -> bool:
    """A finding that counts: not baselined or suppressed (gate)."""
    return getattr(finding, "suppressed", None) is None


_COORD_KEYS = {"lat", "lon", "min_lat", "max_lat", "min_lon", "max_lon", "alt", "fixes",
               "place", "country_code", "matched"}   # names of places; overlay text read


def redact_evidence(ev: dict[str, Any]) -> None:
    """Replace every coordinate in an evidence dict (in place) with "redacted"."""
    def scrub(obj: Any) -> Any:
        if isinstance(obj, dict):
            return {k: ("redacted" if k in _COORD_KEYS and obj[k] is not None else scrub(v))
                    for k, v in obj.items()}
        if isinstance(obj, list):
            return [scrub(v) for v in obj]
        return obj
    ev.update(scrub(ev))
    if ev.get("kind") == "place_name" and isinstance(ev.get("detail"), dict) \
            and ev["detail"].get("name") is not None:
        ev["detail"]["name"] = "redacted"     # a place name is a location too
