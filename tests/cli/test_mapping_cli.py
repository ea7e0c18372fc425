"""``fitray mapping check`` through Typer's runner, on the real data and on small files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fitray.cli.mapping import app
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


def test_real_data_all_resolve(runner: CliRunner) -> None:
    result = runner.invoke(app, ["check", *REAL])
    assert result.exit_code == 0, result.output
    for label, count in [
        ("resolved exactly", 2680),
        ("resolved by normalisation", 220),
        ("resolved by fallback", 9),
        ("unresolved", 0),
        ("total (distinct titles)", 2909),
    ]:
        assert any(label in line and str(count) in line for line in result.output.splitlines())
    assert "Two-way swing" in result.output  # a fallback title, listed by default


def test_real_data_json(runner: CliRunner) -> None:
    result = runner.invoke(app, ["check", *REAL, "--json", "--show", "all"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["counts"] == {"exact": 2680, "normalised": 220, "fallback": 9, "unresolved": 0}
    assert report["total"] == len(report["titles"]) == 2909
    methods = {row["method"] for row in report["titles"]}
    assert methods == {"exact", "normalised", "fallback"}


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
