"""The circuit breaker: when most recent requests fail on the server side, pause, then stop."""

from __future__ import annotations

from collections import deque

from uploader.settings import CircuitPolicy


class Circuit:
    """Opens when most recent requests failed on the server side; each opening pauses longer."""

    def __init__(self, policy: CircuitPolicy) -> None:
        self._policy = policy
        self._recent: deque[bool] = deque(maxlen=policy.window)
        self.openings = 0

    def record(self, server_failed: bool) -> float | None:
        """Note one answer; return a pause in seconds when the circuit opens, else None."""
        self._recent.append(server_failed)
        if len(self._recent) < self._policy.window:
            return None
        failures = sum(self._recent)
        if failures / len(self._recent) < self._policy.failure_ratio:
            if failures == 0:
                self.openings = 0  # a healthy window forgives earlier storms
            return None
        self._recent.clear()
        self.openings += 1
        return self._policy.pause_s * 2 ** (self.openings - 1)

    @property
    def exhausted(self) -> bool:
        return self.openings > self._policy.max_pauses
