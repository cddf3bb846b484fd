"""Exponential backoff with jitter for reconnects (sans-I/O: it only computes delays)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from serenity.errors import ConfigError

__all__ = ["Backoff"]


@dataclass(slots=True, kw_only=True)
class Backoff:
    """Delays that grow exponentially up to a cap, each shortened by a random jitter.

    The n-th delay (from 0) is ``min(max_s, initial_s * factor**n) * u`` with ``u`` drawn
    uniformly from ``[1 - jitter, 1]``, so many clients cut off together do not reconnect
    together, and no delay exceeds the cap. :meth:`reset` after a connection has been
    healthy starts again from ``initial_s``.

    Parameters
    ----------
    initial_s
        The first delay before jitter, > 0.
    max_s
        The cap, >= ``initial_s``.
    factor
        Growth per attempt, >= 1.
    jitter
        Fraction of each delay that is random, in ``[0, 1]``.
    rng
        The random source; pass a seeded ``random.Random`` for repeatable delays.

    Raises
    ------
    ConfigError
        When a parameter is out of range.
    """

    initial_s: float = 0.5
    max_s: float = 30.0
    factor: float = 2.0
    jitter: float = 0.5
    rng: random.Random = field(default_factory=random.Random, repr=False)
    attempts: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if not self.initial_s > 0:
            raise ConfigError(f"backoff initial_s must be > 0, was {self.initial_s!r}")
        if not self.max_s >= self.initial_s:
            raise ConfigError(f"backoff max_s must be >= initial_s, was {self.max_s!r}")
        if not self.factor >= 1:
            raise ConfigError(f"backoff factor must be >= 1, was {self.factor!r}")
        if not 0 <= self.jitter <= 1:
            raise ConfigError(f"backoff jitter must be in [0, 1], was {self.jitter!r}")

    def next_delay(self) -> float:
        """Return the delay before the next attempt, in seconds, and count the attempt."""
        ceiling = self.initial_s * self.factor ** min(self.attempts, 64)
        base = min(self.max_s, ceiling)
        self.attempts += 1
        return base * (1.0 - self.jitter * self.rng.random())

    def reset(self) -> None:
        """Start again from the first delay."""
        self.attempts = 0
