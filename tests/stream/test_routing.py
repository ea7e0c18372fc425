"""Routing workouts to enrichment actors by their calorie lookup key (pure units, no Ray):
every key has exactly one owner, the same in every process and every batch, and a batch
split over actors is joined back into one result for the producer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter

from fitray.calories.resolve import ActivityResolver
from fitray.config import Settings, get_settings
from fitray.schema import RawWorkout, parse_enriched
from fitray.stream.enrich import (
    EnrichmentWorker,
    KeyRouter,
    encode_workouts,
    submit_enrichment,
)
from fitray.stream.source import WorkoutGenerator

REPO = Path(__file__).resolve().parents[2]


@cache
def settings() -> Settings:
    return get_settings()


@cache
def router() -> KeyRouter:
    s = settings()
    return KeyRouter(
        ActivityResolver.from_files(s.mapping_path, s.exercises_file, s.activities_file)
    )


@cache
def workouts(count: int = 20_000, seed: int = 5) -> list[RawWorkout]:
    generator = WorkoutGenerator.from_settings(settings(), seed=seed, count=count)
    return [w for batch in generator.batches(500) for w in batch.workouts]


@pytest.mark.parametrize("actors", [2, 3, 4, 7])
def test_every_key_has_exactly_one_owner_so_actor_caches_are_disjoint(actors: int) -> None:
    owners: dict[Any, set[int]] = defaultdict(set)
    for batch_size in (500, 37):  # whatever batches the workouts come in
        batches = [workouts()[i : i + batch_size] for i in range(0, 20_000, batch_size)]
        for batch in batches:
            for index, part in enumerate(router().split(batch, actors)):
                for w in part:
                    owners[router().key(w)].add(index)
    assert all(len(found) == 1 for found in owners.values())
    assert len({next(iter(found)) for found in owners.values()}) == actors  # all get keys


def test_a_split_keeps_every_workout_once_in_input_order() -> None:
    batch = workouts()[:500]
    parts = router().split(batch, 3)
    assert sorted(w.event_id for part in parts for w in part) == sorted(w.event_id for w in batch)
    for part in parts:
        positions = [batch.index(w) for w in part]
        assert positions == sorted(positions)


def test_the_key_is_what_the_request_sends() -> None:
    w = workouts()[0]
    resolved = router().resolver.resolve(w.title).activity
    heavier = w.model_copy(update={"weight_lb": w.weight_lb + 0.4})  # rounds to the same lb
    assert router().key(w) == (resolved.strip().lower(), w.weight_lb)
    assert router().key(heavier) == router().key(w)
    assert router().owner(heavier, 5) == router().owner(w, 5)


def test_ownership_is_the_same_in_another_process_with_another_hash_seed() -> None:
    code = (
        "from tests.stream.test_routing import router, workouts\n"
        "print(''.join(str(router().owner(w, 4)) for w in workouts()[:2000]))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True,
                          text=True, check=True, timeout=120)  # fmt: skip
    here = "".join(str(router().owner(w, 4)) for w in workouts()[:2000])
    assert done.stdout.strip() == here


def test_keys_spread_the_work_where_activities_alone_would_not() -> None:
    """The generator's data has one activity in 37 % of workouts: hashing the whole key gives
    two actors similar shares; hashing the activity alone could not."""
    shares = Counter(router().owner(w, 2) for w in workouts())
    assert min(shares.values()) / len(workouts()) > 0.4
    activities = Counter(router().key(w)[0] for w in workouts())  # type: ignore[index]
    assert max(activities.values()) / len(workouts()) > 0.3


@given(st.text(min_size=1, max_size=40).filter(str.strip))
def test_titles_that_do_not_resolve_are_routed_by_their_text(title: str) -> None:
    w = workouts()[0].model_copy(update={"title": f"no such exercise {title}"})
    owner = router().owner(w, 3)
    assert 0 <= owner < 3 and router().owner(w, 3) == owner
    assert router().key(w) is None


@dataclass
class Method:
    name: str
    calls: list[tuple[str, tuple[Any, ...]]]

    def remote(self, *args: Any) -> tuple[str, tuple[Any, ...]]:
        self.calls.append((self.name, args))
        return (self.name, args)


@dataclass
class FakeActor:
    """A pure double of an actor handle: records ``.enrich.remote`` calls."""

    calls: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.enrich = Method("enrich", self.calls)


def test_round_robin_sends_each_batch_whole_to_the_next_actor() -> None:
    actors = [FakeActor(), FakeActor()]
    batch = workouts()[:10]
    for turn in range(4):
        submit_enrichment(actors, batch, None, turn)
    assert [len(a.calls) for a in actors] == [2, 2]
    assert all(call == ("enrich", (encode_workouts(batch),)) for a in actors for call in a.calls)


def test_key_routing_splits_a_batch_into_one_call_per_owner() -> None:
    """Each actor gets its part, once; the refs come back in the actors' order, for the
    producer to take in one call (no actor joins them first)."""
    actors = [FakeActor(), FakeActor(), FakeActor()]
    batch = workouts()[:300]
    refs = submit_enrichment(actors, batch, router(), turn=4)
    parts = router().split(batch, 3)
    for actor, part in zip(actors, parts, strict=True):
        assert actor.calls == [("enrich", (encode_workouts(part),))]
    assert refs == [("enrich", (encode_workouts(part),)) for part in parts]


def test_a_batch_owned_by_one_actor_is_one_call() -> None:
    actors = [FakeActor(), FakeActor()]
    first = workouts()[0]
    batch = [first] * 5
    refs = submit_enrichment(actors, batch, router(), turn=0)
    assert refs == [("enrich", (encode_workouts(batch),))]
    assert sum(len(a.calls) for a in actors) == 1


async def test_a_batch_shipped_as_json_is_enriched_as_the_workouts_themselves() -> None:
    """What the actor gets from ``encode_workouts`` is validated back into the same workouts:
    the same records come out as from the objects."""
    settings_ = settings().model_copy(update={"calorie_rate_limit_per_s": 1e6})
    batch = workouts()[:50]
    worker = EnrichmentWorker(settings_, provider="table")
    try:
        shipped, given_ = await worker.enrich(encode_workouts(batch)), await worker.enrich(batch)
    finally:
        await worker.close()
    assert [k for k, _ in shipped.records] == [w.event_id for w in batch]
    strip = [json.loads(v) | {"fetched_at": None, "attempts": None} for _, v in shipped.records]
    again = [json.loads(v) | {"fetched_at": None, "attempts": None} for _, v in given_.records]
    assert strip == again
    assert all(parse_enriched(v).event_id == k for k, v in shipped.records)


@given(st.lists(st.builds(
    RawWorkout,
    event_id=st.uuids().map(str),
    title=st.text(min_size=1, max_size=30).filter(str.strip),
    weight_lb=st.floats(50, 500),
    duration_min=st.floats(0.01, 1440),
    event_time=st.datetimes(timezones=st.just(UTC)),
), max_size=20))  # fmt: skip
def test_encoded_workouts_validate_back_to_themselves(batch: list[RawWorkout]) -> None:
    assert TypeAdapter(list[RawWorkout]).validate_json(encode_workouts(batch), strict=True) == batch
