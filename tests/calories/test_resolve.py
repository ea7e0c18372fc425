"""Exercise title -> activity resolution, on hand-written messy cases and on the real data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fitray.calories import resolve
from fitray.calories.normalise import activity_key, answer_candidates, loose_key, title_key
from fitray.calories.resolve import (
    FALLBACK_RULES,
    ActivityResolver,
    ExerciseProfile,
    MappingFileError,
    Resolution,
    UnresolvedActivity,
    check_mapping,
    load_exercise_profiles,
    load_mapping,
)
from fitray.calories.table import ActivityRow, ActivityTable, load_activity_table
from fitray.exceptions import TerminalError

ROOT = Path(__file__).resolve().parents[2]
ACTIVITIES_CSV = ROOT / "data" / "activities.csv"
EXERCISES_CSV = ROOT / "data" / "megaGymDataset.csv"
MAPPING_JSON = ROOT / "mapping" / "mapping.json"
CALISTHENICS_VIGOROUS = "Calisthenics, vigorous, pushups, situps\u2026"


@pytest.fixture(scope="module")
def table() -> ActivityTable:
    return load_activity_table(ACTIVITIES_CSV)


@pytest.fixture(scope="module")
def real_resolver() -> ActivityResolver:
    return ActivityResolver.from_files(MAPPING_JSON, EXERCISES_CSV, ACTIVITIES_CSV)


def profile(
    title: str, type_: str = "Strength", equipment: str = "Dumbbell", level: str = "Intermediate"
) -> ExerciseProfile:
    return ExerciseProfile(title, type_, "Abdominals", equipment, level)


def one(
    table: ActivityTable, value: str | None, exercise: ExerciseProfile | None = None
) -> Resolution:
    """Resolve the title "T" mapped to ``value`` (and, if given, in the exercise CSV)."""
    exercises = {"T": exercise} if exercise else {}
    return ActivityResolver(table, {"T": value}, exercises).resolve("T")


# -- exact and normalised ------------------------------------------------------------------


@pytest.mark.parametrize("value", ["Calisthenics, light", "  calisthenics, LIGHT  "])
def test_exact_is_case_insensitive_and_trimmed(table: ActivityTable, value: str) -> None:
    assert one(table, value) == Resolution(
        "T", "Calisthenics, light", "exact", f"mapping value {value!r}"
    )


@pytest.mark.parametrize(
    "value",
    [
        "Calisthenics, vigorous, pushups, situps...",  # three dots for the ellipsis
        "Calisthenics, vigorous, pushups, situps",  # no ellipsis at all
        "Calisthenics, vigorous, pushups, situps.",  # a trailing full stop
        "Calisthenics, vigorous, pushups, situps\u2026\u3002",  # ellipsis and '。'
        "Calisthenics,   vigorous,  pushups, situps \u2026",  # extra spaces
        '"Calisthenics, vigorous, pushups, situps\u2026"',  # quoted
        "\u201cCalisthenics, vigorous, pushups, situps\u201d",  # typographic quotes
        "Calisthenics, vigorous.",  # a partial name with a dot
    ],
)
def test_punctuation_variants_resolve_by_normalisation(table: ActivityTable, value: str) -> None:
    resolution = one(table, value)
    assert (resolution.activity, resolution.method) == (CALISTHENICS_VIGOROUS, "normalised")


def test_ideographic_full_stop(table: ActivityTable) -> None:
    assert one(table, "Jumping rope, fast\u3002").activity == "Jumping rope, fast"


@pytest.mark.parametrize(
    ("value", "activity"),
    [
        (
            "The best match for the exercise 'HM Comet' is \"Jumping rope, fast.\"",
            "Jumping rope, fast",
        ),
        (
            "The best match for the exercise 'X' would be \"Martial arts, kick boxing\".",
            "Martial arts, kick boxing",
        ),
        (
            "The best match for the exercise 'Sleeping Crab' is Calisthenics, light.",
            "Calisthenics, light",
        ),
        ("The best match is 'Rowing machine, moderate'.", "Rowing machine, moderate"),
        ("Children's games fit best: \u2018Jumping rope, slow\u2019.", "Jumping rope, slow"),
        (
            "No precise match; like 'Circuit training' ... the best is "
            '"Circuit training, minimal rest."',
            "Circuit training, minimal rest",
        ),
    ],
)
def test_sentence_answers_give_the_quoted_activity(
    table: ActivityTable, value: str, activity: str
) -> None:
    resolution = one(table, value)
    assert (resolution.activity, resolution.method) == (activity, "normalised")


@pytest.mark.parametrize(
    ("value", "activity"),
    [
        ("Calisthenics, vigorous", CALISTHENICS_VIGOROUS),  # a prefix of one name
        ("Twist", "Ballet, twist, jazz, tap"),  # inside one name
        ("Leisure bicycling", "Cycling, <10 mph, leisure bicycling"),
        ("Stretching", "Stretching, hatha yoga"),  # 2 match: the one it starts wins
        ("Stationary cycling", "Stationary cycling, light"),  # 5 start with it: shortest
        ("yoga", "Stretching, hatha yoga"),
        ("Walking, 3.0 mph, moderate", "Walking 3.0 mph, moderate"),  # comma ignored
        ("Kickboxing", "Martial arts, kick boxing"),  # space ignored
    ],
)
def test_partial_names_pick_one_full_name(table: ActivityTable, value: str, activity: str) -> None:
    resolution = one(table, value)
    assert (resolution.activity, resolution.method) == (activity, "normalised")
    assert len(table.search(resolution.activity)) >= 1


def test_too_short_a_fragment_does_not_match(table: ActivityTable) -> None:
    with pytest.raises(UnresolvedActivity, match="names no activity"):
        one(table, "ng")


# -- fallback and unresolved ---------------------------------------------------------------


@pytest.mark.parametrize("value", ["Pilates", "", "   ", None, "Running, sprinting"])
def test_unusable_mapping_value_falls_back_on_the_exercise(
    table: ActivityTable, value: str | None
) -> None:
    resolution = one(table, value, profile("T", "Stretching"))
    assert (resolution.activity, resolution.method) == ("Mild stretching", "fallback")
    assert "Type='Stretching'" in resolution.detail


def test_title_missing_from_the_mapping_but_in_the_csv_falls_back(table: ActivityTable) -> None:
    resolver = ActivityResolver(table, {}, {"Box jump": profile("Box jump", "Plyometrics")})
    resolution = resolver.resolve(" box JUMP ")
    assert resolution == Resolution(
        "Box jump",
        CALISTHENICS_VIGOROUS,
        "fallback",
        "title is not in the mapping; fallback on Type='Plyometrics' Equipment='Dumbbell' "
        "Level='Intermediate'",
    )


@pytest.mark.parametrize(
    ("type_", "equipment", "level", "activity"),
    [
        ("Strength", "Barbell", "Intermediate", "Weight lifting, light workout"),
        ("Strength", "Barbell", "Expert", "Weight lifting, body building, vigorous"),
        ("strength", "body only", "beginner", "Calisthenics, light"),
        ("Strength", "Body Only", "Expert", CALISTHENICS_VIGOROUS),
        ("Powerlifting", "Barbell", "Beginner", "Weight lifting, body building, vigorous"),
        (
            "Olympic Weightlifting",
            "Barbell",
            "Intermediate",
            "Weight lifting, body building, vigorous",
        ),
        ("Strongman", "Other", "Intermediate", "Weight lifting, body building, vigorous"),
        ("Cardio", "Machine", "Intermediate", "Stationary cycling, moderate"),
        ("Cardio", "Other", "Beginner", "Aerobics, general"),
        ("Stretching", "Foam Roll", "Beginner", "Mild stretching"),
        ("Plyometrics", "Body Only", "Expert", CALISTHENICS_VIGOROUS),
        ("Dance", "", "", "Health club exercise"),  # a Type the rules do not know
    ],
)
def test_fallback_rule_table(
    table: ActivityTable, type_: str, equipment: str, level: str, activity: str
) -> None:
    assert one(table, "Unknown sport", profile("T", type_, equipment, level)).activity == activity


def test_every_fallback_activity_is_in_the_table(table: ActivityTable) -> None:
    names = set(table.names)
    assert {rule.activity for rule in FALLBACK_RULES} <= names
    assert FALLBACK_RULES[-1].type is None  # the catch-all rule is last


def test_no_rule_matching_is_unresolved(table: ActivityTable) -> None:
    resolver = ActivityResolver(table, {}, {"T": profile("T", "Dance")}, rules=())
    with pytest.raises(UnresolvedActivity, match="no fallback rule fits"):
        resolver.resolve("T")


def test_fallback_skips_rules_whose_activity_the_table_lacks() -> None:
    small = ActivityTable([ActivityRow("Health club exercise", (1.0, 2.0, 3.0, 4.0))])
    resolver = ActivityResolver(small, {}, {"T": profile("T", "Stretching")})
    assert resolver.resolve("T").activity == "Health club exercise"
    empty = ActivityResolver(ActivityTable([]), {}, {"T": profile("T", "Stretching")})
    with pytest.raises(UnresolvedActivity, match="no fallback rule fits"):
        empty.resolve("T")


def test_unknown_activity_and_title_not_in_csv_is_unresolved(table: ActivityTable) -> None:
    with pytest.raises(UnresolvedActivity, match="'Pilates' names no activity") as caught:
        one(table, "Pilates")
    assert isinstance(caught.value, TerminalError)
    assert caught.value.title == "T"


def test_unknown_title_is_unresolved(real_resolver: ActivityResolver) -> None:
    with pytest.raises(UnresolvedActivity) as caught:
        real_resolver.resolve("Underwater basket weaving")
    message = str(caught.value)
    assert "'Underwater basket weaving'" in message
    assert "not in the mapping" in message
    assert "not in the exercise CSV" in message
    assert "\n" not in message


@pytest.mark.parametrize("title", ["", "   ", "\t\n"])
def test_empty_title_is_unresolved(real_resolver: ActivityResolver, title: str) -> None:
    with pytest.raises(UnresolvedActivity, match="the title is empty"):
        real_resolver.resolve(title)


# -- the real data -------------------------------------------------------------------------


def test_real_mapping_every_title_resolves_or_is_reported(
    real_resolver: ActivityResolver, table: ActivityTable
) -> None:
    titles = real_resolver.exercise_titles
    report = check_mapping(real_resolver, titles)
    names = set(table.names)
    distinct = {title_key(t) for t in load_exercise_profiles(EXERCISES_CSV)}
    assert report.total == len(distinct) == len(titles) == 2909
    assert sum(report.counts.values()) == report.total
    assert all(r.activity in names for r in report.resolutions)
    assert {title for title, _ in report.unresolved} | {r.title for r in report.resolutions} == {
        *titles
    }
    # The figures of the data as shipped; a change in the mapping shows up here first.
    assert report.counts == {"exact": 2653, "normalised": 243, "fallback": 13, "unresolved": 0}


def test_real_messy_values(real_resolver: ActivityResolver) -> None:
    expected = {
        "Holman Daisy Cutter": ("Jumping rope, fast", "normalised"),
        "HM Fragon": ("Martial arts, kick boxing", "normalised"),
        "Lateral shuffle": ("Circuit training, minimal rest", "normalised"),
        "HM Walking Frankenstein": ("Walking 3.0 mph, moderate", "normalised"),
        "Holman Pilates Single-Leg Stretch": ("Calisthenics, light", "fallback"),
        "Partner plank band row": ("Circuit training, minimal rest", "exact"),
    }
    for title, (activity, method) in expected.items():
        resolution = real_resolver.resolve(title)
        assert (resolution.activity, resolution.method) == (activity, method), title


def test_check_mapping_deduplicates_titles(real_resolver: ActivityResolver) -> None:
    report = check_mapping(real_resolver, ["Crunch", " crunch ", "CRUNCH", "nope", "Nope "])
    assert report.total == 2
    assert [r.title for r in report.resolutions] == ["Crunch"]
    assert [title for title, _ in report.unresolved] == ["nope"]
    assert report.counts["unresolved"] == 1


# -- files ---------------------------------------------------------------------------------


def test_missing_files_are_one_line_terminal_errors(tmp_path: Path) -> None:
    for call in (
        lambda: load_mapping(tmp_path / "absent.json"),
        lambda: load_exercise_profiles(tmp_path / "absent.csv"),
        lambda: ActivityResolver.from_files(MAPPING_JSON, EXERCISES_CSV, tmp_path / "a.csv"),
    ):
        with pytest.raises(TerminalError, match=r"absent|a\.csv") as caught:
            call()
        assert "\n" not in str(caught.value)


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", "\xff"])
def test_bad_mapping_json(tmp_path: Path, text: str) -> None:
    path = tmp_path / "mapping.json"
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(MappingFileError, match="mapping"):
        load_mapping(path)


def test_mapping_non_text_values_count_as_empty(tmp_path: Path) -> None:
    path = tmp_path / "mapping.json"
    path.write_text(json.dumps({"A": "Yoga", "B": None, "C": 3}))
    assert load_mapping(path) == {"A": "Yoga", "B": None, "C": None}


def test_exercise_csv_missing_columns(tmp_path: Path) -> None:
    path = tmp_path / "ex.csv"
    path.write_text("Title,Type\nCrunch,Strength\n")
    with pytest.raises(MappingFileError, match="missing columns"):
        load_exercise_profiles(path)


def test_exported_members() -> None:
    assert all(hasattr(resolve, name) for name in resolve.__all__)


# -- properties ----------------------------------------------------------------------------

_MESSY = st.text(
    alphabet=st.sampled_from(list("aB .,'\"\u2026\u3002\u201c\u2019\t\u00df\u0130\ufb01x9")),
    max_size=30,
)


@given(st.one_of(st.text(max_size=40), _MESSY))
def test_normalisation_is_idempotent(text: str) -> None:
    assert activity_key(activity_key(text)) == activity_key(text)
    assert loose_key(loose_key(text)) == loose_key(text)
    assert title_key(title_key(text)) == title_key(text)


@given(st.one_of(st.text(max_size=60), _MESSY))
def test_answer_candidates_start_with_the_value(text: str) -> None:
    candidates = answer_candidates(text)
    assert len(candidates) == len(set(candidates))
    assert all(activity_key(c) for c in candidates)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=200)
@given(
    value=st.one_of(st.text(max_size=40), _MESSY),
    type_=st.sampled_from(["Strength", "Cardio", "Zumba"]),
)
def test_resolve_never_leaves_the_table(table: ActivityTable, value: str, type_: str) -> None:
    resolution = one(table, value, profile("T", type_))
    assert resolution.activity in set(table.names)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=200)
@given(
    index=st.integers(min_value=0, max_value=2908),
    upper=st.lists(st.booleans(), min_size=80, max_size=80),
    left=st.sampled_from(["", " ", "\t", "  \n"]),
    right=st.sampled_from(["", " ", "\t ", "\r\n"]),
)
def test_whitespace_and_case_variants_resolve_identically(
    real_resolver: ActivityResolver, index: int, upper: list[bool], left: str, right: str
) -> None:
    title = real_resolver.exercise_titles[index]
    variant = "".join(c.upper() if up else c.lower() for c, up in zip(title, upper, strict=False))
    variant = left + variant + title[len(upper) :].swapcase() + right
    assert real_resolver.resolve(variant) == real_resolver.resolve(title)
