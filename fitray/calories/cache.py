"""A bounded LRU of calorie answers, keyed on what the answer depends on.

The key is ``(activity lowercased and trimmed, weight_lb)`` and the value kcal per hour.
Duration is deliberately *not* in the key: kcal/hour is MET x body mass, independent of how
long the workout lasted, and ``total_kcal = kcal_per_hour * duration_min / 60`` is derived
by the client. Keying on duration too would only split one answer into many cache entries
(durations vary far more than activities and weights) and multiply API calls.
"""

from __future__ import annotations

from collections import OrderedDict

__all__ = ["QuoteCache", "cache_key"]

CacheKey = tuple[str, float]


def cache_key(activity: str, weight_lb: float) -> CacheKey:
    return activity.strip().lower(), float(weight_lb)


class QuoteCache:
    """Least-recently-used, at most ``maxsize`` entries; ``maxsize=0`` turns caching off."""

    def __init__(self, maxsize: int = 4096) -> None:
        if maxsize < 0:
            raise ValueError(f"maxsize must be >= 0, got {maxsize}")
        self.maxsize = maxsize
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[CacheKey, float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, activity: str, weight_lb: float) -> float | None:
        """kcal per hour if cached (counts a hit), else None (counts a miss)."""
        key = cache_key(activity, weight_lb)
        value = self._entries.get(key)
        if value is None:
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return value

    def put(self, activity: str, weight_lb: float, kcal_per_hour: float) -> None:
        if self.maxsize == 0:
            return
        key = cache_key(activity, weight_lb)
        self._entries[key] = kcal_per_hour
        self._entries.move_to_end(key)
        while len(self._entries) > self.maxsize:
            self._entries.popitem(last=False)

    @property
    def hit_rate(self) -> float:
        lookups = self.hits + self.misses
        return self.hits / lookups if lookups else 0.0
