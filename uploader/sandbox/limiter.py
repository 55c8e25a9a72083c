"""The sandbox's rate limiter: a sliding window over the times of admitted requests."""

from __future__ import annotations

import math
from collections import deque


class SlidingWindow:
    """At most `limit` admitted requests in any trailing `window_s`.

    A sliding log rather than fixed buckets, so a client pacing evenly just under the rate
    is never refused (a fixed one-second bucket refuses bursts that straddle a boundary).
    A refused request does not enter the log: a 429 costs the client nothing but time.
    Pure: the caller passes `now`, so tests drive it with made-up times.
    """

    def __init__(self, rate_per_s: float) -> None:
        if not rate_per_s > 0:
            raise ValueError("rate_per_s must be greater than 0")
        # Below one request a second the window widens so the average rate still holds.
        if rate_per_s >= 1:
            self.limit, self.window_s = math.floor(rate_per_s), 1.0
        else:
            self.limit, self.window_s = 1, 1.0 / rate_per_s
        self._admitted: deque[float] = deque()

    def try_admit(self, now: float) -> float:
        """Admit a request at `now` and return 0.0, or return the seconds until a slot frees."""
        horizon = now - self.window_s
        while self._admitted and self._admitted[0] <= horizon:
            self._admitted.popleft()
        if len(self._admitted) < self.limit:
            self._admitted.append(now)
            return 0.0
        return max(self._admitted[0] - horizon, 1e-9)


def retry_after_seconds(wait_s: float) -> int:
    """Retry-After as whole seconds: rounded up, and never 0 (0 invites an instant retry)."""
    return max(1, math.ceil(wait_s))
