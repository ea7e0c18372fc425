"""The exercise CSV from the object store: uploaded if missing, validated, deduplicated."""

from __future__ import annotations

import pytest

from fitray.batch.exceptions import BadReferenceData
from fitray.batch.reference import parse_reference_csv, read_reference
from fitray.config import Settings
from fitray.stack.objectstore import s3_client

HEADER = "Title,Desc,Type,BodyPart,Equipment,Level,Rating,RatingDesc\n"


def test_real_csv_is_deduplicated_by_title(stack: Settings, s3_bucket: str) -> None:
    client = s3_client(stack)
    local = stack.data_dir / "megaGymDataset.csv"
    table = read_reference(client, s3_bucket, "ref/gym.csv", local)
    assert client.head_object(Bucket=s3_bucket, Key="ref/gym.csv")["ContentLength"] > 0
    titles = table["title"].to_pylist()
    assert len(titles) == len(set(titles)) == 2909
    assert set(table["level"].to_pylist()) == {"Beginner", "Intermediate", "Expert"}
    assert table["rating"].null_count > 0  # empty ratings stay null, not 0


def test_object_store_copy_wins_over_local(stack: Settings, s3_bucket: str) -> None:
    client = s3_client(stack)
    client.put_object(Bucket=s3_bucket, Key="gym.csv", Body=HEADER + "Row,,Cardio,,,Expert,,\n")
    table = read_reference(client, s3_bucket, "gym.csv", stack.data_dir / "megaGymDataset.csv")
    assert table.to_pylist() == [
        {
            "title": "Row",
            "description": None,
            "exercise_type": "Cardio",
            "body_part": None,
            "equipment": None,
            "level": "Expert",
            "rating": None,
            "rating_desc": None,
        }
    ]


def test_first_row_of_a_duplicate_title_wins() -> None:
    csv = HEADER + "A,first,,,,Beginner,1.0,\nB,,,,,Expert,,\n A ,second,,,,Expert,2.0,\n"
    table = parse_reference_csv(csv.encode())
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
    with pytest.raises(BadReferenceData) as info:
        parse_reference_csv(csv.encode(), source="s3://bucket/gym.csv")
    message = str(info.value)
    assert expected in message
    assert message.startswith("s3://bucket/gym.csv: ")
    assert "\n" not in message
