"""Counter-based random numbers: ``uniform(stream_key(seed, stream), step, index)``.

A pure function of its arguments (rounds of the SplitMix64 finaliser), so the
same numbers come out whatever the chunking, thread count or backend. A
``stream`` separates independent users of one seed (each Poisson source uses the
CRC-32 of its name); ``step`` and ``index`` must be below 2**32.

Poisson counts (:func:`poisson_count`) invert the Poisson CDF at one uniform per
``(step, index)``, so a count is as reproducible as a uniform; a mean ``lam`` above
:data:`POISSON_PART` is split into equal parts, part ``j`` drawn from the sub-stream
``part_key(key, j)`` (a sum of independent Poisson counts is a Poisson count).
"""

import numpy as np
from numba import njit

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S32 = np.uint64(32)
_S11 = np.uint64(11)
_INV53 = 1.0 / 9007199254740992.0  # 2**-53


@njit(cache=True)
def mix64(z):
    """SplitMix64 finaliser: a bijection of uint64 that scrambles every bit."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(cache=True)
def stream_key(seed, stream):
    """The key of one random stream of a user seed (computed once per run)."""
    return mix64(mix64(np.uint64(seed) + _GOLDEN) ^ np.uint64(stream))


@njit(cache=True)
def uniform(key, step, index):
    """A float64 in [0, 1) determined by ``(key, step, index)``."""
    z = (np.uint64(step) << _S32) | np.uint64(index)
    z = mix64(mix64(z ^ key) + _GOLDEN)
    return np.float64(z >> _S11) * _INV53


#: the largest mean drawn by one inversion (``exp(-256)`` is far from underflow)
POISSON_PART = 256.0


@njit(cache=True)
def part_key(key, j):
    """The key of part ``j >= 1`` of a Poisson draw with a mean above :data:`POISSON_PART`."""
    return mix64(np.uint64(key) + np.uint64(j) * _GOLDEN)


@njit(cache=True, inline="always")
def _invert(w, lam):
    """The Poisson(``lam``) count at ``w = 1 - u`` in ``(0, 1]``: the smallest ``k`` with
    ``CDF(k) >= w`` (``k = 0`` iff ``u <= 1 - exp(-lam)`` fails, so a spike happens with
    probability ``1 - exp(-lam)``, nearly the old Bernoulli ``u < lam`` at small ``lam``)."""
    k = 0
    term = np.exp(-lam)
    cdf = term
    while w > cdf and term > 0.0:
        k += 1
        term *= lam / k
        cdf += term
    return k


@njit(cache=True)
def poisson_count(key, step, index, lam):
    """A Poisson(``lam``) count determined by ``(key, step, index)``; ``lam >= 0``."""
    key = np.uint64(key)
    if lam <= 0.0:
        return 0
    if lam <= POISSON_PART:
        return _invert(1.0 - uniform(key, step, index), lam)
    parts = int(np.ceil(lam / POISSON_PART))
    share = lam / parts
    k = _invert(1.0 - uniform(key, step, index), share)
    for j in range(1, parts):
        k += _invert(1.0 - uniform(part_key(key, j), step, index), share)
    return k


@njit(cache=True)
def poisson_count_max(lam):
    """The largest count :func:`poisson_count` can return for mean ``lam`` (``u = 0``): sizes the
    per-step spike buffers. About ``lam + 8 sqrt(lam) + 20`` (the CDF rounds to 1 there)."""
    if lam <= 0.0:
        return 0
    parts = max(1, int(np.ceil(lam / POISSON_PART)))
    return parts * _invert(1.0, lam / parts)


@njit(cache=True)
def poisson_table(key, lam, first_step):
    """``out[s, i] = poisson_count(key, first_step + s, i, lam[s, i])`` as int32: the spike counts
    a Poisson source emits in steps ``first_step ..``, the same numbers the clock engine draws,
    for backends that build the whole input at once (training, Lava)."""
    key = np.uint64(key)   # a key below 2**63 passed from Python arrives as int64
    n_steps, n = lam.shape
    out = np.zeros((n_steps, n), np.int32)
    for s in range(n_steps):
        for i in range(n):
            out[s, i] = poisson_count(key, first_step + s, i, lam[s, i])
    return out
