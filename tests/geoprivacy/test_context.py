"""Cue values and where they come from: --context, context files, the VLM-GeoPrivacy answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from geoprivacy.context import CUE_PROVIDERS, Context, CueState, disclosure_for_level, \
    load_context_file, not_checked, parse_assignments, stated
from geoprivacy.errors import GeoprivacyError
from geoprivacy.types import Granularity


@pytest.mark.parametrize("cue, raw, state, value", [
    ("people", "face visible", CueState.PRESENT, "face_visible"),
    ("people", "none", CueState.ABSENT, "none"),
    ("distinctiveness", "Locally-Distinctive", CueState.PRESENT, "locally_distinctive"),
    ("distinctiveness", "generic", CueState.ABSENT, "generic"),
    ("location_main_reason", "true", CueState.PRESENT, "yes"),
    ("with_photo_taker", "not applicable", CueState.ABSENT, "not_applicable"),
    ("faces", "present", CueState.PRESENT, None),
    ("faces", "0", CueState.ABSENT, None),
    ("faces", "unknown", CueState.NOT_CHECKED, None),
    ("consent", "granted", CueState.PRESENT, "granted"),        # a user-defined cue
])
def test_stated_answers(cue: str, raw: str, state: CueState, value: str | None) -> None:
    v = stated(cue, raw, "t")
    assert (v.state, v.value) == (state, value)


def test_bad_answers_are_one_line_errors() -> None:
    with pytest.raises(GeoprivacyError, match="not one of face_visible"):
        stated("people", "lots", "t")
    with pytest.raises(GeoprivacyError, match="KEY=VALUE"):
        parse_assignments(["people"])


def test_missing_cue_reads_as_not_checked_and_merge_keeps_known_values() -> None:
    c = Context({"faces": stated("faces", "absent", "a")})
    assert c.get("plates").state is CueState.NOT_CHECKED
    merged = c.merged({"faces": not_checked("detector failed")})
    assert merged.get("faces").state is CueState.ABSENT
    assert merged.merged({"faces": stated("faces", "present", "b")}).get("faces").matches(
        "present")


def test_context_files_csv_and_yaml(tmp_path: Path) -> None:
    csv = tmp_path / "ctx.csv"
    csv.write_text("path,people,faces\nphotos/a.jpg,face visible,\nphotos/*.png,none,absent\n")
    cf = load_context_file(str(csv))
    assert cf.for_path("/data/photos/a.jpg")["people"].value == "face_visible"
    assert "faces" not in cf.for_path("/data/photos/a.jpg")
    assert cf.for_path("photos/b.png")["faces"].state is CueState.ABSENT
    assert cf.for_path("other/c.jpg") == {}
    yml = tmp_path / "ctx.yaml"
    yml.write_text("'shard.tar!/*': {people: none}\n'*.jpg': {residential: present}\n")
    cf = load_context_file(str(yml))
    assert cf.for_path("x/shard.tar!/0001.jpg")["people"].value == "none"
    assert cf.for_path("x/a.jpg")["residential"].state is CueState.PRESENT
    bad = tmp_path / "bad.csv"
    bad.write_text("path,people\na.jpg,crowds\n")
    with pytest.raises(GeoprivacyError, match="line 2"):
        load_context_file(str(bad))


def test_disclosure_mapping_follows_the_benchmark() -> None:
    assert disclosure_for_level(Granularity.COUNTRY) == "abstain"
    assert disclosure_for_level(Granularity.NONE) == "abstain"
    assert disclosure_for_level(Granularity.REGION) == "country_city"
    assert disclosure_for_level(Granularity.CITY) == "country_city"
    assert disclosure_for_level(Granularity.EXACT) == "exact"


def test_cue_provider_registry_takes_third_party_entry_points() -> None:
    assert CUE_PROVIDERS.kind == "cue provider"
    with pytest.raises(GeoprivacyError, match="unknown cue provider"):
        CUE_PROVIDERS.get("no-such-cue")


@pytest.mark.parametrize("persons, faces, people", [
    ("absent", None, "none"), ("absent", "absent", "none"), ("present", "absent",
                                                              "face_not_visible"),
    (None, "present", "face_visible"), ("present", None, None), (None, None, None),
])
def test_people_is_derived_from_detectors(persons: str | None, faces: str | None,
                                          people: str | None) -> None:
    from geoprivacy.context import derive
    cues = {k: stated(k, v, "t") for k, v in (("persons", persons), ("faces", faces)) if v}
    derived = derive(Context(cues)).get("people")
    assert derived.value == people
    # a stated answer is never overridden
    assert derive(Context({**cues, "people": stated("people", "none", "t")})).get(
        "people").value == "none"
