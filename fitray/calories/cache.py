"""A bounded LRU of calorie answers, keyed on exactly what the request sends.

The key is ``(activity lowercased and trimmed, weight as sent)`` and the value kcal per hour
with the moment it was fetched. The weight is the one the request carries
(:func:`sent_weight`: rounded to ``step_lb``, whole pounds by default, then to the 6
significant digits the HTTP provider writes), so two workouts whose requests would be the
same share one entry, and two whose requests differ never do. Duration is deliberately *not*
in the key: kcal/hour is MET x body mass, independent of how long the workout lasted, and
the client derives ``total_kcal = kcal_per_hour * duration_min / 60``.

Rounding to whole pounds moves kcal/hour by half a pound's worth at most: kcal/hour is about
proportional to weight, so by 0.5 / weight (1 % at 50 lb, 0.1 % at 500 lb; on the calorie
table at most 1.03 times that, its columns being proportional only to within rounding) --
the order of the API's own rounding of kcal/hour to whole kilocalories. The key space is then
activities x 451 weights, which :func:`key_space` counts to size the cache.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime

from fitray.schema import MAX_WEIGHT_LB, MIN_WEIGHT_LB

__all__ = ["EXACT_KEY_SPACE_PER_ACTIVITY", "CachedQuote", "QuoteCache", "cache_key",
           "key_space", "sent_weight"]  # fmt: skip

CacheKey = tuple[str, float]
CachedQuote = tuple[float, datetime]  # (kcal per hour, fetched at)
EXACT_KEY_SPACE_PER_ACTIVITY = 4500  # weights per activity counted when sent as given (0.1 lb)


def sent_weight(weight_lb: float, step_lb: float = 1.0) -> float:
    """The weight a request carries: the nearest multiple of ``step_lb`` (halves up), written
    with 6 significant digits; ``step_lb=0``: as given. Rounding never takes a weight out of
    the API's 50-500 lb; a weight already outside stays as it is, for the API to refuse."""
    if step_lb > 0:
        rounded = math.floor(weight_lb / step_lb + 0.5) * step_lb
        inside = MIN_WEIGHT_LB <= weight_lb <= MAX_WEIGHT_LB
        weight_lb = min(max(rounded, MIN_WEIGHT_LB), MAX_WEIGHT_LB) if inside else rounded
    return float(format(weight_lb, ".6g"))


def key_space(activities: int, step_lb: float = 1.0) -> int:
    """How many distinct keys requests can have: activities x the weights :func:`sent_weight`
    gives from 50 to 500 lb (451 at whole pounds)."""
    if step_lb <= 0:
        return activities * EXACT_KEY_SPACE_PER_ACTIVITY
    low, high = (math.floor(w / step_lb + 0.5) for w in (MIN_WEIGHT_LB, MAX_WEIGHT_LB))
    return activities * (high - low + 1)


def cache_key(activity: str, weight_lb: float) -> CacheKey:
    return activity.strip().lower(), float(weight_lb)


class QuoteCache:
    """Least-recently-used, at most ``maxsize`` entries (0 turns caching off); entries older
    than ``ttl_s`` (None: never) count as absent, so the next lookup asks the API again."""

    def __init__(
        self,
        maxsize: int = 4096,
        *,
        ttl_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if maxsize < 0:
            raise ValueError(f"maxsize must be >= 0, got {maxsize}")
        if ttl_s is not None and ttl_s <= 0:
            raise ValueError(f"ttl_s must be > 0 or None, got {ttl_s}")
        self.maxsize, self.ttl_s, self._clock = maxsize, ttl_s, clock
        self.hits = 0
        self.misses = 0
        self.expired = 0
        self._entries: OrderedDict[CacheKey, tuple[float, datetime, float]] = OrderedDict()
        self._activity_keys: dict[str, str] = {}  # activity as given -> as keyed

    def __len__(self) -> int:
        return len(self._entries)

    def key(self, activity: str, weight_lb: float) -> CacheKey:
        """:func:`cache_key`, with the activity's normalisation remembered (a hot path)."""
        name = self._activity_keys.get(activity)
        if name is None:
            name = self._activity_keys[activity] = activity.strip().lower()
        return name, float(weight_lb)

    def lookup(self, key: CacheKey) -> CachedQuote | None:
        """The cached quote (counts a hit), else None (counts a miss; drops an expired one)."""
        entry = self._entries.get(key)
        if entry is not None and (self.ttl_s is None or self._clock() < entry[2]):
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[0], entry[1]
        if entry is not None:
            del self._entries[key]
            self.expired += 1
        self.misses += 1
        return None

    def store(self, key: CacheKey, kcal_per_hour: float, fetched_at: datetime) -> None:
        if self.maxsize == 0:
            return
        expires = math.inf if self.ttl_s is None else self._clock() + self.ttl_s
        self._entries[key] = (kcal_per_hour, fetched_at, expires)
        self._entries.move_to_end(key)
        while len(self._entries) > self.maxsize:
            self._entries.popitem(last=False)

    def get(self, activity: str, weight_lb: float) -> float | None:
        """kcal per hour if cached (counts a hit), else None (counts a miss)."""
        quote = self.lookup(self.key(activity, weight_lb))
        return None if quote is None else quote[0]

    def put(self, activity: str, weight_lb: float, kcal_per_hour: float) -> None:
        self.store(self.key(activity, weight_lb), kcal_per_hour, _now())

    @property
    def hit_rate(self) -> float:
        lookups = self.hits + self.misses
        return self.hits / lookups if lookups else 0.0


def _now() -> datetime:
    return datetime.now(UTC)
