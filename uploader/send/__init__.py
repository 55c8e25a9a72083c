"""Sending: the network seam, what answers mean, pacing, the circuit breaker and the pool."""
