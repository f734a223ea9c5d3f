"""Random values for initial states, weights and delays.

Initial states come from a seeded numpy generator (:func:`child_rng`); synaptic weights and
delays drawn from a distribution come from the projection's counter-based stream
(:func:`projection_key`, :func:`draw_synaptic`): one number per synapse keyed by its
``(post, pre)`` pair, so they do not depend on how the connectivity was generated or stored.
"""

from __future__ import annotations

import hashlib
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

    code = 1  # snnsim.kernels.connect.DIST_UNIFORM

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.uniform(self.low, self.high, n)

    @property
    def params(self) -> tuple[float, float]:
        return float(self.low), float(self.high)

    def check(self, where: str, field: str) -> None:
        if not _finite_numbers(self.low, self.high) or self.high < self.low:
            raise NetworkError(where, field, f"Uniform needs finite low <= high, got ({self.low!r}, {self.high!r})")


@dataclass(frozen=True)
class Normal:
    """Normal with ``mean`` and standard deviation ``std``."""

    mean: float
    std: float

    code = 2  # snnsim.kernels.connect.DIST_NORMAL

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.normal(self.mean, self.std, n)

    @property
    def params(self) -> tuple[float, float]:
        return float(self.mean), float(self.std)

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


def projection_key(seed: int, *names: str) -> int:
    """The counter-based stream key (uint64 as a Python int) of a projection: depends only on
    the network seed and the names (a 64-bit BLAKE2 digest of them, so streams of different
    projections do not collide)."""
    from snnsim.kernels.rng import stream_key
    digest = hashlib.blake2b("\x00".join(names).encode(), digest_size=8).digest()
    return int(stream_key(np.uint64(int(seed) % 2**64), np.uint64(int.from_bytes(digest, "little"))))


#: dtype of per-synapse values drawn from a distribution (compact storage; see docs/architecture.md)
SYNAPTIC_DTYPE = np.float32


def draw_synaptic(dist, key: int, tag: int, indptr: np.ndarray, indices: np.ndarray, where: str,
                  field: str) -> np.ndarray:
    """One value per synapse of the CSR ``(indptr, indices)`` drawn from ``dist``, keyed by the
    synapse's ``(post, pre)`` pair in stream ``sub_key(key, tag)``; float32 ``(n_synapses,)``."""
    from snnsim.kernels import connect as kc
    dist.check(where, field)
    out = np.empty(len(indices), SYNAPTIC_DTYPE)
    a, b = dist.params
    kc.draw_values(dist.code, a, b, np.uint64(kc.sub_key(np.uint64(key), np.uint64(tag))), indptr, indices, out)
    return out


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
