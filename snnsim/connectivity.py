"""Connectivity rules: which presynaptic neuron connects to which postsynaptic one.

Every rule builds compressed sparse rows keyed by the *presynaptic* neuron
(``indptr`` of length ``n_pre + 1``, ``indices`` = postsynaptic neuron per
synapse, sorted within each row). Dense weight matrices follow the PyTorch /
NIR convention: shape ``(n_post, n_pre)``.

Random rules draw inside Numba (:mod:`snnsim.kernels.connect`) from the projection's
counter-based stream ``key`` (:func:`snnsim.distributions.projection_key`), one row (neuron) at
a time, so the synapses are the same whatever ``block`` (rows per parallel work item) and the
thread count. ``indices`` are int32.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from snnsim.errors import NetworkError
from snnsim.kernels import connect as kc


@dataclass
class Built:
    """Result of a rule: CSR structure and, for rules that carry them, weights."""

    indptr: np.ndarray          # int64, (n_pre + 1,)
    indices: np.ndarray         # int32, (n_syn,)
    weights: np.ndarray | None  # float64, (n_syn,) or None (matrices only)
    order: np.ndarray | None    # permutation from the user's synapse order to CSR order


def _csr_from_pairs(pre: np.ndarray, post: np.ndarray, n_pre: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR (rows = pre, each row sorted by post) of the pairs, and the permutation that sorts them."""
    width = int(post.max()) + 1 if len(post) else 1
    keys = pre.astype(np.int64) * width + post  # (pre, post) in lexicographic order as one integer
    order = np.argsort(keys, kind="stable")
    indptr = np.zeros(n_pre + 1, dtype=np.int64)
    np.cumsum(np.bincount(pre, minlength=n_pre), out=indptr[1:])
    return indptr, post[order].astype(np.int32), order


def _is_real(x) -> bool:
    """A real number (Python or numpy), not a bool or a string."""
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, (bool, np.bool_))


#: rows (neurons) generated per parallel work item; changes the split of the work, never the synapses
BLOCK = 4096
_INT32_MAX = 2**31 - 1


def _sub(key, tag: int) -> np.uint64:
    """Sub-stream ``tag`` of a projection key (a Python int or a uint64)."""
    return np.uint64(kc.sub_key(np.uint64(key), np.uint64(tag)))


def _block(block) -> int:
    return BLOCK if block is None else max(1, int(block))


def _check_int32(where, n_pre, n_post):
    """Neuron indices are stored as int32 (synapse counts may exceed it: ``indptr`` is int64)."""
    if max(n_pre, n_post) > _INT32_MAX:
        raise NetworkError(where, "connectivity", f"neuron indices are stored as int32: sizes ({n_pre}, "
                           f"{n_post}) must stay below 2**31")


def _check_degree(where, field, k, limit):
    if not _is_real(k) or not np.isfinite(k) or int(k) != k or not (0 <= k <= limit):
        raise NetworkError(where, field, f"must be an integer in [0, {limit}], got {k!r}")
    return int(k)


def _from_post_rows(rowptr, cols, n_pre) -> "Built":
    """Post-keyed rows (rows = post neuron, columns = pre neuron) as the pre-keyed CSR."""
    indptr, indices = kc.transpose(rowptr, cols, n_pre, numba.get_num_threads())
    return Built(indptr, indices, None, None)


def _pairs(n_pre: int, n_post: int, no_self: bool) -> float:
    """Number of (pre, post) pairs, without the self pairs when ``no_self``."""
    return float(n_pre) * float(n_post) - (min(n_pre, n_post) if no_self else 0)


@dataclass(frozen=True)
class FixedProbability:
    """Each pair (pre, post) is connected independently with probability ``p``.

    Drawn per postsynaptic neuron by geometric skipping over the presynaptic ones, from the
    projection's counter-based stream: a neuron's in-degree is Binomial(n_pre, p)."""

    p: float
    allow_self: bool = True

    def expected_synapses(self, n_pre, n_post, same) -> float:
        """The expected number of synapses, from the parameters only (the memory guard's estimate)."""
        return float(self.p) * _pairs(n_pre, n_post, same and not self.allow_self)

    def build(self, n_pre, n_post, key, same, where, block=None):
        if not _is_real(self.p) or not (0.0 <= self.p <= 1.0):
            raise NetworkError(where, "p", f"must be a probability in [0, 1], got {self.p!r}")
        _check_int32(where, n_pre, n_post)
        no_self = bool(same and not self.allow_self)
        rowptr, cols = kc.fixed_probability(_sub(key, 1), n_post, n_pre, float(self.p), no_self, _block(block))
        return _from_post_rows(rowptr, cols, n_pre)


@dataclass(frozen=True)
class FixedInDegree:
    """Every postsynaptic neuron receives exactly ``k`` distinct presynaptic neurons."""

    k: int
    allow_self: bool = True

    def expected_synapses(self, n_pre, n_post, same) -> float:
        """The expected number of synapses, from the parameters only (the memory guard's estimate)."""
        return float(self.k) * n_post

    def build(self, n_pre, n_post, key, same, where, block=None):
        no_self = bool(same and not self.allow_self)
        k = _check_degree(where, "k", self.k, n_pre - (1 if no_self else 0))
        _check_int32(where, n_pre, n_post)
        rowptr, cols = kc.distinct_rows(_sub(key, 1), np.full(n_post, k, np.int64), n_pre, no_self,
                                        _block(block))
        return _from_post_rows(rowptr, cols, n_pre)


@dataclass(frozen=True)
class FixedOutDegree:
    """Every presynaptic neuron projects to exactly ``k`` distinct postsynaptic neurons."""

    k: int
    allow_self: bool = True

    def expected_synapses(self, n_pre, n_post, same) -> float:
        """The expected number of synapses, from the parameters only (the memory guard's estimate)."""
        return float(self.k) * n_pre

    def build(self, n_pre, n_post, key, same, where, block=None):
        no_self = bool(same and not self.allow_self)
        k = _check_degree(where, "k", self.k, n_post - (1 if no_self else 0))
        _check_int32(where, n_pre, n_post)
        indptr, indices = kc.distinct_rows(_sub(key, 1), np.full(n_pre, k, np.int64), n_post, no_self,
                                           _block(block))
        return Built(indptr, indices, None, None)


@dataclass(frozen=True)
class FixedTotalNumber:
    """Exactly ``n`` distinct synapses in all.

    The postsynaptic neurons' counts are a multinomial split of ``n`` (each clipped to the
    presynaptic neurons available), then each draws its count of distinct presynaptic neurons."""

    n: int
    allow_self: bool = True

    def expected_synapses(self, n_pre, n_post, same) -> float:
        """The expected number of synapses, from the parameters only (the memory guard's estimate)."""
        return float(self.n)

    def build(self, n_pre, n_post, key, same, where, block=None):
        no_self = bool(same and not self.allow_self)
        width = n_pre - (1 if no_self else 0)
        n = _check_degree(where, "n", self.n, width * n_post)
        _check_int32(where, n_pre, n_post)
        counts = kc.total_counts(_sub(key, 2), n, n_post, width)
        rowptr, cols = kc.distinct_rows(_sub(key, 1), counts, n_pre, no_self, _block(block))
        return _from_post_rows(rowptr, cols, n_pre)


@dataclass(frozen=True)
class OneToOne:
    """Neuron ``i`` of pre connects to neuron ``i`` of post."""

    def expected_synapses(self, n_pre, n_post, same) -> float:
        """The expected number of synapses, from the parameters only (the memory guard's estimate)."""
        return float(min(n_pre, n_post))

    def build(self, n_pre, n_post, key, same, where, block=None):
        if n_pre != n_post:
            raise NetworkError(where, "connectivity", f"OneToOne needs equal sizes, got {n_pre} -> {n_post}")
        _check_int32(where, n_pre, n_post)
        return Built(np.arange(n_pre + 1, dtype=np.int64), np.arange(n_pre, dtype=np.int32), None, None)


@dataclass(frozen=True)
class AllToAll:
    """Every pre neuron connects to every post neuron."""

    allow_self: bool = True

    def expected_synapses(self, n_pre, n_post, same) -> float:
        """The expected number of synapses, from the parameters only (the memory guard's estimate)."""
        return _pairs(n_pre, n_post, same and not self.allow_self)

    def build(self, n_pre, n_post, key, same, where, block=None):
        no_self = bool(same and not self.allow_self)
        width = n_post - (1 if no_self else 0)
        _check_int32(where, n_pre, n_post)
        indptr = np.arange(n_pre + 1, dtype=np.int64) * width
        if no_self:  # row i: every column but i
            cols = np.broadcast_to(np.arange(width, dtype=np.int32), (n_pre, width))
            indices = (cols + (cols >= np.arange(n_pre, dtype=np.int32)[:, None])).astype(np.int32).reshape(-1)
        else:
            indices = np.tile(np.arange(n_post, dtype=np.int32), n_pre)
        return Built(indptr, indices, None, None)


@dataclass(frozen=True, eq=False)
class Dense:
    """A dense weight matrix of shape ``(n_post, n_pre)``; every entry is a synapse."""

    weights: np.ndarray

    def expected_synapses(self, n_pre, n_post, same) -> float:
        """The expected number of synapses, from the parameters only (the memory guard's estimate)."""
        return float(np.count_nonzero(self.weights))

    def build(self, n_pre, n_post, key, same, where, block=None):
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

    def expected_synapses(self, n_pre, n_post, same) -> float:
        """The expected number of synapses, from the parameters only (the memory guard's estimate)."""
        return float(len(self.pre))

    def build(self, n_pre, n_post, key, same, where, block=None):
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

    def expected_synapses(self, n_pre, n_post, same) -> float:
        """The expected number of synapses, from the parameters only (the memory guard's estimate)."""
        return float(getattr(self.matrix, "nnz", 0))

    def build(self, n_pre, n_post, key, same, where, block=None):
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


RULES = {c.__name__: c for c in (FixedProbability, FixedInDegree, FixedOutDegree, FixedTotalNumber, OneToOne, AllToAll, Dense, Sparse, SparseMatrix)}
