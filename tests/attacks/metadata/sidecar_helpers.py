"""Run a sidecar through content sniffing and the sidecar parser table, as audit does."""

from __future__ import annotations

from pathlib import Path

from geoprivacy.attacks.metadata.common import Collector, Options
from geoprivacy.attacks.metadata.sidecars import PARSERS
from geoprivacy.errors import GeoprivacyError
from geoprivacy.media.sniff import sniff
from geoprivacy.media.source import Source
from geoprivacy.types import Evidence, EvidenceKind


def read_sidecar(data: bytes | Path, options: Options | None = None
                 ) -> tuple[str, Collector, list[str]]:
    """(sniffed container, collector, errors) for a file or bytes."""
    src = Source.from_path(data) if isinstance(data, Path) else Source.from_bytes(data)
    out = Collector(options or Options())
    errors: list[str] = []
    with src:
        container = sniff(src).container
        parser = PARSERS.get(container)
        if parser is None:
            return container, out, [f"no sidecar parser for {container}"]
        try:
            parser(src, out)
        except GeoprivacyError as exc:
            errors.append(str(exc))
    return container, out, errors + out.warnings


def locations(out: Collector) -> list[Evidence]:
    return [e for e in out.evidence if e.is_location]


def by_where(out: Collector, where: str) -> Evidence:
    found = [e for e in out.evidence if e.where == where]
    assert len(found) == 1, f"expected one {where}, got {[e.where for e in out.evidence]}"
    return found[0]


def kinds(out: Collector) -> list[EvidenceKind]:
    return [e.kind for e in out.evidence]


def nmea(body: str) -> str:
    """``$body*hh`` with the NMEA 0183 checksum: XOR of every character between $ and *."""
    checksum = 0
    for ch in body:
        checksum ^= ord(ch)
    return f"${body}*{checksum:02X}"
