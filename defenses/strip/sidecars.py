"""Location sidecars (``--sidecars report|strip|delete``).

report (default): a sidecar that holds a location is listed as a leak that needs action (the run
exits 3), and nothing is written. strip: SRT telemetry and XMP sidecars lose their coordinates and
keep the rest (cleaned copy, re-audited like any output). delete: files that are nothing but
location (GPX, NMEA, KML, Takeout JSON) are deleted with ``--in-place`` or left out of the output
folder otherwise; SRT and XMP are stripped as with ``strip``.
"""

from __future__ import annotations

import os
import re
from typing import BinaryIO

from geoprivacy.defenses.strip import StripOptions
from geoprivacy.defenses.strip import engine
from geoprivacy.defenses.strip.xmp_edit import clean_xmp
from geoprivacy.errors import ParseError
from geoprivacy.types import MediaItem

MAX_SIDECAR = 256 * 1024 * 1024
EDITABLE = ("SRT", "XMP")

_SRT_RULES: list[tuple[str, re.Pattern[bytes]]] = [
    ("SRT:GPS", re.compile(rb",?[ \t]*\b(GPS|HOME)[ \t]*\([^)\r\n]*\)", re.I)),
    ("SRT:latitude/longitude", re.compile(
        rb"[ \t]*\[[ \t]*(latitude|longitude|longtitude|lat|lon|lng|gps_?\w*|altitude)"
        rb"[ \t]*:[^\]\r\n]*\]", re.I)),
    ("SRT:abs_alt", re.compile(rb"[ \t]*abs_alt[ \t]*:[ \t]*-?[\d.]+", re.I)),
    ("SRT:latitude/longitude", re.compile(
        rb"\b(latitude|longitude|longtitude|lat|lon|lng)[ \t]*[:=][ \t]*-?\d+(\.\d+)?[NSEW]?,?",
        re.I)),
    ("SRT:NMEA", re.compile(rb"\$(GP|GN|GL|GA|BD)[A-Z]{3},[^\r\n]*")),
]


def _read(path: str) -> bytes:
    with open(path, "rb") as fh:
        data = fh.read(min(MAX_SIDECAR, os.fstat(fh.fileno()).st_size) + 1)  # not 256 MB
    if len(data) > MAX_SIDECAR:
        raise ParseError(f"sidecar is larger than {MAX_SIDECAR} bytes; not cleaned")
    return data


def strip_srt(path: str, out: BinaryIO, options: StripOptions) -> list[str]:
    """SRT subtitles with coordinates, home point and NMEA sentences cut out of each cue."""
    text = _read(path)
    removed: list[str] = []
    for where, rule in _SRT_RULES:
        text, n = rule.subn(b"", text)
        if n and where not in removed:
            removed.append(where)
    out.write(text)
    return removed


def strip_xmp_sidecar(path: str, out: BinaryIO, options: StripOptions) -> list[str]:
    """An XMP sidecar without location properties (the rest kept as written)."""
    cleaned, removed = clean_xmp(_read(path))
    out.write(cleaned)
    return removed


WRITERS = {"SRT": strip_srt, "XMP": strip_xmp_sidecar}


def strip_sidecar(item: MediaItem, settings: engine.StripSettings,
                  claimed: set[str] | None) -> engine.StripResult:
    """Report, clean or delete one sidecar according to ``settings.sidecars``."""
    base = {"input": item.path, "container": item.container, "kind": item.kind}
    before = engine.audit(item.path)
    found = tuple(e.where for e in before.evidence)
    if not before.evidence and before.errors:
        return engine.StripResult(**base, status=engine.ERROR,
                                  errors=tuple(f"cannot check: {e}" for e in before.errors))
    mode = settings.sidecars
    editable = item.container in EDITABLE
    if not before.evidence and not (editable and mode != "report"):
        return engine.StripResult(**base, status=engine.CLEAN, verified=True)
    if mode == "report" or (mode == "strip" and not editable):
        hint = ("rerun with --sidecars strip to remove the coordinates" if editable else
                f"a {item.container} file is all location: rerun with --sidecars delete")
        return engine.StripResult(**base, status=engine.LEAK, found=found,
                                  errors=(f"location sidecar left as it is; {hint}",))
    if editable:
        return engine.strip_media(item, WRITERS[item.container], settings, claimed)
    if settings.dry_run:
        return engine.StripResult(**base, status=engine.PLANNED, found=found, method="delete",
                                  removed=("whole file (would be deleted)",), verified=True)
    if settings.in_place:
        try:
            os.unlink(item.path)
        except OSError as exc:
            return engine.StripResult(**base, status=engine.ERROR, found=found,
                                      errors=(f"cannot delete: {exc.strerror or exc}",))
        return engine.StripResult(**base, status=engine.DELETED, found=found, method="delete",
                                  removed=("whole file (deleted)",), verified=True)
    return engine.StripResult(**base, status=engine.DELETED, found=found, method="delete",
                              removed=("whole file (not copied to the output)",), verified=True)
