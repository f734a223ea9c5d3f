"""Connectivity rules: statistics, structure, orientation, and reproducibility.

Expected values come from the definitions (binomial moments, the (n_post, n_pre)
convention of dense matrices, the pair order of Sparse), never from the code under test.
"""

import math

import numpy as np
import pytest

from snnsim.errors import NetworkError

from snnsim import (LIF, AllToAll, Dense, FixedInDegree, FixedProbability, Network, Normal, OneToOne, Sparse,
                    Uniform, simulate)

DT = 1e-4


def pairs_of(proj):
    """(pre, post) of every synapse, from the CSR arrays."""
    counts = np.diff(proj.indptr)
    pre = np.repeat(np.arange(len(counts)), counts)
    return pre, proj.indices.astype(np.int64)


def check_csr(proj, n_pre, n_post):
    """indptr is a valid row pointer; each row has distinct, sorted, in-range post indices."""
    assert proj.indptr.shape == (n_pre + 1,)
    assert proj.indptr[0] == 0 and proj.indptr[-1] == len(proj.indices)
    assert (np.diff(proj.indptr) >= 0).all()
    idx = proj.indices.astype(np.int64)
    assert len(idx) == 0 or (idx.min() >= 0 and idx.max() < n_post)
    for i in range(n_pre):
        row = idx[proj.indptr[i]:proj.indptr[i + 1]]
        assert (np.diff(row) > 0).all(), f"row {i} has duplicates or is unsorted"


# ----------------------------------------------------------------------------- FixedProbability

@pytest.mark.parametrize("p", [0.05, 0.2, 0.4, 0.8])  # both the sparse (redraw) and dense (mask) paths
def test_fixed_probability_count_and_degrees(p):
    n_pre, n_post = 400, 500
    net = Network(dt=DT, seed=3)
    net.add_poisson("a", n_pre, 1.0)
    net.add_population("b", n_post, LIF())
    proj = net.connect("a", "b", FixedProbability(p))
    check_csr(proj, n_pre, n_post)
    n_pairs = n_pre * n_post
    mean, sd = n_pairs * p, math.sqrt(n_pairs * p * (1 - p))
    assert abs(proj.n_synapses - mean) < 5 * sd, (proj.n_synapses, mean, sd)
    # every pair is independent: out-degrees ~ Binomial(n_post, p), in-degrees ~ Binomial(n_pre, p)
    pre, post = pairs_of(proj)
    out_deg = np.bincount(pre, minlength=n_pre)
    in_deg = np.bincount(post, minlength=n_post)
    for deg, n, m in ((out_deg, n_post, n_pre), (in_deg, n_pre, n_post)):
        var = n * p * (1 - p)
        # sample variance of m draws: relative sd about sqrt(2 / m) (plus excess kurtosis, small here)
        assert abs(deg.var(ddof=1) / var - 1) < 5 * math.sqrt(2.0 / m) + 0.05, (deg.var(), var)
    # no post neuron is favoured: every in-degree lies within 6 sd of its binomial mean
    assert (np.abs(in_deg - n_pre * p) < 6 * math.sqrt(n_pre * p * (1 - p))).all()


@pytest.mark.parametrize("p", [0.1, 0.5])
def test_fixed_probability_without_self(p):
    n = 400
    net = Network(dt=DT, seed=11)
    net.add_population("a", n, LIF())
    proj = net.connect("a", "a", FixedProbability(p, allow_self=False))
    check_csr(proj, n, n)
    pre, post = pairs_of(proj)
    assert not (pre == post).any()
    n_pairs = n * (n - 1)
    assert abs(proj.n_synapses - n_pairs * p) < 5 * math.sqrt(n_pairs * p * (1 - p))
    # with self-connections allowed the diagonal is drawn like any other pair: about n * p of them
    with_self = net.connect("a", "a", FixedProbability(p, allow_self=True), name="self")
    pre, post = pairs_of(with_self)
    n_diag = int((pre == post).sum())
    assert abs(n_diag - n * p) < 5 * math.sqrt(n * p * (1 - p)) + 1


def test_fixed_probability_without_self_between_distinct_populations_keeps_diagonal():
    net = Network(dt=DT, seed=1)
    net.add_population("a", 50, LIF())
    net.add_population("b", 50, LIF())
    proj = net.connect("a", "b", FixedProbability(0.5, allow_self=False))
    pre, post = pairs_of(proj)
    assert (pre == post).sum() > 5  # allow_self only concerns a population onto itself


def test_fixed_probability_extremes():
    net = Network(dt=DT)
    net.add_population("a", 30, LIF())
    net.add_population("b", 20, LIF())
    assert net.connect("a", "b", FixedProbability(0.0), name="none").n_synapses == 0
    full = net.connect("a", "b", FixedProbability(1.0), name="all")
    assert full.n_synapses == 600
    check_csr(full, 30, 20)
    full_noself = net.connect("a", "a", FixedProbability(1.0, allow_self=False), name="all_noself")
    assert full_noself.n_synapses == 30 * 29


# ----------------------------------------------------------------------------- FixedInDegree

@pytest.mark.parametrize("allow_self", [True, False])
@pytest.mark.parametrize("k", [1, 10, 30, 60, 99])
def test_fixed_in_degree(k, allow_self):
    n = 100
    net = Network(dt=DT, seed=5)
    net.add_population("a", n, LIF())
    proj = net.connect("a", "a", FixedInDegree(k, allow_self=allow_self))
    check_csr(proj, n, n)
    pre, post = pairs_of(proj)
    assert proj.n_synapses == n * k
    assert (np.bincount(post, minlength=n) == k).all()
    # k distinct presynaptic neurons per post neuron
    assert len(np.unique(post * n + pre)) == n * k
    if not allow_self:
        assert not (pre == post).any()


@pytest.mark.parametrize("k", [150, 400, 600])
def test_fixed_in_degree_dense_rows(k):
    """k a large share of n_pre (up to all of them): exact in-degrees, uniform choice of pre neurons.

    Each post neuron picks k of n_pre, so each pair is present with probability k / n_pre,
    independently across post neurons: out-degrees ~ Binomial(n_post, k / n_pre).
    """
    n_pre, n_post = 600, 500
    net = Network(dt=DT, seed=8)
    net.add_poisson("a", n_pre, 1.0)
    net.add_population("b", n_post, LIF())
    proj = net.connect("a", "b", FixedInDegree(k))
    check_csr(proj, n_pre, n_post)
    pre, post = pairs_of(proj)
    assert (np.bincount(post, minlength=n_post) == k).all()
    assert len(np.unique(post * n_pre + pre)) == n_post * k
    q = k / n_pre
    out_deg = np.bincount(pre, minlength=n_pre)
    if q < 1:
        assert abs(out_deg.var(ddof=1) / (n_post * q * (1 - q)) - 1) < 5 * math.sqrt(2.0 / n_pre) + 0.05
    else:
        assert (out_deg == n_post).all()


def test_fixed_in_degree_all_but_self():
    n = 400
    net = Network(dt=DT, seed=8)
    net.add_population("a", n, LIF())
    proj = net.connect("a", "a", FixedInDegree(n - 1, allow_self=False))
    pre, post = pairs_of(proj)
    assert proj.n_synapses == n * (n - 1) and not (pre == post).any()


def test_fixed_in_degree_from_other_population_and_full():
    net = Network(dt=DT, seed=2)
    net.add_poisson("src", 40, 1.0)
    net.add_population("b", 70, LIF())
    proj = net.connect("src", "b", FixedInDegree(40))  # k == n_pre: everyone
    assert proj.n_synapses == 40 * 70
    pre, post = pairs_of(proj)
    assert (np.bincount(post, minlength=70) == 40).all()
    proj = net.connect("src", "b", FixedInDegree(4), name="k4")
    pre, post = pairs_of(proj)
    assert (np.bincount(post, minlength=70) == 4).all()
    # presynaptic choices are spread over the whole source (mean out-degree 70 * 4 / 40 = 7)
    out_deg = np.bincount(pre, minlength=40)
    assert out_deg.sum() == 280 and out_deg.max() < 25


# ----------------------------------------------------------------------------- OneToOne, AllToAll

def test_one_to_one():
    net = Network(dt=DT)
    net.add_spike_source("s", 7, [1e-3], [0])
    net.add_population("b", 7, LIF())
    proj = net.connect("s", "b", OneToOne())
    pre, post = pairs_of(proj)
    np.testing.assert_array_equal(pre, np.arange(7))
    np.testing.assert_array_equal(post, np.arange(7))


@pytest.mark.parametrize("allow_self", [True, False])
def test_all_to_all(allow_self):
    net = Network(dt=DT)
    net.add_population("a", 6, LIF())
    net.add_population("b", 4, LIF())
    other = net.connect("a", "b", AllToAll(allow_self=allow_self))
    pre, post = pairs_of(other)
    expected = {(i, j) for i in range(6) for j in range(4)}  # never drops pairs between distinct populations
    assert set(zip(pre.tolist(), post.tolist())) == expected and other.n_synapses == 24
    rec = net.connect("a", "a", AllToAll(allow_self=allow_self))
    check_csr(rec, 6, 6)
    pre, post = pairs_of(rec)
    expected = {(i, j) for i in range(6) for j in range(6) if allow_self or i != j}
    assert set(zip(pre.tolist(), post.tolist())) == expected
    assert rec.n_synapses == len(expected)


# ----------------------------------------------------------------------------- Dense orientation

W = np.array([[0.11, 0.23, 0.37],
              [0.41, 0.53, 0.67]])  # (n_post = 2, n_pre = 3)


def _fire_one(rule_builder, pre_neuron, n_pre=3, n_post=2, t_fire=1e-3, duration=5e-3, **connect_kw):
    """Source neuron ``pre_neuron`` fires alone at ``t_fire``; returns (times, v) of the post neurons."""
    net = Network(dt=DT, seed=0)
    net.add_spike_source("s", n_pre, [t_fire], [pre_neuron])
    net.add_population("p", n_post, LIF(tau_mem=1e3, v_th=1e9))
    net.connect("s", "p", rule_builder(), **connect_kw)
    net.probe_state("p", "v")
    res = simulate(net, duration, arithmetic="float64")
    tr = res.traces["p.v"]
    return tr.times, tr.values


@pytest.mark.parametrize("j", range(3))
@pytest.mark.parametrize("as_rule", [False, True])
def test_dense_matrix_is_post_by_pre(j, as_rule):
    t_fire = 1e-3
    times, v = _fire_one(lambda: Dense(W) if as_rule else W, j, t_fire=t_fire, delay=DT)
    k_arrive = round(t_fire / DT) + 1  # one step of delay
    assert np.isclose(times[k_arrive], t_fire + DT)
    np.testing.assert_array_equal(v[:k_arrive], 0.0)
    # the jump is exactly W[i, j] for every post neuron i
    np.testing.assert_array_equal(v[k_arrive], W[:, j])


def test_dense_matrix_stored_per_pair():
    net = Network(dt=DT)
    net.add_spike_source("s", 3, [1e-3], [0])
    net.add_population("p", 2, LIF())
    proj = net.connect("s", "p", W)
    pre, post = pairs_of(proj)
    np.testing.assert_array_equal(proj.weights, W[post, pre])
    assert proj.n_synapses == 6


def test_dense_square_matrix_orientation():
    """A square matrix must not be silently transposed: W[i, j] is j -> i."""
    Wsq = np.array([[0.0, 0.5], [0.25, 0.0]])  # 0 -> 1 has 0.25, 1 -> 0 has 0.5
    for j, expect in ((0, [0.0, 0.25]), (1, [0.5, 0.0])):
        times, v = _fire_one(lambda: Wsq, j, n_pre=2, n_post=2, delay=DT)
        np.testing.assert_array_equal(v[round(1e-3 / DT) + 1], expect)


# ----------------------------------------------------------------------------- Sparse

SP_PRE = np.array([2, 0, 1, 0, 2, 1])
SP_POST = np.array([1, 1, 0, 0, 0, 2])
SP_W = np.array([0.11, 0.22, 0.33, 0.44, 0.55, 0.66])
SP_D = np.array([0.3e-3, 0.5e-3, 0.7e-3, 0.9e-3, 1.1e-3, 1.3e-3])


@pytest.mark.parametrize("j", range(3))
def test_sparse_weights_and_delays_follow_pair_order(j):
    t_fire, tau = 1e-3, 1e3
    times, v = _fire_one(lambda: Sparse(SP_PRE, SP_POST), j, n_post=3, t_fire=t_fire, weight=SP_W, delay=SP_D)
    expected = np.zeros_like(v)
    for pre, post, w, d in zip(SP_PRE, SP_POST, SP_W, SP_D):
        if pre != j:
            continue
        k_arrive = round((t_fire + d) / DT)
        m = np.arange(len(times)) - k_arrive
        expected[:, post] += np.where(m >= 0, w * np.exp(-np.maximum(m, 0) * DT / tau), 0.0)
    np.testing.assert_allclose(v, expected, rtol=1e-12, atol=0)
    # the first nonzero sample of each target is exactly the weight
    for pre, post, w, d in zip(SP_PRE, SP_POST, SP_W, SP_D):
        if pre == j:
            k = round((t_fire + d) / DT)
            assert v[k, post] == w and v[k - 1, post] == 0.0


def test_sparse_stored_per_pair():
    net = Network(dt=DT)
    net.add_spike_source("s", 3, [1e-3], [0])
    net.add_population("p", 3, LIF())
    proj = net.connect("s", "p", Sparse(SP_PRE, SP_POST), weight=SP_W, delay=SP_D)
    pre, post = pairs_of(proj)
    lookup = {(a, b): (w, d) for a, b, w, d in zip(SP_PRE, SP_POST, SP_W, SP_D)}
    assert set(zip(pre.tolist(), post.tolist())) == set(lookup)
    for k, (a, b) in enumerate(zip(pre.tolist(), post.tolist())):
        assert proj.weights[k] == lookup[(a, b)][0]
        assert proj.delays[k] == lookup[(a, b)][1]


# ----------------------------------------------------------------------------- reproducibility

def _build(seed, extra_first=False, name="rec"):
    net = Network(dt=DT, seed=seed)
    net.add_population("a", 300, LIF())
    net.add_population("b", 200, LIF())
    if extra_first:
        net.connect("b", "a", FixedProbability(0.3), weight=Normal(0.1, 0.02), name="unrelated")
        net.connect("b", "b", FixedInDegree(7), weight=Uniform(0, 1), name="unrelated2")
    proj = net.connect("a", "b", FixedProbability(0.05), weight=Normal(0.5, 0.1),
                       delay=Uniform(1e-4, 3e-3), name=name)
    proj2 = net.connect("a", "a", FixedInDegree(13), weight=Uniform(0.0, 0.1), name=name + "_in")
    return proj, proj2


def _same(p, q):
    return (np.array_equal(p.indptr, q.indptr) and np.array_equal(p.indices, q.indices)
            and np.array_equal(p.weights, q.weights) and np.array_equal(p.delays, q.delays))


def test_same_seed_same_connectivity():
    for p, q in zip(_build(7), _build(7)):
        assert _same(p, q)


def test_different_seed_different_connectivity():
    for p, q in zip(_build(7), _build(8)):
        assert not np.array_equal(p.indices, q.indices)
        assert not np.array_equal(p.weights, q.weights)


def test_projection_name_changes_connectivity():
    for p, q in zip(_build(7, name="rec"), _build(7, name="other")):
        assert not np.array_equal(p.indices, q.indices)


def test_unrelated_projection_does_not_change_another():
    for p, q in zip(_build(7), _build(7, extra_first=True)):
        assert _same(p, q)


def test_dense_delay_matrix_has_the_weights_shape():
    """delay[i, j] is the delay from pre j to post i, like weight[i, j]."""
    w = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    d = np.array([[1e-4, 2e-4, 3e-4], [4e-4, 5e-4, 6e-4]])
    net = Network(dt=1e-4)
    src = net.add_spike_source("s", 3, times=[])
    net.add_population("p", 2, LIF())
    proj = net.connect(src, "p", w, delay=d)
    for j in range(3):
        for i in range(2):
            k = proj.indptr[j] + int(np.flatnonzero(proj.indices[proj.indptr[j]:proj.indptr[j + 1]] == i)[0])
            assert proj.weights[k] == w[i, j] and proj.delays[k] == d[i, j]
    with pytest.raises(NetworkError, match="delay"):
        net.connect(src, "p", w, delay=d.T, name="transposed")


def test_scipy_sparse_matrix_and_csr_arrays():
    """A scipy.sparse (n_post, n_pre) matrix: entry [i, j] is a synapse pre j -> post i with that weight."""
    import scipy.sparse as sp

    w = sp.random(7, 5, density=0.4, random_state=3, format="csc") + 0.5 * sp.eye(7, 5)
    net = Network(dt=1e-4)
    net.add_population("a", 5, LIF())
    net.add_population("b", 7, LIF())
    proj = net.connect("a", "b", w)
    dense = w.toarray()
    rebuilt = np.zeros((7, 5))
    for j in range(5):
        for k in range(proj.indptr[j], proj.indptr[j + 1]):
            rebuilt[proj.indices[k], j] = proj.weights[k]
    np.testing.assert_array_equal(rebuilt, dense)
    assert proj.n_synapses == w.tocsr().nnz
    with pytest.raises(NetworkError, match="shape"):
        net.connect("b", "a", w, name="wrong")
    # the same structure from compressed rows keyed by the presynaptic neuron
    same = net.connect("a", "b", Sparse.from_csr(proj.indptr, proj.indices), weight=proj.weights, name="csr")
    np.testing.assert_array_equal(same.indptr, proj.indptr)
    np.testing.assert_array_equal(same.indices, proj.indices)
    np.testing.assert_array_equal(same.weights, proj.weights)
