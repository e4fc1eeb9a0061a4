"""Plan, write and verify one strip: pick the writer by sniffed container, write a temp file
beside the target, re-audit it, and only then rename it into place.

An output that the metadata attacker still finds anything in (a place, a track, a name, a
placeholder or an invalid GPS field), or that it cannot fully read, is never renamed into place:
the file gets an error instead. The input is never opened for writing except by the final
rename of ``--in-place``.

Only ``--in-place`` fsyncs the temp file before the rename (it replaces the user's original); a
new output is renamed without fsync, which is atomic for readers but, after a power loss, may
leave that new output empty — never a damaged input. fsync was 80% of the time per photo.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from typing import Any, BinaryIO, Callable, Iterator

from geoprivacy.audit import AuditOptions, audit_file, identify
from geoprivacy.defenses.strip import StripOptions, Writer
from geoprivacy.errors import GeoprivacyError
from geoprivacy.types import FileResult, MediaItem

# Statuses of a StripResult. Only ERROR and LEAK make the run fail.
CLEANED = "cleaned"        # output written and verified; something was removed
CLEAN = "clean"            # nothing to remove; output written (or, in place, left untouched)
PLANNED = "would-clean"    # --dry-run: verified in a private temp file, nothing written
DELETED = "deleted"        # --sidecars delete: a location-only sidecar removed or not copied
SKIPPED = "skipped"        # not a media or sidecar file (found while walking a directory)
LEAK = "leak"              # a sidecar with location left as it is (--sidecars report)
ERROR = "error"            # could not be cleaned or verified: no output
FAILED = (ERROR, LEAK)

REMUX_MARKER = "method:remux-fallback"   # a writer lists this when it had to remux


@dataclass
class StripSettings:
    """Where outputs go and what is removed (the command-line options)."""

    output_dir: str | None = None
    in_place: bool = False
    force: bool = False
    dry_run: bool = False
    all_metadata: bool = False
    sidecars: str = "report"            # report | strip | delete
    roots: tuple[str, ...] = ()         # directory arguments: outputs keep paths below them
    explicit: frozenset[str] = frozenset()
    audit_input: bool = False           # also list what audit finds in each input (slower)

    @property
    def options(self) -> StripOptions:
        return StripOptions(all_metadata=self.all_metadata)


@dataclass(frozen=True)
class StripResult:
    """What happened to one input."""

    input: str
    container: str
    kind: str
    status: str
    output: str | None = None
    removed: tuple[str, ...] = ()
    found: tuple[str, ...] = ()          # what audit found in the input (with --verbose)
    remaining: tuple[str, ...] = ()      # what audit still found in the output
    verified: bool = False
    method: str | None = None            # structural | remux-fallback | delete
    errors: tuple[str, ...] = ()
    seconds: float = 0.0
    notes: tuple[str, ...] = ()          # what the user should know besides the result

    def to_dict(self) -> dict[str, Any]:
        return {"input": self.input, "container": self.container, "kind": self.kind,
                "status": self.status, "output": self.output, "removed": list(self.removed),
                "found": list(self.found), "remaining": list(self.remaining),
                "verified": self.verified, "method": self.method, "errors": list(self.errors),
                "notes": list(self.notes), "seconds": round(self.seconds, 4)}


@dataclass(frozen=True)
class StripReport:
    """Every file's result. ``exit_code`` is the whole exit policy of ``strip``."""

    results: tuple[StripResult, ...]
    dry_run: bool = False
    all_metadata: bool = False
    sidecars: str = "report"

    @property
    def processed(self) -> list[StripResult]:
        return [r for r in self.results if r.status != SKIPPED]

    @property
    def failed(self) -> list[StripResult]:
        return [r for r in self.results if r.status in FAILED]

    @property
    def exit_code(self) -> int:
        """3 if any input could not be cleaned or verified (or a sidecar still leaks), else 2 if
        there was nothing to do (no media or sidecar among the inputs), else 0."""
        if self.failed:
            return 3
        if not self.processed:
            return 2
        return 0

    def summary(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for r in self.results:
            counts[r.status] = counts.get(r.status, 0) + 1
        return {"files": len(self.results), **dict(sorted(counts.items())),
                "removed": sum(len(r.removed) for r in self.results),
                "exit_code": self.exit_code}

    def to_dict(self) -> dict[str, Any]:
        from geoprivacy import __version__
        return {"schema_version": "1.0", "command": "strip",
                "tool": {"name": "geoprivacy", "version": __version__},
                "dry_run": self.dry_run, "all_metadata": self.all_metadata,
                "sidecars": self.sidecars, "files": [r.to_dict() for r in self.results],
                "summary": self.summary()}


# ------------------------------------------------------------------------------ writers

def _adapt(func: Callable[..., list[str]]) -> Writer:
    """Accept writers declared as ``f(path, out, options)`` or ``f(path, out, *, all_metadata)``."""
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return func
    if "all_metadata" in params and params["all_metadata"].kind == inspect.Parameter.KEYWORD_ONLY:
        return lambda path, out, options: func(path, out, all_metadata=options.all_metadata)
    return func


def writers() -> dict[str, Writer]:
    """Container name → writer. Writers for containers whose module is missing are absent."""
    from geoprivacy.defenses.strip import jpeg, png, tiff, webp
    table: dict[str, Writer] = {"JPEG": jpeg.strip_jpeg, "TIFF": tiff.strip_tiff,
                                "BigTIFF": tiff.strip_tiff,
                                "PNG": png.strip_png, "WebP": webp.strip_webp}
    try:
        from geoprivacy.defenses.strip import isobmff
    except ImportError:
        isobmff = None  # type: ignore[assignment]
    if isobmff is not None and hasattr(isobmff, "strip_isobmff"):
        for name in ("HEIF", "AVIF", "MP4", "MOV", "3GP"):
            table[name] = _adapt(isobmff.strip_isobmff)
    return table


def copy_verbatim(path: str, out: Any, options: StripOptions) -> list[str]:
    """For containers audit reads but no writer edits (e.g. AVI): a byte copy, which the
    re-audit then proves holds no location — or the file fails with what is left."""
    with open(path, "rb") as src:
        shutil.copyfileobj(src, out, 1 << 20)
    return []


_ATTACKER: list[Any] = []


def _attacker() -> Any:
    if not _ATTACKER:
        from geoprivacy.attacks.metadata import MetadataAttacker
        _ATTACKER.append(MetadataAttacker())
    return _ATTACKER[0]


def audit(path: str) -> FileResult:
    """The metadata attacker's verdict on ``path`` (every file treated as named explicitly)."""
    return audit_file(path, AuditOptions(attackers=[_attacker()], explicit={path}))


def leftovers(result: FileResult) -> list[str]:
    """Why ``result`` is not a verified-clean output: remaining evidence and read errors."""
    out = [f"{e.where} ({e.kind.value})" for e in result.evidence]
    out += [f"not fully readable: {e}" for e in result.errors]
    return out


# ------------------------------------------------------------------------------ outputs

def output_path(path: str, settings: StripSettings) -> str:
    """Where the cleaned copy of ``path`` goes."""
    if settings.in_place:
        return os.path.realpath(path)       # a symlink's target is cleaned, the link kept
    if settings.output_dir is None:
        stem, ext = os.path.splitext(path)
        return f"{stem}.cleaned{ext}"
    absolute = os.path.abspath(path)
    for root in settings.roots:
        base = os.path.abspath(root)
        if absolute.startswith(base.rstrip(os.sep) + os.sep):
            return os.path.join(settings.output_dir, os.path.relpath(absolute, base))
    return os.path.join(settings.output_dir, os.path.basename(path))


@contextlib.contextmanager
def staged(target: str, private: bool) -> Iterator[tuple[str, BinaryIO]]:
    """A temp file for the output: beside ``target`` (renamed by the caller), or, for a dry run,
    in the system temp folder. Always removed unless the caller renamed it."""
    directory = tempfile.gettempdir() if private else \
        (os.path.dirname(os.path.abspath(target)) or ".")
    suffix = os.path.splitext(target)[1]
    from geoprivacy.fsutil import temp_file   # removed on Ctrl-C even mid-creation
    with temp_file(directory, ".geoprivacy-strip-", suffix) as (fd, tmp):
        with os.fdopen(fd, "wb") as fh:
            yield tmp, fh


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


# ------------------------------------------------------------------------------ one file

def strip_file(path: str, settings: StripSettings, table: dict[str, Writer] | None = None,
               claimed: set[str] | None = None) -> StripResult:
    """Clean one input; never raises for a bad file (problems become the result's errors)."""
    started = time.perf_counter()
    table = writers() if table is None else table
    try:
        item = identify(path)
    except (OSError, GeoprivacyError) as exc:
        return StripResult(path, "unknown", "unknown", ERROR,
                           errors=(f"cannot read file: {getattr(exc, 'strerror', None) or exc}",))
    if item.kind == "sidecar":
        from geoprivacy.defenses.strip.sidecars import strip_sidecar
        result = strip_sidecar(item, settings, claimed)
    elif item.container == "empty":
        result = StripResult(path, item.kind, item.container, ERROR,
                             errors=("empty file (0 bytes): nothing to clean",))
    elif item.container not in table and _attacker().supports(item.container) \
            and not settings.all_metadata:
        result = strip_media(item, copy_verbatim, settings, claimed)
    elif item.container not in table:
        if path in settings.explicit or item.kind in ("photo", "video"):
            reason = (f"no strip writer for {item.container} yet" if item.kind in ("photo", "video")
                      else "not a photo, video or location sidecar geoprivacy can clean "
                           "(format detected by content)")
            result = StripResult(path, item.kind, item.container, ERROR, errors=(reason,))
        else:
            result = StripResult(path, item.kind, item.container, SKIPPED)
    else:
        result = strip_media(item, table[item.container], settings, claimed)
    return StripResult(**{**result.__dict__, "seconds": time.perf_counter() - started})


def check_target(path: str, target: str, settings: StripSettings,
                 claimed: set[str] | None) -> str | None:
    """Why ``target`` may not be written, or None."""
    if settings.in_place:
        return None
    key = os.path.abspath(target)
    if claimed is not None:
        if key in claimed:
            return f"output {target} would also be written for another input"
        claimed.add(key)
    if _same_file(path, target) or os.path.abspath(path) == key:
        return "output would overwrite the input; use --in-place to clean it in place"
    if os.path.lexists(target) and not settings.force:
        return f"output {target} exists; use --force to overwrite it"
    return None


def strip_media(item: MediaItem, writer: Writer, settings: StripSettings,
                 claimed: set[str] | None) -> StripResult:
    base: dict[str, Any] = {"input": item.path, "container": item.container, "kind": item.kind}
    found: tuple[str, ...] = ()
    if settings.audit_input:
        found = tuple(e.where for e in audit(item.path).evidence)
    target = output_path(item.path, settings)
    refused = check_target(item.path, target, settings, claimed)
    if refused:
        return StripResult(**base, status=ERROR, found=found, errors=(refused,))
    if not settings.dry_run and not settings.in_place:
        try:
            os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
        except OSError as exc:
            return StripResult(**base, status=ERROR, found=found,
                               errors=(f"cannot create output folder: {exc.strerror or exc}",))
    try:
        with staged(target, private=settings.dry_run) as (tmp, fh):
            removed = writer(item.path, fh, settings.options)
            fh.flush()
            if settings.in_place:       # the original is about to be replaced: make it durable
                os.fsync(fh.fileno())
            fh.close()
            method = "structural"
            if REMUX_MARKER in removed:
                method = "remux-fallback"
            removed = list(dict.fromkeys(r for r in removed if r != REMUX_MARKER))
            after = audit(tmp)
            left = leftovers(after)
            if left:
                return StripResult(**base, status=ERROR, removed=tuple(removed), found=found,
                                   remaining=tuple(left), method=method,
                                   errors=("output still leaks or cannot be verified: "
                                           + "; ".join(left[:5]),))
            status = CLEANED if removed else CLEAN
            if settings.dry_run:
                return StripResult(**base, status=PLANNED if removed else CLEAN, output=target,
                                   removed=tuple(removed), found=found, verified=True,
                                   method=method)
            if settings.in_place and not removed:
                return StripResult(**base, status=CLEAN, output=item.path, found=found,
                                   verified=True, method=method)
            with contextlib.suppress(OSError):
                shutil.copymode(item.path, tmp)
            notes = _other_links(target) if settings.in_place else ()
            os.replace(tmp, target)
            return StripResult(**base, status=status, output=target, removed=tuple(removed),
                               found=found, verified=True, method=method, notes=notes)
    except GeoprivacyError as exc:
        return StripResult(**base, status=ERROR, found=found, errors=(f"cannot clean: {exc}",))
    except OSError as exc:
        return StripResult(**base, status=ERROR, found=found,
                           errors=(f"cannot write output: {exc.strerror or exc}",))
    except (ValueError, LookupError, OverflowError, UnicodeError, RecursionError,
            MemoryError, TypeError, ZeroDivisionError) as exc:
        return StripResult(**base, status=ERROR, found=found,
                           errors=(f"cannot clean: malformed structure ({type(exc).__name__}: "
                                   f"{exc})",))


def _other_links(path: str) -> tuple[str, ...]:
    """A warning when ``path`` has other hard links: replacing it leaves them the original, with
    its location (a photo library, a backup, a deduplicated folder)."""
    try:
        links = os.stat(path).st_nlink
    except OSError:
        return ()
    if links < 2:
        return ()
    return (f"this file had {links - 1} other hard link(s): they still hold the original, "
            "location included (find them with: find / -samefile FILE)",)


def strip_paths(paths: list[str], settings: StripSettings,
                progress: Callable[[list[str]], Any] | None = None) -> list[StripResult]:
    """Every file's result, in input order; outputs never collide."""
    table = writers()
    claimed: set[str] = set()
    iterator = progress(paths) if progress else paths
    return [strip_file(p, settings, table, claimed) for p in iterator]


__all__ = ["StripSettings", "StripResult", "StripReport", "strip_file", "strip_paths", "audit",
           "writers", "output_path", "CLEANED", "CLEAN", "PLANNED", "DELETED", "SKIPPED",
           "LEAK", "ERROR"]
