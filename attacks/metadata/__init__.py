"""The metadata attacker: every location a file's metadata gives away, container by container.

Parsers live one module per container family and share one signature,
``parse(src: Source, out: Collector) -> None``; this module only dispatches on the sniffed
container and turns parser failures into per-file errors.
"""

from __future__ import annotations

from typing import Callable

from geoprivacy.attacks import AttackOutcome
from geoprivacy.attacks.metadata.common import ATTACKER, Collector, Options
from geoprivacy.errors import GeoprivacyError
from geoprivacy.media.source import Source
from geoprivacy.types import MediaItem

Parser = Callable[[Source, Collector], None]


def parsers() -> dict[str, Parser]:
    """Container name → parser. Imported lazily so ``import geoprivacy`` stays fast."""
    from geoprivacy.attacks.metadata import jpeg, png, riff, tiff
    table: dict[str, Parser] = {
        "JPEG": jpeg.parse,
        "TIFF": tiff.parse,
        "BigTIFF": tiff.parse,
        "PNG": png.parse,
        "WebP": riff.parse,
    }
    try:  # later container families register here as they land
        from geoprivacy.attacks.metadata import isobmff
        for name in ("HEIF", "AVIF", "MP4", "MOV", "3GP"):
            table[name] = isobmff.parse
    except ImportError:
        pass
    try:
        from geoprivacy.attacks.metadata import sidecars
        table.update(sidecars.PARSERS)
    except ImportError:
        pass
    try:
        table["AVI"] = riff.parse_avi  # type: ignore[attr-defined]
    except AttributeError:
        pass
    try:
        from geoprivacy.attacks.metadata import avi
        table["AVI"] = avi.parse
    except ImportError:
        pass
    return table


class MetadataAttacker:
    """Reads only metadata (bounded reads), never image or video data."""

    name = ATTACKER

    def __init__(self, options: Options | None = None) -> None:
        self.options = options or Options()
        self._parsers = parsers()

    def supports(self, container: str) -> bool:
        return container in self._parsers

    def attack(self, item: MediaItem) -> AttackOutcome:
        parser = self._parsers.get(item.container)
        if parser is None:
            return AttackOutcome(errors=[f"no metadata parser for container {item.container}"])
        out = Collector(self.options)
        errors: list[str] = []
        try:
            with Source.from_path(item.path) as src:
                parser(src, out)
        except GeoprivacyError as exc:
            errors.append(f"{item.container}: {exc}")
        except (ValueError, LookupError, OverflowError, UnicodeError, RecursionError,
                MemoryError, TypeError, ZeroDivisionError) as exc:
            # A parser bug or a hostile structure we did not foresee: report, never crash.
            errors.append(f"{item.container}: malformed structure ({type(exc).__name__}: {exc})")
        except OSError as exc:
            errors.append(f"cannot read file: {exc.strerror or exc}")
        return AttackOutcome(evidence=out.evidence, errors=errors + out.warnings_as_errors())
