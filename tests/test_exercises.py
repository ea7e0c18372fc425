"""The one exercise-CSV reader: strict, one row per title, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from fitray.exercises import BadExerciseData, parse_exercises, read_exercises

ROOT = Path(__file__).resolve().parents[1]
HEADER = "Title,Desc,Type,BodyPart,Equipment,Level,Rating,RatingDesc\n"


def test_real_csv_has_one_row_per_title_and_keeps_empty_ratings_null() -> None:
    table = read_exercises(ROOT / "data" / "megaGymDataset.csv")
    titles = table["title"].to_pylist()
    assert len(titles) == len(set(titles)) == 2909
    assert set(table["level"].to_pylist()) == {"Beginner", "Intermediate", "Expert"}
    assert table["rating"].null_count > 0


def test_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(BadExerciseData, match=r"cannot read exercise CSV .*absent\.csv"):
        read_exercises(tmp_path / "absent.csv")


def test_first_row_of_a_duplicate_title_wins() -> None:
    csv = HEADER + "A,first,,,,Beginner,1.0,\nB,,,,,Expert,,\n A ,second,,,,Expert,2.0,\n"
    table = parse_exercises(csv.encode())
    assert table["title"].to_pylist() == ["A", "B"]
    assert table["description"].to_pylist() == ["first", None]


@pytest.mark.parametrize(
    ("csv", "expected"),
    [
        ("Title,Desc\nA,b\n", "missing column(s) Type, BodyPart"),
        (HEADER + "A,d,t,b,e,Expert,abc,\n", "invalid value 'abc'"),
        (HEADER + "A,d,t\n", "Expected 8 columns, got 3"),
        (HEADER + "A,,,,,Expert,1,\n,,,,,Expert,1,\n", "1 bad row(s), first at data row 2"),
        (HEADER + "A,,,,,Expert,11.5,\n", "Rating outside 0-10"),
    ],
)
def test_bad_csv_is_one_clear_terminal_line(csv: str, expected: str) -> None:
    with pytest.raises(BadExerciseData) as info:
        parse_exercises(csv.encode(), source="s3://bucket/gym.csv")
    message = str(info.value)
    assert expected in message
    assert message.startswith("s3://bucket/gym.csv: ")
    assert "\n" not in message
