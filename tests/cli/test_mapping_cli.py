"""``fitray mapping check`` through Typer's runner, on the real data and on small files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fitray.cli.mapping import Show, app
from fitray.exceptions import TerminalError

ROOT = Path(__file__).resolve().parents[2]
REAL = [
    "--mapping",
    str(ROOT / "mapping" / "mapping.json"),
    "--exercises",
    str(ROOT / "data" / "megaGymDataset.csv"),
    "--activities",
    str(ROOT / "data" / "activities.csv"),
]
EXERCISES_HEADER = ",Title,Desc,Type,BodyPart,Equipment,Level,Rating,RatingDesc\n"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def small(tmp_path: Path) -> list[str]:
    """Three titles: one exact, one by fallback, one the mapping knows but the CSV does not."""
    mapping = tmp_path / "mapping.json"
    mapping.write_text(
        json.dumps({"Crunch": "Calisthenics, light", "Box jump": "Plyometrics", "Ghost": "Nope"})
    )
    exercises = tmp_path / "exercises.csv"
    exercises.write_text(
        EXERCISES_HEADER
        + "0,Crunch,,Strength,Abdominals,Body Only,Beginner,,\n"
        + "1,Box jump,,Plyometrics,Quadriceps,Other,Intermediate,,\n"
        + "2,Crunch,,Strength,Abdominals,Body Only,Beginner,,\n"
    )
    return [
        "--mapping",
        str(mapping),
        "--exercises",
        str(exercises),
        "--activities",
        str(ROOT / "data" / "activities.csv"),
    ]


REAL_COUNTS = {"exact": 2680, "normalised": 220, "fallback": 9, "unresolved": 0}
REAL_FAMILY_MATCHES = 41


def _line_with(output: str, *parts: str) -> str | None:
    return next((line for line in output.splitlines() if all(p in line for p in parts)), None)


def test_real_data_all_resolve(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")  # one table row per line
    result = runner.invoke(app, ["check", *REAL])
    assert result.exit_code == 0, result.output
    for label, count in [
        ("resolved exactly", REAL_COUNTS["exact"]),
        ("resolved by normalisation", REAL_COUNTS["normalised"]),
        ("of which within an activity family", REAL_FAMILY_MATCHES),
        ("resolved by fallback", REAL_COUNTS["fallback"]),
        ("unresolved", 0),
        ("total (distinct titles)", 2909),
    ]:
        assert _line_with(result.output, label, f" {count} "), label
    # A fallback, listed by default: the mapping value next to the activity chosen for it.
    assert _line_with(result.output, "mapping value", "activity")
    row = _line_with(result.output, "Two-way swing")
    assert row is not None
    assert row.index("'Kettlebell training'") < row.index("Weight lifting, light workout")
    assert "fallback on Type='Strength'" in row
    assert "Muscle Beach Sprint" not in result.output  # a family match: --show family


def test_real_data_json(runner: CliRunner) -> None:
    result = runner.invoke(app, ["check", *REAL, "--json", "--show", "all"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["counts"] == REAL_COUNTS
    assert report["family_matches"] == REAL_FAMILY_MATCHES
    assert report["total"] == len(report["titles"]) == 2909
    methods = {row["method"] for row in report["titles"]}
    assert methods == {"exact", "normalised", "fallback"}
    rows = {row["title"]: row for row in report["titles"]}
    assert rows["Two-way swing"] == {
        "title": "Two-way swing",
        "method": "fallback",
        "mapping_value": "Kettlebell training",
        "activity": "Weight lifting, light workout",
        "family": None,
        "detail": "mapping value 'Kettlebell training' names no activity in the calorie table; "
        "fallback on Type='Strength' Equipment='Kettlebells' Level='Intermediate'",
    }
    assert (
        rows["Rope Crunch"]["mapping_value"]
        == "Calisthenics, vigorous, pushups, situps\u2026\u3002"
    )
    assert rows["Rope Crunch"]["method"] == "exact"


def test_show_fallback_json_lists_every_fallback_with_its_value(runner: CliRunner) -> None:
    result = runner.invoke(app, ["check", *REAL, "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)["titles"]
    assert len(rows) == REAL_COUNTS["fallback"]
    assert all(row["method"] == "fallback" and row["mapping_value"] for row in rows)
    values = {row["title"]: row["mapping_value"] for row in rows}
    assert values["Car driver"] == "Driving, passenger car"
    assert values["Holman Weighted Narrow-Mid-Wide Hop"] == "Plyometrics."


def test_show_family_lists_the_family_matches(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    as_json = runner.invoke(app, ["check", *REAL, "--json", "--show", "family"])
    assert as_json.exit_code == 0, as_json.output
    rows = {row["title"]: row for row in json.loads(as_json.output)["titles"]}
    assert len(rows) == REAL_FAMILY_MATCHES
    assert all(row["method"] == "normalised" and row["family"] for row in rows.values())
    sprint = rows["Muscle Beach Sprint"]
    assert (sprint["mapping_value"], sprint["activity"], sprint["family"]) == (
        "Running, sprinting",
        "Running, general",
        "running",
    )
    assert "family running" in sprint["detail"]
    monkeypatch.setenv("COLUMNS", "250")
    table = runner.invoke(app, ["check", *REAL, "--show", "family"])
    row = _line_with(table.output, "Dumbbell shadow boxing")
    assert row is not None
    assert "normalised (family boxing)" in row
    assert row.index("'Boxing, shadow boxing'") < row.index("Boxing, sparring")
    assert "Two-way swing" not in table.output  # fallbacks are not family matches


def test_defaults_come_from_settings(runner: CliRunner) -> None:
    result = runner.invoke(app, ["check", "--json", "--show", "none"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["titles"] == []


def test_only_csv_titles_are_checked(runner: CliRunner, small: list[str]) -> None:
    # "Ghost" is in the mapping only (unresolvable) but check covers the CSV's titles.
    ok = runner.invoke(app, ["check", *small, "--json"])
    assert ok.exit_code == 0, ok.output
    report = json.loads(ok.output)
    assert report["counts"] == {"exact": 1, "normalised": 0, "fallback": 1, "unresolved": 0}
    assert [row["title"] for row in report["titles"]] == ["Box jump"]


def test_unresolved_titles_fail_the_check(
    runner: CliRunner, small: list[str], tmp_path: Path
) -> None:
    activities = tmp_path / "activities.csv"
    # A calorie table holding none of the fallback activities: "Box jump" has nowhere to go.
    activities.write_text(
        "activity,kcal_per_hour_130lb,kcal_per_hour_155lb,kcal_per_hour_180lb,kcal_per_hour_205lb\n"
        '"Calisthenics, light",207,246,286,326\n'
    )
    args = [*small[:4], "--activities", str(activities)]
    result = runner.invoke(app, ["check", *args, "--show", "unresolved"])
    assert result.exit_code == 1
    assert "Box jump" in result.output
    assert "Crunch" not in result.output
    as_json = runner.invoke(app, ["check", *args, "--json"])
    assert as_json.exit_code == 1
    report = json.loads(as_json.stdout)
    assert report["counts"]["unresolved"] == 1
    assert report["titles"][0]["method"] == "unresolved"
    assert report["titles"][0]["mapping_value"] == "Plyometrics"


@pytest.mark.parametrize("show", ["none", "unresolved"])
def test_show_none_lists_nothing(runner: CliRunner, small: list[str], show: str) -> None:
    result = runner.invoke(app, ["check", *small, "--show", show])
    assert result.exit_code == 0, result.output
    assert "Box jump" not in result.output


def test_missing_file_is_a_terminal_error(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["check", "--mapping", str(tmp_path / "absent.json")])
    assert isinstance(result.exception, TerminalError)
    assert "absent.json" in str(result.exception)
    assert "\n" not in str(result.exception)


def test_bad_json_is_a_terminal_error(runner: CliRunner, small: list[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{'single': 'quotes'}")
    result = runner.invoke(app, ["check", "--mapping", str(bad), *small[2:]])
    assert isinstance(result.exception, TerminalError)
    assert "not valid JSON" in str(result.exception)


def test_help(runner: CliRunner) -> None:
    assert runner.invoke(app, []).exit_code in (0, 2)  # no_args_is_help
    result = runner.invoke(app, ["check", "--help"])
    assert result.exit_code == 0
    assert "--show" in result.output
    assert "--json" in result.output
    for choice in Show:
        assert choice.value in result.output
    assert "activity family" in result.output
