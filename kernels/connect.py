"""Connectivity drawn from counter-based streams (pure Numba functions over arrays).

Every random number is ``uniform(key, row, draw)`` (:mod:`snnsim.kernels.rng`): ``key`` is the
projection's stream, ``row`` the neuron whose synapses are drawn (the postsynaptic neuron for
fixed probability, fixed in-degree and fixed total number, the presynaptic one for fixed
out-degree) and ``draw`` counts the numbers that row has used. A row's synapses therefore
depend on nothing but ``(key, row)``: any block of rows can be generated alone, on any worker,
and the union is the same whatever the blocking. The generators run ``prange`` over blocks of
``block`` rows; ``block`` changes the work split, never the result.

Rows come out as compressed rows ``(rowptr int64 (n_rows + 1,), cols int32)``, each row sorted
and without repeats. :func:`transpose` turns post-keyed rows into the CSR keyed by presynaptic
neuron that the engines consume (a counting sort, rows stay sorted). Per-synapse values
(weights, delays) are drawn by :func:`draw_values` keyed by ``(post, pre)``, so they too are
the same whatever the rule's blocking or the storage order.
"""

import math

import numpy as np
from numba import njit, prange

from snnsim.kernels.rng import mix64, uniform

#: distribution codes of :func:`draw_values`
DIST_UNIFORM = 1
DIST_NORMAL = 2


@njit(cache=True)
def sub_key(key, tag):
    """An independent stream derived from ``key`` (``tag`` 1: structure, 2: counts, 3..: values)."""
    return mix64(np.uint64(key) ^ mix64(np.uint64(tag)))  # uint64 (Python receives an int)


@njit(cache=True)
def _n_blocks(n_rows, block):
    return (n_rows + block - 1) // block


@njit(cache=True)
def _geometric_row(key, row, width, log_q, skip, out, at, limit):
    """Bernoulli(p) trials over ``range(width)`` by geometric skipping (``log_q = log(1 - p)``);
    writes the successes (shifted past column ``skip``, if >= 0) to ``out[at:limit]`` when
    ``out`` is not empty, and returns their number, or -1 if they do not fit before ``limit``."""
    pos = -1
    n = 0
    d = 0
    while True:
        u = 1.0 - uniform(key, row, d)  # in (0, 1]
        d += 1
        gap = math.log(u) / log_q if log_q < 0.0 else 0.0  # compared as a float: no int overflow
        if gap >= width - pos - 1:
            break
        pos += 1 + int(gap)  # int() truncates, the floor of a non-negative gap
        if out.shape[0] > 0:
            if at + n >= limit:
                return -1
            out[at + n] = pos + (1 if (skip >= 0 and pos >= skip) else 0)
        n += 1
    return n


@njit(cache=True, parallel=True)
def fixed_probability(key, n_rows, n_cols, p, no_self, block):
    """Rows ``0 .. n_rows`` each connected to every column with probability ``p`` independently
    (``no_self``: never column ``row``). One pass: each block writes into its own slice of a
    scratch buffer sized for its expected count plus 10 standard deviations; a block that
    overflows it (practically never) is counted and drawn again, with the same numbers."""
    key = np.uint64(key)  # a key below 2**63 passed from Python arrives as int64
    width = n_cols - (1 if no_self else 0)
    log_q = math.log1p(-p) if p < 1.0 else -np.inf
    counts = np.zeros(n_rows, np.int64)
    nb = _n_blocks(n_rows, block)
    live = p > 0.0 and width > 0
    mean = min(block, n_rows) * max(width, 0) * p
    cap = int(mean + 10.0 * math.sqrt(mean * (1.0 - p)) + 64) if live else 0
    buf = np.empty(nb * cap, np.int32)
    overflow = np.zeros(nb, np.bool_)
    none = np.zeros(0, np.int32)
    big = np.int64(1) << 62
    if live:
        for b in prange(nb):
            at = b * cap
            for r in range(b * block, min((b + 1) * block, n_rows)):
                n = _geometric_row(key, r, width, log_q, r if no_self else -1, buf, at, (b + 1) * cap)
                if n < 0:
                    overflow[b] = True
                    break
                counts[r] = n
                at += n
            if overflow[b]:
                for r in range(b * block, min((b + 1) * block, n_rows)):
                    counts[r] = _geometric_row(key, r, width, log_q, r if no_self else -1, none, 0, big)
    rowptr = np.zeros(n_rows + 1, np.int64)
    rowptr[1:] = np.cumsum(counts)
    cols = np.empty(rowptr[-1], np.int32)
    if live:
        for b in prange(nb):
            lo, hi = b * block, min((b + 1) * block, n_rows)
            if overflow[b]:
                for r in range(lo, hi):
                    _geometric_row(key, r, width, log_q, r if no_self else -1, cols, rowptr[r], big)
            else:
                n = rowptr[hi] - rowptr[lo]
                cols[rowptr[lo]:rowptr[hi]] = buf[b * cap:b * cap + n]
    return rowptr, cols


@njit(cache=True)
def _floyd_row(key, row, k, width, skip, mask, out):
    """``k`` distinct columns of ``range(width)`` uniformly (Floyd's algorithm, ``k`` draws),
    sorted, shifted past ``skip`` (if >= 0), into ``out[:k]``; ``mask`` (width,) is all False
    on entry and on return."""
    for d in range(k):
        t = width - k + d
        c = int(uniform(key, row, d) * (t + 1))
        if c > t:
            c = t
        if mask[c]:
            c = t
        mask[c] = True
        out[d] = c
    out[:k].sort()
    for d in range(k):
        c = out[d]
        mask[c] = False
        out[d] = c + (1 if (skip >= 0 and c >= skip) else 0)


@njit(cache=True, parallel=True)
def distinct_rows(key, counts, n_cols, no_self, block):
    """Row ``r`` gets ``counts[r]`` distinct columns of ``range(n_cols)`` (``no_self``: never
    column ``r``), drawn uniformly; ``counts[r]`` must not exceed the columns available."""
    key = np.uint64(key)
    n_rows = counts.shape[0]
    width = n_cols - (1 if no_self else 0)
    rowptr = np.zeros(n_rows + 1, np.int64)
    rowptr[1:] = np.cumsum(counts)
    cols = np.empty(rowptr[-1], np.int32)
    nb = _n_blocks(n_rows, block)
    for b in prange(nb):
        mask = np.zeros(max(width, 0), np.bool_)
        for r in range(b * block, min((b + 1) * block, n_rows)):
            lo = rowptr[r]
            _floyd_row(key, r, counts[r], width, r if no_self else -1, mask, cols[lo:rowptr[r + 1]])
    return rowptr, cols


@njit(cache=True)
def _binomial(key, row, m, q):
    """Binomial(m, q) from the numbers of ``(key, row)``: counts geometric jumps that fit in
    ``m`` trials (about ``m * min(q, 1 - q) + 1`` draws)."""
    if m <= 0 or q <= 0.0:
        return 0
    if q >= 1.0:
        return m
    flip = q > 0.5
    log_q = math.log1p(-(1.0 - q if flip else q))
    pos = -1
    n = 0
    d = 0
    while True:
        u = 1.0 - uniform(key, row, d)
        d += 1
        gap = math.log(u) / log_q
        if gap >= m - pos - 1:
            break
        pos += 1 + int(gap)
        n += 1
    return m - n if flip else n


@njit(cache=True)
def total_counts(key, total, n_rows, width):
    """Per-row synapse counts of a fixed total number: a multinomial split of ``total`` over
    equal rows (row ``r`` draws Binomial(left, 1 / (n_rows - r)) from its own numbers), each
    count clipped to ``[needed, width]`` so that every row fits. Sequential but cheap (about
    ``total / n_rows + 1`` draws per row); blocking plays no part."""
    key = np.uint64(key)
    counts = np.zeros(n_rows, np.int64)
    left = total
    for r in range(n_rows):
        rest = n_rows - r - 1
        c = _binomial(key, r, left, 1.0 / (n_rows - r))
        c = min(c, width)
        c = max(c, left - width * rest)
        counts[r] = c
        left -= c
    return counts


@njit(cache=True, parallel=True)
def transpose(rowptr, cols, n_out, n_parts):
    """Compressed rows ``(rowptr, cols)`` transposed to ``n_out`` rows (a counting sort): the
    result's rows are sorted because the input's rows are visited in order. In parallel over
    ranges of output rows: each worker reads every input row and writes only its own range,
    so the result does not depend on ``n_parts`` (the worker count, e.g. ``numba.get_num_threads()``)."""
    n_parts = max(1, min(n_parts, n_out))
    indptr = np.zeros(n_out + 1, np.int64)
    for e in range(cols.shape[0]):
        indptr[cols[e] + 1] += 1
    for i in range(n_out):
        indptr[i + 1] += indptr[i]
    fill = indptr[:-1].copy()
    indices = np.empty(cols.shape[0], np.int32)
    n_in = rowptr.shape[0] - 1
    for part in prange(n_parts):
        lo = part * n_out // n_parts
        hi = (part + 1) * n_out // n_parts
        for r in range(n_in):
            for e in range(rowptr[r], rowptr[r + 1]):
                c = cols[e]
                if lo <= c < hi:
                    indices[fill[c]] = r
                    fill[c] += 1
    return indptr, indices


@njit(cache=True, parallel=True)
def draw_values(kind, a, b, key, indptr, indices, out):
    """Per synapse of a pre-keyed CSR, ``out[s]`` drawn from ``uniform(key, post, pre)``:
    Uniform on ``[a, b)`` (``kind`` 1) or Normal with mean ``a`` and std ``b`` (``kind`` 2, the
    Box-Muller transform with a second number from ``uniform(sub_key(key, 7), post, pre)``)."""
    key = np.uint64(key)
    key2 = sub_key(key, 7)
    n_pre = indptr.shape[0] - 1
    for i in prange(n_pre):
        for s in range(indptr[i], indptr[i + 1]):
            j = indices[s]
            u = uniform(key, j, i)
            if kind == DIST_UNIFORM:
                out[s] = a + (b - a) * u
            else:
                u2 = uniform(key2, j, i)
                out[s] = a + b * math.sqrt(-2.0 * math.log(1.0 - u)) * math.cos(2.0 * math.pi * u2)
