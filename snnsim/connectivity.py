"""Connectivity rules: which presynaptic neuron connects to which postsynaptic one.

Every rule builds compressed sparse rows keyed by the *presynaptic* neuron
(``indptr`` of length ``n_pre + 1``, ``indices`` = postsynaptic neuron per
synapse, sorted within each row). Dense weight matrices follow the PyTorch /
NIR convention: shape ``(n_post, n_pre)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from snnsim.errors import NetworkError


@dataclass
class Built:
    """Result of a rule: CSR structure and, for rules that carry them, weights."""

    indptr: np.ndarray          # int64, (n_pre + 1,)
    indices: np.ndarray         # int32, (n_syn,)
    weights: np.ndarray | None  # float64, (n_syn,) or None
    order: np.ndarray | None    # permutation from the user's synapse order to CSR order


def _csr_from_pairs(pre: np.ndarray, post: np.ndarray, n_pre: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR (rows = pre, each row sorted by post) of the pairs, and the permutation that sorts them."""
    width = int(post.max()) + 1 if len(post) else 1
    keys = pre.astype(np.int64) * width + post  # (pre, post) in lexicographic order as one integer
    order = np.argsort(keys, kind="stable")
    indptr = np.zeros(n_pre + 1, dtype=np.int64)
    np.cumsum(np.bincount(pre, minlength=n_pre), out=indptr[1:])
    return indptr, post[order].astype(np.int32), order


def _sample_rows(rng: np.random.Generator, counts: np.ndarray, n_cols: int, skip: np.ndarray | None,
                 dense_rows: bool = False) -> np.ndarray:
    """For row ``i`` draw ``counts[i]`` distinct columns from ``range(n_cols)``, never ``skip[i]``.

    Returns the columns row after row, each row sorted. ``dense_rows`` allows a second
    method for rows that take a large share of the columns (see below).
    """
    n_rows = len(counts)
    width = n_cols - (1 if skip is not None else 0)
    rows = np.repeat(np.arange(n_rows, dtype=np.int64), counts)
    if dense_rows and len(rows) and 4 * int(counts.max()) > width:
        # rows that take a large share of the columns: redrawing duplicates would take about
        # width * log(width) rounds (coupon collector), so take each row's first columns of a
        # random permutation instead
        cols = _sample_rows_dense(rng, counts, width)
    else:
        cols = rng.integers(0, width, len(rows)) if len(rows) else np.zeros(0, np.int64)
    # one int64 key per synapse, (row, column) in lexicographic order: sorting keys sorts both
    keys = rows * width + cols
    keys.sort()
    while True:  # redraw duplicates within a row until every row is distinct
        dup = np.flatnonzero(keys[1:] == keys[:-1]) + 1
        if len(dup) == 0:
            break
        keys[dup] = keys[dup] - keys[dup] % width + rng.integers(0, width, len(dup))
        keys.sort(kind="stable")  # timsort: nearly sorted, only the redrawn keys move
    rows, cols = np.divmod(keys, width) if width else (rows, cols)
    if skip is not None:
        cols = cols + (cols >= skip[rows])  # shift past the excluded column
    return cols


def _is_real(x) -> bool:
    """A real number (Python or numpy), not a bool or a string."""
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, (bool, np.bool_))


#: rows of random numbers drawn at once by the dense samplers (bounds their scratch memory)
_CHUNK_ELEMENTS = 1 << 22


def _row_chunks(n_rows: int, width: int):
    step = max(1, _CHUNK_ELEMENTS // max(width, 1))
    for lo in range(0, n_rows, step):
        yield lo, min(lo + step, n_rows)


def _sample_rows_dense(rng: np.random.Generator, counts: np.ndarray, width: int) -> np.ndarray:
    """``counts[i]`` distinct columns of ``range(width)`` per row, each row sorted, row after row."""
    parts = []
    cols = np.arange(width)
    for lo, hi in _row_chunks(len(counts), width):
        c = counts[lo:hi, None]
        perm = np.argsort(rng.random((hi - lo, width)), axis=1)  # a uniform random permutation per row
        chosen = np.sort(np.where(cols[None, :] < c, perm, width), axis=1)  # kept ones first, sorted
        parts.append(chosen[cols[None, :] < c])
    return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)


@dataclass(frozen=True)
class FixedProbability:
    """Each pair (pre, post) is connected independently with probability ``p``."""

    p: float
    allow_self: bool = True

    def build(self, n_pre, n_post, rng, same, where):
        if not _is_real(self.p) or not (0.0 <= self.p <= 1.0):
            raise NetworkError(where, "p", f"must be a probability in [0, 1], got {self.p!r}")
        skip = np.arange(n_pre) if (same and not self.allow_self) else None
        width = n_post - (1 if skip is not None else 0)
        if self.p > 0.25:  # dense: a Bernoulli mask is cheaper than redrawing duplicates
            # drawn a block of rows at a time (the same numbers as one big draw, less scratch memory)
            pres, posts = [], []
            for lo, hi in _row_chunks(n_pre, n_post):
                mask = rng.random((hi - lo, n_post)) < self.p
                if skip is not None:
                    mask[np.arange(hi - lo), np.arange(lo, hi)] = False
                pre, post = np.nonzero(mask)
                pres.append(pre + lo)
                posts.append(post)
            indptr, indices, _ = _csr_from_pairs(np.concatenate(pres), np.concatenate(posts), n_pre)
            return Built(indptr, indices, None, None)
        counts = rng.binomial(width, self.p, n_pre)
        cols = _sample_rows(rng, counts, n_post, skip)
        indptr = np.zeros(n_pre + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        return Built(indptr, cols.astype(np.int32), None, None)


@dataclass(frozen=True)
class FixedInDegree:
    """Every postsynaptic neuron receives exactly ``k`` distinct presynaptic neurons."""

    k: int
    allow_self: bool = True

    def build(self, n_pre, n_post, rng, same, where):
        limit = n_pre - (0 if (self.allow_self or not same) else 1)
        if not _is_real(self.k) or not np.isfinite(self.k) or int(self.k) != self.k or not (0 <= self.k <= limit):
            raise NetworkError(where, "k", f"must be an integer in [0, {limit}], got {self.k!r}")
        skip = np.arange(n_post) if (same and not self.allow_self) else None
        counts = np.full(n_post, int(self.k), dtype=np.int64)
        pre = _sample_rows(rng, counts, n_pre, skip, dense_rows=True)
        post = np.repeat(np.arange(n_post, dtype=np.int64), counts)
        indptr, indices, _ = _csr_from_pairs(pre, post, n_pre)
        return Built(indptr, indices, None, None)


@dataclass(frozen=True)
class OneToOne:
    """Neuron ``i`` of pre connects to neuron ``i`` of post."""

    def build(self, n_pre, n_post, rng, same, where):
        if n_pre != n_post:
            raise NetworkError(where, "connectivity", f"OneToOne needs equal sizes, got {n_pre} -> {n_post}")
        return Built(np.arange(n_pre + 1, dtype=np.int64), np.arange(n_pre, dtype=np.int32), None, None)


@dataclass(frozen=True)
class AllToAll:
    """Every pre neuron connects to every post neuron."""

    allow_self: bool = True

    def build(self, n_pre, n_post, rng, same, where):
        mask = np.ones((n_pre, n_post), dtype=bool)
        if same and not self.allow_self:
            mask[np.arange(n_pre), np.arange(n_pre)] = False
        pre, post = np.nonzero(mask)
        indptr, indices, _ = _csr_from_pairs(pre, post, n_pre)
        return Built(indptr, indices, None, None)


@dataclass(frozen=True, eq=False)
class Dense:
    """A dense weight matrix of shape ``(n_post, n_pre)``; every entry is a synapse."""

    weights: np.ndarray

    def build(self, n_pre, n_post, rng, same, where):
        w = np.asarray(self.weights, dtype=np.float64)
        if w.shape != (n_post, n_pre):
            raise NetworkError(where, "weight", f"dense matrix must have shape (n_post, n_pre) = "
                               f"({n_post}, {n_pre}), got {w.shape}")
        indptr = np.arange(0, n_pre * n_post + 1, n_post, dtype=np.int64)
        indices = np.tile(np.arange(n_post, dtype=np.int32), n_pre)
        return Built(indptr, indices, np.ascontiguousarray(w.T).reshape(-1), None)


@dataclass(frozen=True, eq=False)
class Sparse:
    """Explicit synapses as index pairs ``pre[k] -> post[k]``.

    Per-synapse weights and delays given as arrays follow the order of the pairs.
    """

    pre: np.ndarray
    post: np.ndarray

    @classmethod
    def from_csr(cls, indptr, indices) -> "Sparse":
        """Synapses given as compressed rows keyed by the presynaptic neuron (``len(indptr) = n_pre + 1``)."""
        indptr = np.asarray(indptr)
        if indptr.ndim != 1 or len(indptr) < 1 or not np.issubdtype(indptr.dtype, np.integer) or indptr[0] != 0 \
                or (np.diff(indptr) < 0).any() or indptr[-1] != len(indices):
            raise NetworkError("Sparse.from_csr", "indptr", f"must be non-decreasing integers from 0 to "
                               f"len(indices) = {len(indices)}, got {indptr!r}")
        return cls(np.repeat(np.arange(len(indptr) - 1), np.diff(indptr)), np.asarray(indices))

    def build(self, n_pre, n_post, rng, same, where):
        pre = np.asarray(self.pre)
        post = np.asarray(self.post)
        if pre.ndim != 1 or post.shape != pre.shape:
            raise NetworkError(where, "connectivity", f"Sparse needs two 1-D index arrays of equal length, "
                               f"got shapes {pre.shape} and {post.shape}")
        for name, idx, size in (("pre", pre, n_pre), ("post", post, n_post)):
            if len(idx) and (not np.issubdtype(idx.dtype, np.integer) or idx.min() < 0 or idx.max() >= size):
                raise NetworkError(where, name, f"indices must be integers in [0, {size}), got range "
                                   f"[{idx.min()}, {idx.max()}] of dtype {idx.dtype}")
        pairs = pre.astype(np.int64) * n_post + post
        uniq, first, counts = np.unique(pairs, return_index=True, return_counts=True)
        if len(uniq) != len(pairs):
            k = int(first[np.flatnonzero(counts > 1)[0]])
            raise NetworkError(where, "connectivity", f"Sparse contains the same (pre, post) pair twice: "
                               f"({int(pre[k])}, {int(post[k])})")
        indptr, indices, order = _csr_from_pairs(pre.astype(np.int64), post.astype(np.int64), n_pre)
        return Built(indptr, indices, None, order)


@dataclass(frozen=True, eq=False)
class SparseMatrix:
    """A ``scipy.sparse`` matrix of shape ``(n_post, n_pre)``: its stored entries are the
    synapses and their weights (entry ``[i, j]`` connects pre ``j`` to post ``i``;
    duplicate entries are summed, explicit zeros are kept)."""

    matrix: object

    def build(self, n_pre, n_post, rng, same, where):
        m = self.matrix
        if tuple(m.shape) != (n_post, n_pre):
            raise NetworkError(where, "weight", f"sparse matrix must have shape (n_post, n_pre) = "
                               f"({n_post}, {n_pre}), got {tuple(m.shape)}")
        coo = m.tocsr().tocoo()  # sums duplicates
        weights = np.asarray(coo.data, dtype=np.float64)
        if not np.isfinite(weights).all():
            raise NetworkError(where, "weight", f"must be finite, got {weights[~np.isfinite(weights)][0]!r}")
        indptr, indices, order = _csr_from_pairs(np.asarray(coo.col, np.int64), np.asarray(coo.row, np.int64), n_pre)
        return Built(indptr, indices, weights[order], None)


RULES = {c.__name__: c for c in (FixedProbability, FixedInDegree, OneToOne, AllToAll, Dense, Sparse, SparseMatrix)}
