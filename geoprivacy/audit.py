"""Run attackers over inputs: sniff each file, pick the attackers that apply, gather results."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Iterator

from geoprivacy.attacks import Attacker
from geoprivacy.media.sniff import sniff
from geoprivacy.media.source import Source
from geoprivacy.types import FileResult, MediaItem


@dataclass
class AuditOptions:
    """What to run and how."""

    attackers: list[Attacker] = field(default_factory=list)
    explicit: set[str] = field(default_factory=set)   # files named on the command line


def identify(path: str) -> MediaItem:
    """Sniff a file's container by content and describe it."""
    with Source.from_path(path) as src:
        sniffed = sniff(src)
        size = src.size
    return MediaItem(path=path, kind=sniffed.kind, container=sniffed.container,
                     mime=sniffed.mime, size=size)


def audit_file(path: str, options: AuditOptions) -> FileResult:
    """One file's result. Never raises for a bad file: problems become its errors."""
    try:
        item = identify(path)
    except OSError as exc:
        return FileResult(path, "unknown", "unknown", "error",
                          errors=(f"cannot read file: {exc.strerror or exc}",))
    if item.container == "empty":
        return FileResult(path, item.kind, item.container, "error",
                          errors=("empty file (0 bytes): nothing to read",))
    applicable = [a for a in options.attackers if _supports(a, item)]
    if not applicable:
        if item.kind in ("photo", "video") and options.attackers:
            # a photo or video nobody can read (e.g. BigTIFF) is not checked, never skipped
            return FileResult(path, item.kind, item.container, "error",
                              errors=(f"no attacker reads {item.container} files: not checked",))
        if path in options.explicit:
            return FileResult(path, item.kind, item.container, "error",
                              errors=("not a photo, video or location sidecar geoprivacy can "
                                      "read (format detected by content)",))
        return FileResult(path, item.kind, item.container, "skipped",
                          errors=("not a supported media or sidecar format",))
    evidence = []
    # a metadata reader that cannot parse this photo or video container leaves its metadata
    # unread, even when a pixel attacker looked at it: not checked, never clean
    errors: list[str] = [f"{a.name}: cannot read {item.container} files: not checked"
                         for a in options.attackers if item.kind in ("photo", "video")
                         and a not in applicable and not getattr(a, "reads_pixels", False)]
    for attacker in applicable:
        try:
            outcome = attacker.attack(item)
        except Exception as exc:  # noqa: BLE001 - one attacker's failure on one file is that
            # file's error; the other attackers' evidence and the rest of the run go on
            errors.append(f"{attacker.name}: failed on this file ({type(exc).__name__}: "
                          f"{' '.join(str(exc).split())[:200]})")
            continue
        evidence.extend(outcome.evidence)
        errors.extend(f"{attacker.name}: {e}" for e in outcome.errors)
    has_location = any(e.is_location for e in evidence)
    status = "error" if errors and not has_location else "ok"
    return FileResult(path, item.kind, item.container, status, evidence=tuple(evidence),
                      errors=tuple(errors))


def _supports(attacker: Attacker, item: MediaItem) -> bool:
    """Whether ``attacker`` applies; an attacker that looks at pixels (``reads_pixels``) has
    nothing to look at in an audio file (a voice memo), which is not a failure to check it."""
    if getattr(attacker, "reads_pixels", False) and item.kind not in ("photo", "video"):
        return False
    supports = getattr(attacker, "supports", None)
    return bool(supports(item.container)) if supports else item.kind in ("photo", "video")


def audit_files(paths: Iterable[str], options: AuditOptions) -> Iterator[FileResult]:
    for path in paths:
        yield audit_file(path, options)
