"""A circuit breaker per upstream: stop sending to an upstream that keeps failing.

Closed: calls go through; ``failure_threshold`` consecutive failures open it. Open: calls
are refused at once for ``reset_after`` seconds. Half-open: one trial call decides.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class CircuitBreaker:
    def __init__(
        self,
        failure_threshold: int,
        reset_after: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failure_threshold = failure_threshold
        self.reset_after = reset_after
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trial = False

    @property
    def state(self) -> str:
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at >= self.reset_after:
            return "half_open"
        return "open"

    def allow(self) -> bool:
        state = self.state
        if state == "closed":
            return True
        if state == "half_open" and not self._trial:
            self._trial = True
            return True
        return False

    def retry_after(self) -> float:
        if self._opened_at is None:
            return 0.0
        return max(0.0, self.reset_after - (self._clock() - self._opened_at))

    def success(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._trial = False

    def failure(self) -> None:
        self._failures += 1
        if self._trial or self._failures >= self.failure_threshold:
            self._opened_at = self._clock()
        self._trial = False
