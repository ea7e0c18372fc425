"""The API health tracker: what an outage is, and how it is said to a person (pure units)."""

from __future__ import annotations

from fitray.calories.health import ApiHealth


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_an_outage_lasts_from_the_first_failure_to_the_next_answer() -> None:
    clock = Clock()
    health = ApiHealth("http://api/v1/caloriesburned", clock=clock)
    assert health.down_for() == 0 and health.describe(300, "closed") is None
    health.failed("server error (503)")
    clock.now += 12
    health.failed("timeout")
    assert health.down_for() == 12
    text = health.describe(300, "open")
    assert text is not None
    assert "waiting for the calorie API at http://api/v1/caloriesburned" in text
    assert "failing for 12 s of at most 300 s (2 failed calls, last: timeout)" in text
    assert "circuit breaker open" in text
    health.succeeded()
    assert health.down_for() == 0 and health.describe(300, "closed") is None


def test_answered_since_tells_a_workout_s_failure_from_the_api_s() -> None:
    clock = Clock()
    health = ApiHealth("x", clock=clock)
    first_failure = health.now()
    assert not health.answered_since(first_failure)  # nothing answered yet: an outage
    clock.now += 1
    health.succeeded()  # another workout got an answer
    assert health.answered_since(first_failure)
    assert not health.answered_since(health.now())
