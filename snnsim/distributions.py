"""Random values for initial states, weights and delays, drawn from a seeded generator."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from snnsim.errors import NetworkError


def _finite_numbers(*values) -> bool:
    """True if every value is a finite real number (not a bool, string or None)."""
    return all(isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, (bool, np.bool_))
               and np.isfinite(x) for x in values)


@dataclass(frozen=True)
class Uniform:
    """Uniform on ``[low, high)``."""

    low: float
    high: float

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.uniform(self.low, self.high, n)

    def check(self, where: str, field: str) -> None:
        if not _finite_numbers(self.low, self.high) or self.high < self.low:
            raise NetworkError(where, field, f"Uniform needs finite low <= high, got ({self.low!r}, {self.high!r})")


@dataclass(frozen=True)
class Normal:
    """Normal with ``mean`` and standard deviation ``std``."""

    mean: float
    std: float

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.normal(self.mean, self.std, n)

    def check(self, where: str, field: str) -> None:
        if not _finite_numbers(self.mean, self.std) or self.std < 0:
            raise NetworkError(where, field, f"Normal needs finite mean and std >= 0, got ({self.mean!r}, {self.std!r})")


Distribution = (Uniform, Normal)

#: distribution classes by name, for file readers
DISTRIBUTIONS = {"Uniform": Uniform, "Normal": Normal}


def child_rng(seed: int, *names: str) -> np.random.Generator:
    """A generator that depends only on the network seed and the given names.

    Adding a population or projection therefore never changes the random numbers
    another one draws.
    """
    keys = [zlib.crc32(name.encode()) for name in names]
    return np.random.default_rng([int(seed), *keys])


def resolve(value, n: int, rng: np.random.Generator, where: str, field: str) -> np.ndarray:
    """Turn a scalar, array or distribution into a float64 array of shape ``(n,)``."""
    if isinstance(value, Distribution):
        value.check(where, field)
        return value.sample(rng, n).astype(np.float64)
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise NetworkError(where, field, f"must be a number, an array or a distribution, got {value!r}") from None
    if arr.ndim == 0:
        arr = np.full(n, float(arr))
    if arr.shape != (n,):
        raise NetworkError(where, field, f"must be a scalar, a distribution or have shape ({n},), got shape {arr.shape}")
    if not np.isfinite(arr).all():
        i = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise NetworkError(where, field, f"must be finite, got {arr[i]!r} at index {i}")
    return arr
