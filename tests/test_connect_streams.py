"""Connectivity from counter-based streams: the same synapses whatever the blocking or thread
count, and the statistics of each rule against closed forms (scipy.stats)."""

import math

import numba
import numpy as np
import pytest
from scipy import stats

from snnsim import (LIF, AllToAll, FixedInDegree, FixedOutDegree, FixedProbability, FixedTotalNumber, Network, Normal,
                    OneToOne, Sparse, Uniform)
from snnsim.distributions import projection_key

KEY = projection_key(7, "projection", "test")


def pairs(built):
    pre = np.repeat(np.arange(len(built.indptr) - 1), np.diff(built.indptr))
    return pre, built.indices.astype(np.int64)


def check_csr(built, n_pre, n_post):
    """Pre-keyed CSR, every row strictly increasing (sorted, no repeated pair)."""
    assert built.indptr.shape == (n_pre + 1,) and built.indptr[0] == 0 and built.indptr[-1] == len(built.indices)
    assert built.indices.dtype == np.int32
    pre, post = pairs(built)
    assert ((post >= 0) & (post < n_post)).all()
    same_row = pre[1:] == pre[:-1]
    assert (post[1:][same_row] > post[:-1][same_row]).all()


def chi_square_binomial(counts, n, p):
    """p-value of the observed counts (one per neuron) against Binomial(n, p), bins merged
    from the tails until each expects at least 5."""
    values = np.arange(n + 1)
    pmf = stats.binom.pmf(values, n, p)
    observed = np.bincount(counts, minlength=n + 1)[: n + 1].astype(float)
    expected = pmf * len(counts)
    lo, hi = 0, n
    while expected[lo] < 5:
        expected[lo + 1] += expected[lo]; observed[lo + 1] += observed[lo]; lo += 1
    while expected[hi] < 5:
        expected[hi - 1] += expected[hi]; observed[hi - 1] += observed[hi]; hi -= 1
    obs, exp = observed[lo:hi + 1], expected[lo:hi + 1]
    exp *= obs.sum() / exp.sum()
    return stats.chisquare(obs, exp).pvalue


RULES = [
    (FixedProbability(0.1), False),
    (FixedProbability(0.3, allow_self=False), True),
    (FixedInDegree(17), False),
    (FixedInDegree(40, allow_self=False), True),
    (FixedOutDegree(13), False),
    (FixedOutDegree(25, allow_self=False), True),
    (FixedTotalNumber(9000), False),
    (FixedTotalNumber(12000, allow_self=False), True),
]


@pytest.mark.parametrize("rule,same", RULES, ids=lambda r: repr(r))
def test_same_synapses_in_1_3_and_7_blocks(rule, same):
    n_pre = n_post = 301 if same else None
    n_pre, n_post = (301, 301) if same else (257, 301)
    whole = rule.build(n_pre, n_post, KEY, same, "test", block=max(n_pre, n_post))
    check_csr(whole, n_pre, n_post)
    for n_blocks in (3, 7):
        block = math.ceil(max(n_pre, n_post) / n_blocks)
        part = rule.build(n_pre, n_post, KEY, same, "test", block=block)
        np.testing.assert_array_equal(part.indptr, whole.indptr)
        np.testing.assert_array_equal(part.indices, whole.indices)
    other = rule.build(n_pre, n_post, KEY + 1, same, "test")  # another stream: other synapses
    assert not (len(other.indices) == len(whole.indices) and (other.indices == whole.indices).all())


def test_same_synapses_and_weights_with_one_and_two_threads():
    def build():
        net = Network(seed=3)
        net.add_population("a", 3000, LIF())
        return net.connect("a", "a", FixedProbability(0.05, allow_self=False), weight=Normal(1.0, 0.2),
                           delay=Uniform(1e-3, 3e-3))
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = build()
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        many = build()
    finally:
        numba.set_num_threads(before)
    for field in ("indptr", "indices", "weights", "delays"):
        np.testing.assert_array_equal(getattr(one, field), getattr(many, field))


@pytest.mark.parametrize("allow_self", [True, False])
def test_fixed_probability_degrees_are_binomial(allow_self):
    n, p = 1500, 0.04
    built = FixedProbability(p, allow_self=allow_self).build(n, n, KEY, True, "test")
    check_csr(built, n, n)
    pre, post = pairs(built)
    width = n if allow_self else n - 1
    if not allow_self:
        assert not (pre == post).any()
    else:  # the diagonal is drawn like any pair: Binomial(n, p) self-synapses
        assert stats.binomtest(int((pre == post).sum()), n, p).pvalue > 1e-3
    in_deg = np.bincount(post, minlength=n)
    out_deg = np.diff(built.indptr)
    assert chi_square_binomial(in_deg, width, p) > 1e-3
    assert chi_square_binomial(out_deg, width, p) > 1e-3  # rows of different post neurons are independent
    assert stats.binomtest(len(pre), n * width, p).pvalue > 1e-3


def test_fixed_probability_between_populations_uses_every_pair_uniformly():
    n_pre, n_post, p = 40, 30, 0.25
    hits = np.zeros((n_pre, n_post))
    for seed in range(60):
        built = FixedProbability(p).build(n_pre, n_post, projection_key(seed, "p"), False, "test")
        pre, post = pairs(built)
        hits[pre, post] += 1
    # each pair is a Binomial(60, p) count: chi-square over all pairs
    assert chi_square_binomial(hits.reshape(-1).astype(int), 60, p) > 1e-3


@pytest.mark.parametrize("k,allow_self", [(17, True), (40, False), (299, False), (150, True)])
def test_fixed_in_degree_exact_and_sources_uniform(k, allow_self):
    n = 300
    built = FixedInDegree(k, allow_self=allow_self).build(n, n, KEY, True, "test")
    check_csr(built, n, n)
    pre, post = pairs(built)
    assert (np.bincount(post, minlength=n) == k).all()
    if not allow_self:
        assert not (pre == post).any()
    width = n if allow_self else n - 1
    # a pre neuron is among a post neuron's k with probability k / width, independently per post
    if 0 < k < width:
        assert chi_square_binomial(np.diff(built.indptr), n, k / width) > 1e-3


@pytest.mark.parametrize("k,allow_self", [(13, True), (25, False), (250, True)])
def test_fixed_out_degree_exact_and_targets_uniform(k, allow_self):
    n_pre, n_post = (400, 400) if not allow_self else (350, 400)
    same = not allow_self
    built = FixedOutDegree(k, allow_self=allow_self).build(n_pre, n_post, KEY, same, "test")
    check_csr(built, n_pre, n_post)
    pre, post = pairs(built)
    assert (np.diff(built.indptr) == k).all()
    if not allow_self:
        assert not (pre == post).any()
    width = n_post - (0 if allow_self else 1)
    assert chi_square_binomial(np.bincount(post, minlength=n_post), n_pre, k / width) > 1e-3


def test_fixed_total_number_exact_and_in_degrees_multinomial():
    n_pre, n_post, total = 200, 3000, 30000
    built = FixedTotalNumber(total).build(n_pre, n_post, KEY, False, "test")
    check_csr(built, n_pre, n_post)
    assert len(built.indices) == total
    pre, post = pairs(built)
    # multinomial over equal post neurons: each in-degree is Binomial(total, 1 / n_post)
    assert chi_square_binomial(np.bincount(post, minlength=n_post), total, 1 / n_post) > 1e-3


@pytest.mark.parametrize("total", [0, 1, 85, 90])
def test_fixed_total_number_dense_fits_without_self(total):
    n = 10  # 90 pairs without the diagonal: even the full count fits, without repeats
    built = FixedTotalNumber(total, allow_self=False).build(n, n, KEY, True, "test")
    check_csr(built, n, n)
    pre, post = pairs(built)
    assert len(pre) == total and not (pre == post).any()


def test_fixed_total_number_refuses_more_than_the_pairs():
    net = Network()
    net.add_population("a", 10, LIF())
    with pytest.raises(Exception, match="n"):
        net.connect("a", "a", FixedTotalNumber(91, allow_self=False))


def test_all_to_all_and_one_to_one_pairs():
    n = 5
    built = AllToAll(allow_self=False).build(n, n, KEY, True, "test")
    pre, post = pairs(built)
    expected = [(i, j) for i in range(n) for j in range(n) if i != j]
    assert list(zip(pre.tolist(), post.tolist())) == expected
    built = OneToOne().build(n, n, KEY, True, "test")
    assert pairs(built)[1].tolist() == list(range(n)) and np.diff(built.indptr).tolist() == [1] * n


def test_normal_weight_moments_and_distribution():
    net = Network(seed=5)
    net.add_population("a", 2000, LIF())
    proj = net.connect("a", "a", FixedInDegree(40), weight=Normal(0.5, 0.1))
    w = np.asarray(proj.weights, np.float64)
    n = len(w)
    assert abs(w.mean() - 0.5) < 5 * 0.1 / math.sqrt(n)
    assert abs(w.var() - 0.01) < 5 * 0.01 * math.sqrt(2 / n)
    assert stats.kstest(w, stats.norm(0.5, 0.1).cdf).pvalue > 1e-3


def test_uniform_delays_distribution():
    net = Network(seed=6)
    net.add_population("a", 1000, LIF())
    proj = net.connect("a", "a", FixedProbability(0.05), delay=Uniform(1e-3, 2e-3))
    d = np.asarray(proj.delays, np.float64)
    assert ((d >= 1e-3) & (d <= 2e-3)).all()
    assert stats.kstest(d, stats.uniform(1e-3, 1e-3).cdf).pvalue > 1e-3


def test_a_synapse_value_depends_on_its_pair_not_on_the_order():
    rng = np.random.default_rng(0)
    pre = rng.integers(0, 50, 400)
    post = rng.integers(0, 60, 400)
    keep = np.unique(pre * 60 + post, return_index=True)[1]
    pre, post = pre[keep], post[keep]
    weights = {}
    for order in (np.arange(len(pre)), rng.permutation(len(pre))):
        net = Network(seed=1)
        net.add_population("a", 50, LIF())
        net.add_population("b", 60, LIF())
        proj = net.connect("a", "b", Sparse(pre[order], post[order]), weight=Uniform(0.0, 1.0), name="s")
        row = np.repeat(np.arange(50), np.diff(proj.indptr))
        weights[len(weights)] = dict(zip(zip(row.tolist(), proj.indices.tolist()), proj.weights.tolist()))
    assert weights[0] == weights[1]


@pytest.mark.parametrize("rule,n_rows,width", [(FixedInDegree(2), 20000, 5), (FixedOutDegree(3), 20000, 6)])
def test_every_subset_is_equally_likely(rule, n_rows, width):
    """A row's k columns are a uniform k-subset: all C(width, k) subsets equally frequent."""
    from itertools import combinations
    if isinstance(rule, FixedInDegree):
        built = rule.build(width, n_rows, KEY, False, "test")
        pre, post = pairs(built)
        order = np.lexsort((pre, post))
        rows = pre[order].reshape(n_rows, rule.k)
    else:
        built = rule.build(n_rows, width, KEY, False, "test")
        rows = built.indices.reshape(n_rows, rule.k)
    subsets = {s: i for i, s in enumerate(combinations(range(width), rule.k))}
    counts = np.bincount([subsets[tuple(r)] for r in rows.tolist()], minlength=len(subsets))
    assert stats.chisquare(counts).pvalue > 1e-3


def test_fixed_probability_tiny_p_ends_and_connects_almost_nothing():
    """p = 1e-300: a geometric gap far beyond int64 must end the row, not wrap around."""
    built = FixedProbability(1e-300).build(1000, 1000, KEY, False, "test")
    assert len(built.indices) == 0
    built = FixedProbability(1e-6).build(3000, 3000, KEY, False, "test")  # 9 expected
    assert stats.poisson(9).cdf(len(built.indices)) > 1e-4 and stats.poisson(9).sf(len(built.indices)) > 1e-4


@pytest.mark.parametrize("n_parts", [1, 2, 5])
def test_transpose_is_scipys_whatever_the_parts(n_parts):
    from scipy import sparse
    from snnsim.kernels.connect import transpose
    rng = np.random.default_rng(4)
    dense = rng.random((37, 53)) < 0.2
    m = sparse.csr_matrix(dense)
    indptr, indices = transpose(m.indptr.astype(np.int64), m.indices.astype(np.int32), 53, n_parts)
    t = sparse.csr_matrix(dense.T)
    np.testing.assert_array_equal(indptr, t.indptr)
    np.testing.assert_array_equal(indices, t.indices)
