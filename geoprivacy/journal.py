"""A strip batch's journal, so ``strip --resume`` continues where a crash or Ctrl-C stopped it.

Append-only JSON lines: a ``begin`` line naming the output an input is about to be written to,
then one line per finished input: its absolute path and sha256, the output path and the
output's sha256. Each line is written with one ``write`` on an ``O_APPEND`` descriptor (the
finished line right after the output was renamed into place), so a killed process loses at
most the line of the file it was busy with: that file is simply done again, and the ``begin``
line proves an output left under its name by that interrupted run is ours to replace. A torn
last line is ignored.

On resume an input is skipped only when its journal line still verifies: the input (or, for
``--in-place``, the cleaned file now in its place) has the recorded hash and the output exists
with the recorded hash. Anything else is cleaned again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from typing import Any, Callable, Iterable

from geoprivacy.defenses.strip.engine import CLEAN, CLEANED, DELETED, StripResult, StripSettings, \
    output_path, strip_file, writers

DEFAULT_NAME = ".geoprivacy-strip-journal.jsonl"
DONE = (CLEANED, CLEAN, DELETED)


def sha256(path: str) -> str | None:
    """The file's sha256, or None when it cannot be read."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()


def default_path(settings: StripSettings) -> str:
    """Beside the outputs when they go to a folder, else in the current folder."""
    return os.path.join(settings.output_dir or ".", DEFAULT_NAME)


class Journal:
    """Finished inputs of earlier runs, and an append handle for this one."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.entries: dict[str, dict[str, Any]] = {}
        self.begun: set[str] = set()           # outputs an earlier run started writing
        try:
            with open(path, encoding="utf-8") as fh:
                for line in fh:
                    try:
                        entry = json.loads(line)
                    except ValueError:
                        continue                       # a line torn by a crash
                    if isinstance(entry, dict) and isinstance(entry.get("begin"), str):
                        self.begun.add(str(entry.get("output")))
                    elif isinstance(entry, dict) and isinstance(entry.get("input"), str):
                        self.entries[entry["input"]] = entry
        except FileNotFoundError:
            pass
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def done(self, path: str, settings: StripSettings) -> dict[str, Any] | None:
        """The journal line of ``path`` when it still verifies, else None."""
        entry = self.entries.get(os.path.abspath(path))
        if entry is None or entry.get("status") not in DONE:
            return None
        now = sha256(path)
        if now is None or now not in (entry.get("sha256"), entry.get("output_sha256")
                                      if settings.in_place else None):
            return None
        output = entry.get("output")
        if entry.get("status") == DELETED:
            return entry if not output or not os.path.exists(output) else None
        if not isinstance(output, str) or sha256(output) != entry.get("output_sha256"):
            return None
        return entry

    def settings_for(self, path: str, settings: StripSettings) -> StripSettings:
        """``settings``, with ``force`` when the existing output is the one this journal
        recorded for ``path`` (ours to replace, e.g. after the input changed)."""
        entry = self.entries.get(os.path.abspath(path))
        target = output_path(path, settings)
        if entry is None and os.path.abspath(target) in self.begun and not settings.in_place \
                and os.path.exists(target):
            return dataclasses.replace(settings, force=True)   # left by the interrupted run
        if entry is None or settings.force or settings.in_place or not os.path.exists(target) \
                or entry.get("output") != os.path.abspath(target) \
                or sha256(target) != entry.get("output_sha256"):
            return settings
        return dataclasses.replace(settings, force=True)

    def begin(self, path: str, settings: StripSettings) -> None:
        """Say which output ``path`` is about to be written to (before anything is written)."""
        line = {"begin": os.path.abspath(path),
                "output": os.path.abspath(output_path(path, settings))}
        os.write(self._fd, (json.dumps(line, ensure_ascii=False) + "\n").encode("utf-8"))

    def record(self, result: StripResult, input_sha256: str | None) -> None:
        if result.status not in DONE:
            return
        entry = {"input": os.path.abspath(result.input), "sha256": input_sha256,
                 "output": os.path.abspath(result.output) if result.output else None,
                 "output_sha256": sha256(result.output) if result.output else None,
                 "status": result.status, "removed": list(result.removed),
                 "container": result.container, "kind": result.kind}
        os.write(self._fd, (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8"))

    def close(self) -> None:
        os.close(self._fd)


def strip_with_journal(paths: list[str], settings: StripSettings, journal_path: str, *,
                       resume: bool,
                       progress: Callable[[list[str]], Iterable[str]] | None = None
                       ) -> list[StripResult]:
    """``strip_paths`` that records each finished input and, with ``resume``, skips the inputs
    the journal proves done."""
    journal = Journal(journal_path)
    table = writers()
    claimed: set[str] = set()
    results: list[StripResult] = []
    try:
        for path in (progress(paths) if progress else paths):
            entry = journal.done(path, settings) if resume and not settings.dry_run else None
            if entry is not None:
                claimed.add(os.path.abspath(output_path(path, settings)))
                results.append(StripResult(path, str(entry.get("container", "unknown")),
                                           str(entry.get("kind", "unknown")), entry["status"],
                                           output=entry.get("output"),
                                           removed=tuple(entry.get("removed") or ()),
                                           verified=True, method="resumed"))
                continue
            before = None if settings.dry_run else sha256(path)
            chosen = journal.settings_for(path, settings)
            if not settings.dry_run and not settings.in_place:
                journal.begin(path, settings)
            result = strip_file(path, chosen, table, claimed)
            if not settings.dry_run:
                journal.record(result, before)
            results.append(result)
    finally:
        journal.close()
    return results


__all__ = ["Journal", "strip_with_journal", "default_path", "sha256"]
