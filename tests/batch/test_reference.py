"""The exercise CSV from the object store: uploaded if missing, then read with the one reader."""

from __future__ import annotations

from fitray.batch.reference import read_reference
from fitray.clients.s3 import s3_client
from fitray.config import Settings
from tests.test_exercises import HEADER


def test_real_csv_is_deduplicated_by_title(stack: Settings, s3_bucket: str) -> None:
    client = s3_client(stack)
    local = stack.exercises_file
    table = read_reference(client, s3_bucket, "ref/gym.csv", local)
    assert client.head_object(Bucket=s3_bucket, Key="ref/gym.csv")["ContentLength"] > 0
    titles = table["title"].to_pylist()
    assert len(titles) == len(set(titles)) == 2909
    assert set(table["level"].to_pylist()) == {"Beginner", "Intermediate", "Expert"}
    assert table["rating"].null_count > 0  # empty ratings stay null, not 0


def test_object_store_copy_wins_over_local(stack: Settings, s3_bucket: str) -> None:
    client = s3_client(stack)
    client.put_object(Bucket=s3_bucket, Key="gym.csv", Body=HEADER + "Row,,Cardio,,,Expert,,\n")
    table = read_reference(client, s3_bucket, "gym.csv", stack.exercises_file)
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
