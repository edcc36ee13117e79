"""Per-key rate limits (token buckets) for the chat page's questions and the login form.

In memory and per process: a restart forgets them, which is fine for limits measured in
minutes. The table is bounded, so a flood of new keys (addresses, sessions) cannot grow it
without end: idle keys go first, then the least recently used.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable


class Throttle:
    """At most ``per_minute`` events per key, refilled evenly (a burst of ``per_minute`` first).

    >>> t = Throttle(2, clock=lambda: 0.0)
    >>> t.take("a"), t.take("a"), t.take("a") > 0, t.take("b")
    (0.0, 0.0, True, 0.0)
    """

    def __init__(
        self, per_minute: int, max_keys: int = 10_000, clock: Callable[[], float] = time.monotonic
    ):
        self.capacity = max(1, per_minute)
        self.rate = self.capacity / 60.0  # tokens per second
        self.max_keys, self.clock = max_keys, clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key → (tokens, t)
        self._lock = threading.Lock()

    def wait(self, key: str) -> float:
        """Seconds until ``key`` may act again (0.0: now); takes nothing."""
        with self._lock:
            return self._wait(self._tokens(key))

    def take(self, key: str) -> float:
        """Use one event for ``key`` if it has one left: 0.0 then, else the seconds to wait."""
        with self._lock:
            tokens = self._tokens(key)
            if tokens < 1:
                return self._wait(tokens)
            self._buckets[key] = (tokens - 1, self.clock())
            self._buckets.move_to_end(key)
            self._bound()
            return 0.0

    def _tokens(self, key: str) -> float:
        tokens, then = self._buckets.get(key, (self.capacity, self.clock()))
        return min(self.capacity, tokens + (self.clock() - then) * self.rate)

    def _wait(self, tokens: float) -> float:
        return 0.0 if tokens >= 1 else (1 - tokens) / self.rate

    def _bound(self) -> None:
        if len(self._buckets) <= self.max_keys:
            return
        full = [k for k in self._buckets if self._tokens(k) >= self.capacity]
        for key in full:  # refilled buckets carry no information
            del self._buckets[key]
        while len(self._buckets) > self.max_keys * 9 // 10:  # room for a while: scan rarely
            self._buckets.popitem(last=False)


def retry_after(seconds: float) -> str:
    """A ``Retry-After`` value: whole seconds, at least 1.

    >>> retry_after(0.2), retry_after(12.01)
    ('1', '13')
    """
    return str(max(1, math.ceil(seconds)))
