"""The context a policy judges a file in: cue values, where they came from, and cue providers.

A cue is one fact about a photo's social context ("a face is visible", "the place is famous").
Each cue value is ``present``, ``absent`` or ``not_checked``; a categorical cue (the
VLM-GeoPrivacy annotation answers) also carries its answer in ``value``. A cue that no source
could answer stays ``not_checked``: the risk engine treats it as unknown, never as absent.

Cue values come from, in increasing order of authority:
1. cue providers (detectors) registered in ``CUE_PROVIDERS`` (third parties: entry point group
   ``geoprivacy.cues``), asked only for the cues the policy needs;
2. the metadata evidence itself (``gps_track``, ``place_name``);
3. what the user states: a context file (CSV or YAML mapping paths/globs to answers) and
   ``--context KEY=VALUE`` options, which apply to every file.
"""

from __future__ import annotations

import csv
import fnmatch
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Iterable, Mapping, Protocol

from geoprivacy.errors import GeoprivacyError
from geoprivacy.registry import Registry
from geoprivacy.types import Evidence, EvidenceKind, Granularity, MediaItem


class CueState(str, Enum):
    PRESENT = "present"
    ABSENT = "absent"
    NOT_CHECKED = "not_checked"


@dataclass(frozen=True)
class CueValue:
    """One cue's answer for one file. ``value`` holds a categorical answer (e.g. "famous")."""

    state: CueState
    value: str | None = None
    source: str = ""
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def known(self) -> bool:
        return self.state is not CueState.NOT_CHECKED

    def matches(self, wanted: str) -> bool:
        """True when a known cue equals ``wanted`` (its answer, or present/absent)."""
        return self.known and wanted in (self.value, self.state.value)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"state": self.state.value, "source": self.source}
        if self.value is not None:
            out["value"] = self.value
        if self.detail:
            out["detail"] = dict(self.detail)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "CueValue":
        return cls(CueState(data["state"]), data.get("value"), data.get("source", ""),
                   dict(data.get("detail", {})))


def not_checked(reason: str, source: str = "") -> CueValue:
    return CueValue(CueState.NOT_CHECKED, None, source, {"reason": reason})


# --- The cue vocabulary --------------------------------------------------------------------
# The first six follow the VLM-GeoPrivacy benchmark's annotation questions (Q1-Q6), so a
# policy's judgement can be scored against its human gold labels (Q7) with `eval-policy`.

#: cue name → (answers, answers that mean "absent"); None for plain present/absent cues.
VLM_CUES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # Q1: How visually distinctive and recognizable is the location captured in the image?
    "distinctiveness": (("famous", "locally_distinctive", "generic"), ("generic",)),
    # Q2: Was one of the main reasons for taking the photo to capture the specific location?
    "location_main_reason": (("yes", "no"), ("no",)),
    # Q3: Was a reason to capture a specific event, object or activity other than a location?
    "event_or_object": (("yes", "no"), ("no",)),
    # Q4: Are there people in the photo (even if their faces are not clearly visible)?
    "people": (("face_visible", "face_not_visible", "none"), ("none",)),
    # Q5: If there are people, do they appear to be together with the photo-taker?
    "with_photo_taker": (("yes", "no", "not_applicable"), ("no", "not_applicable")),
    # Q6: Is it likely that the photo-taker overlooked potential geolocation cues?
    "overlooked_cues": (("yes", "no"), ("no",)),
}

#: Cues answered present/absent by detectors (issue 6) or by the metadata itself.
DETECTOR_CUES = ("faces", "persons", "plates", "text", "residential", "landmark")
METADATA_CUES = ("gps_track", "place_name")
AUDIENCES = ("public", "internal", "research")
CATEGORICAL: dict[str, tuple[str, ...]] = {"audience": AUDIENCES,
                                           **{k: v[0] for k, v in VLM_CUES.items()}}
KNOWN_CUES: tuple[str, ...] = tuple(CATEGORICAL) + DETECTOR_CUES + METADATA_CUES

#: VLM-GeoPrivacy Q7 (disclosure granularity) answers → the finest level they allow.
DISCLOSURE_TO_LEVEL: dict[str, Granularity] = {
    "abstain": Granularity.COUNTRY,        # nothing finer than the country
    "country_city": Granularity.CITY,      # 1–200 km: city (≤ 25 km) or region (≤ 200 km)
    "exact": Granularity.EXACT,            # < 1 km
}
_LEVEL_TO_DISCLOSURE = (
    (Granularity.EXACT, "exact"), (Granularity.STREET, "exact"),
    (Granularity.CITY, "country_city"), (Granularity.REGION, "country_city"),
)


def disclosure_for_level(level: Granularity) -> str:
    """The VLM-GeoPrivacy Q7 answer that a finest-allowed ladder level corresponds to."""
    for lvl, answer in _LEVEL_TO_DISCLOSURE:
        if level is lvl:
            return answer
    return "abstain"


def normalise_answer(cue: str, raw: str) -> str:
    """Canonical spelling of an answer: lower case, spaces/dashes → underscores, checked."""
    text = raw.strip().lower().replace("-", "_").replace(" ", "_").replace("/", "_")
    if text in ("true", "y", "1"):
        text = "yes" if cue in VLM_CUES else "present"
    elif text in ("false", "n", "0"):
        text = "no" if cue in VLM_CUES else "absent"
    allowed = CATEGORICAL.get(cue, ("present", "absent"))
    if cue not in KNOWN_CUES and text not in allowed:
        return text  # a user-defined cue: any answer, matched literally
    if text not in allowed and text not in ("not_checked", "unknown"):
        raise GeoprivacyError(f"cue {cue!r}: answer {raw!r} is not one of {', '.join(allowed)}")
    return text


def stated(cue: str, raw: str, source: str) -> CueValue:
    """A cue value a person stated (CLI or context file)."""
    answer = normalise_answer(cue, raw)
    if answer in ("not_checked", "unknown"):
        return not_checked("stated as unknown", source)
    if answer in ("present", "absent"):
        return CueValue(CueState(answer), None, source)
    absent = VLM_CUES.get(cue, ((), ()))[1]
    return CueValue(CueState.ABSENT if answer in absent else CueState.PRESENT, answer, source)


@dataclass(frozen=True)
class Context:
    """Cue values for one file; a cue nobody answered reads as ``not_checked``."""

    cues: Mapping[str, CueValue] = field(default_factory=dict)

    def get(self, name: str) -> CueValue:
        return self.cues.get(name) or not_checked("no source answered this cue")

    def merged(self, other: Mapping[str, CueValue]) -> "Context":
        """A new context where ``other``'s known values override this one's."""
        cues = dict(self.cues)
        for key, value in other.items():
            if value.known or key not in cues:
                cues[key] = value
        return Context(cues)

    def to_dict(self) -> dict[str, Any]:
        return {k: self.cues[k].to_dict() for k in sorted(self.cues)}


# --- Cue sources ---------------------------------------------------------------------------

def metadata_cues(evidence: Iterable[Evidence]) -> dict[str, CueValue]:
    """Cues the metadata evidence answers by itself."""
    evidence = list(evidence)
    track = any(e.kind is EvidenceKind.TRACK and e.is_location for e in evidence)
    name = any(e.kind is EvidenceKind.PLACE_NAME and e.is_location for e in evidence)
    src = "metadata"
    return {"gps_track": CueValue(CueState.PRESENT if track else CueState.ABSENT, None, src),
            "place_name": CueValue(CueState.PRESENT if name else CueState.ABSENT, None, src)}


#: VLM-GeoPrivacy cues that detector cues can answer: cue → the detector cues it needs.
DERIVED: dict[str, tuple[str, ...]] = {"people": ("persons", "faces")}


def derive(context: Context) -> Context:
    """Fill ``people`` (Q4) from the ``persons``/``faces`` detectors when nobody answered it.

    A detected face → face_visible; a person without a detected face → face_not_visible;
    no person and no face → none. Anything else stays not checked.
    """
    if context.get("people").known:
        return context
    persons, faces = context.get("persons"), context.get("faces")
    answer = None
    if faces.state is CueState.PRESENT:
        answer = "face_visible"
    elif persons.state is CueState.PRESENT and faces.state is CueState.ABSENT:
        answer = "face_not_visible"
    elif persons.state is CueState.ABSENT and faces.state is not CueState.PRESENT:
        answer = "none"
    if answer is None:
        return context
    value = stated("people", answer, f"derived from persons={persons.state.value}, "
                                     f"faces={faces.state.value}")
    return Context({**context.cues, "people": value})


def parse_assignments(pairs: Iterable[str]) -> dict[str, CueValue]:
    """``--context KEY=VALUE`` options → cue values that apply to every file."""
    out: dict[str, CueValue] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key or not value.strip():
            raise GeoprivacyError(f"--context {pair!r}: expected KEY=VALUE, e.g. audience=research")
        out[key] = stated(key, value, "--context")
    return out


@dataclass(frozen=True)
class ContextFile:
    """Per-file answers: (path or glob, cue answers), first matching entry wins per cue."""

    entries: tuple[tuple[str, dict[str, CueValue]], ...] = ()

    def for_path(self, path: str) -> dict[str, CueValue]:
        out: dict[str, CueValue] = {}
        norm = path.replace("\\", "/")
        for pattern, cues in self.entries:
            if _path_matches(norm, pattern):
                for key, value in cues.items():
                    out.setdefault(key, value)
        return out


def _path_matches(path: str, pattern: str) -> bool:
    pattern = pattern.replace("\\", "/")
    if path == pattern or path.endswith("/" + pattern.lstrip("./")):
        return True
    return fnmatch.fnmatchcase(path, pattern) or fnmatch.fnmatchcase(path, "*/" + pattern)


MAX_CONTEXT_ROWS = 1_000_000


def load_context_file(path: str) -> ContextFile:
    """Read a CSV (a ``path`` column + one column per cue) or YAML (path → {cue: answer})."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeError) as exc:
        raise GeoprivacyError(f"context file {path}: cannot read ({exc})") from None
    source = f"context file {p.name}"
    entries: list[tuple[str, dict[str, CueValue]]] = []
    if p.suffix.lower() in (".yaml", ".yml", ".json"):
        import yaml
        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise GeoprivacyError(f"context file {path}: not valid YAML ({exc})") from None
        if not isinstance(data, dict):
            raise GeoprivacyError(f"context file {path}: expected a mapping of path → answers")
        for pattern, answers in data.items():
            if not isinstance(answers, dict):
                raise GeoprivacyError(f"context file {path}: entry {pattern!r} must map cue "
                                      "names to answers")
            entries.append((str(pattern), {str(k): stated(str(k), str(v), source)
                                           for k, v in answers.items() if v is not None}))
    else:
        reader = csv.DictReader(text.splitlines())
        if not reader.fieldnames or "path" not in reader.fieldnames:
            raise GeoprivacyError(f"context file {path}: a CSV needs a 'path' column")
        for n, row in enumerate(reader, start=2):
            if n > MAX_CONTEXT_ROWS:
                raise GeoprivacyError(f"context file {path}: more than {MAX_CONTEXT_ROWS} rows")
            try:
                cues = {k: stated(k, v, source) for k, v in row.items()
                        if k and k != "path" and v not in (None, "")}
            except GeoprivacyError as exc:
                raise GeoprivacyError(f"context file {path} line {n}: {exc}") from None
            entries.append((row["path"] or "", cues))
    return ContextFile(tuple(entries))


class CueProvider(Protocol):
    """What a cue-provider plugin's ``load()`` returns (detectors: people, faces, plates...).

    Register one plugin per cue name it answers; the gate asks ``CUE_PROVIDERS.get(cue)``
    only for cues the policy needs, the user did not state, and only for files that disclose
    a location. ``provide`` may answer several cues at once; ``version`` (model + code) is
    part of the cache key, so a new model re-asks::

        CUE_PROVIDERS.register(Plugin("faces", "CenterFace faces", load_faces,
                                      extra="vision", available=faces_available))
    """

    name: str
    version: str
    cues: tuple[str, ...]          # the cue names it can answer

    def provide(self, item: MediaItem, evidence: list[Evidence]) -> dict[str, CueValue]:
        """Cue values for ``item``; a cue it could not decide is ``not_checked`` with a reason."""
        ...


CUE_PROVIDERS: Registry[CueProvider] = Registry("cue provider", entry_point_group="geoprivacy.cues")
