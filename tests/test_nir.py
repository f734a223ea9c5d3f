"""NIR interchange (snnsim.io.nir): exact round trips, Norse as an independent oracle, clean errors."""

from __future__ import annotations

import os
import warnings

import h5py
import numpy as np
import nir
import pytest

import snnsim
from snnsim import (
    IF,
    LI,
    LIF,
    AllToAll,
    CobaLIF,
    CubaLIF,
    FileFormatError,
    FixedProbability,
    Network,
    NetworkError,
    Normal,
    OneToOne,
    Sparse,
    Uniform,
)
from snnsim.io.nir import from_nir, read_nir, to_nir, write_nir
from snnsim.network import PoissonSource, StateProbe

DT = 1e-3


# ---------------------------------------------------------------- networks
def feed_forward() -> Network:
    """Spike input -> CubaLIF (per-neuron tau_mem) -> LI readout (current synapses); dense projections."""
    rng = np.random.default_rng(1)
    net = Network(dt=DT, integration="euler", seed=11, name="ff")
    x = net.add_spike_source("x", 5, rng.uniform(0, 0.06, 80), rng.integers(0, 5, 80))
    a = net.add_population("a", 8, CubaLIF(tau_mem=rng.uniform(10e-3, 30e-3, 8), tau_syn=5e-3))
    out = net.add_population("out", 3, LI(tau_mem=20e-3, tau_syn=8e-3))
    net.connect(x, a, rng.normal(1.0, 2.0, (8, 5)))
    net.connect(a, out, rng.normal(0.0, 1.0, (3, 8)))
    net.probe_spikes(a)
    net.probe_state(a, "v")
    net.probe_state(out, "v")
    return net


def recurrent() -> Network:
    """LIF with per-neuron arrays, sparse random and recurrent projections, bias and delays."""
    rng = np.random.default_rng(2)
    net = Network(dt=DT, integration="exact", seed=5, name="rec")
    x = net.add_spike_source("x", 10, rng.uniform(0, 0.08, 200), rng.integers(0, 10, 200))
    e = net.add_population("e", 30, LIF(tau_mem=rng.uniform(10e-3, 30e-3, 30), v_th=rng.uniform(0.8, 1.2, 30),
                                         v_reset=-0.1, r=rng.uniform(0.5, 1.5, 30), i_bias=0.2))
    net.connect(x, e, FixedProbability(0.3), weight=Uniform(0.1, 0.6))
    net.connect(e, e, FixedProbability(0.1, allow_self=False), weight=Uniform(-0.3, 0.3), delay=2e-3)
    net.connect(e, e, Sparse(np.array([0, 1, 2, 5]), np.array([3, 3, 9, 4])), weight=[0.4, 0.2, -0.1, 0.3],
                delay=[3e-3, 1e-3, 1e-3, 4e-3], name="e->e sparse")
    net.probe_spikes(e)
    net.probe_state(e, "v", [0, 3, 7], every=3)
    return net


def integrate_and_fire() -> Network:
    """IF (tau_mem != 1), LI with instantaneous input, a Delay after the weights (per post neuron)."""
    rng = np.random.default_rng(3)
    net = Network(dt=0.5e-3, integration="exact", seed=1, name="if")
    x = net.add_spike_source("x", 4, rng.uniform(0, 0.04, 60), rng.integers(0, 4, 60))
    f = net.add_population("f", 6, IF(tau_mem=0.5, v_th=rng.uniform(0.5, 1.0, 6), i_bias=0.05))
    li = net.add_population("li", 2, LI(tau_mem=15e-3))
    net.connect(x, f, AllToAll(), weight=0.3)
    # delays constant per postsynaptic neuron: a Delay after the Linear
    pre = np.repeat(np.arange(6), 2)
    post = np.tile(np.arange(2), 6)
    net.connect(f, li, Sparse(pre, post), weight=rng.uniform(0.1, 0.5, 12), delay=np.where(post == 0, 1e-3, 3e-3))
    net.probe_state(li, "v")
    return net


def everything() -> Network:
    """Things NIR cannot express, kept in snnsim metadata: Poisson, currents, t_ref, reset by subtraction,
    initial states (distributions), CubaLIF bias, per-synapse delays, odd names."""
    rng = np.random.default_rng(4)
    net = Network(dt=0.1e-3, integration="exact", seed=9, name="all")
    p = net.add_poisson("p.oisson", 20, np.array([200.0, 900.0, 400.0]), rate_dt=10e-3)
    c = net.add_population("cuba%1", 10, CubaLIF(tau_syn=rng.uniform(2e-3, 8e-3, 10), i_bias=0.5, t_ref=2e-3),
                           initial={"v": Uniform(0.0, 0.9), "i_syn": rng.uniform(0, 1, 10)})
    lif = net.add_population("lif", 6, LIF(reset="subtract", t_ref=1e-3), initial={"v": Normal(0.2, 0.1)})
    net.add_population("lonely", 2, LIF(i_bias=1.5))
    net.connect(p, c, FixedProbability(0.4), weight=0.8, delay=Uniform(0.1e-3, 3e-3))
    net.connect(c, lif, FixedProbability(0.5), weight=Uniform(0.0, 0.6), name="lif")  # same name as a population
    net.add_current("drive", lif, np.array([0.0, 0.5, 1.2]), sample_dt=5e-3)
    net.probe_spikes(p)
    net.probe_state(c, "i_syn", [1, 2])
    return net


NETWORKS = [feed_forward, recurrent, integrate_and_fire, everything]


# ---------------------------------------------------------------- checks
def assert_same_value(a, b, what):
    assert (np.ndim(a) == 0) == (np.ndim(b) == 0), what
    if np.ndim(a) == 0:
        assert a == b or (np.isnan(a) and np.isnan(b)), what
    else:
        assert a.dtype == b.dtype and np.array_equal(a, b), what


def assert_same_network(n1: Network, n2: Network):
    assert (n1.name, n1.seed, n1.dt, n1.integration) == (n2.name, n2.seed, n2.dt, n2.integration)
    assert list(n1.populations) == list(n2.populations)
    for name, p in n1.populations.items():
        q = n2.populations[name]
        assert p.size == q.size and type(p.model) is type(q.model), name
        for f in p.model.parameter_names():
            assert_same_value(getattr(p.model, f), getattr(q.model, f), f"{name}.{f}")
        assert getattr(p.model, "reset", None) == getattr(q.model, "reset", None)
        assert list(p.initial) == list(q.initial)
        for var, v in p.initial.items():
            if isinstance(v, (Uniform, Normal)):
                assert v == q.initial[var]
            else:
                assert_same_value(v, q.initial[var], f"{name}.initial.{var}")
    assert list(n1.sources) == list(n2.sources)
    for name, s in n1.sources.items():
        t = n2.sources[name]
        assert type(s) is type(t) and s.size == t.size
        if isinstance(s, PoissonSource):
            assert np.array_equal(s.rate, t.rate) and s.rate_dt == t.rate_dt
        else:
            assert np.array_equal(s.times, t.times) and np.array_equal(s.indices, t.indices)
    assert list(n1.projections) == list(n2.projections)
    for name, p in n1.projections.items():
        q = n2.projections[name]
        assert (p.pre, p.post, p.target, p.rule) == (q.pre, q.post, q.target, q.rule), name
        for f in ("indptr", "indices"):
            assert getattr(p, f).dtype == getattr(q, f).dtype and np.array_equal(getattr(p, f), getattr(q, f))
        assert_same_value(p.weights, q.weights, f"{name}.weights")
        assert (p.delays is None) == (q.delays is None)
        if p.delays is not None:
            assert_same_value(p.delays, q.delays, f"{name}.delays")
    assert list(n1.currents) == list(n2.currents)
    for name, c in n1.currents.items():
        d = n2.currents[name]
        assert c.target == d.target and np.array_equal(c.amplitude, d.amplitude) and c.sample_dt == d.sample_dt
    assert list(n1.probes) == list(n2.probes)
    for name, p in n1.probes.items():
        q = n2.probes[name]
        assert type(p) is type(q) and p.target == q.target
        if isinstance(p, StateProbe):
            assert p.variable == q.variable and p.every == q.every and np.array_equal(p.neurons, q.neurons)


def assert_same_run(n1: Network, n2: Network, duration=0.05):
    r1 = snnsim.simulate(n1, duration, arithmetic="float64")
    r2 = snnsim.simulate(n2, duration, arithmetic="float64")
    assert r1.spike_counts == r2.spike_counts
    for k in r1.spikes:
        assert np.array_equal(r1.spikes[k].times, r2.spikes[k].times), k
        assert np.array_equal(r1.spikes[k].indices, r2.spikes[k].indices), k
    for k in r1.traces:
        assert np.array_equal(r1.traces[k].values, r2.traces[k].values), k
    return r1, r2


# ------------------------------------------------------- exact round trips
@pytest.mark.parametrize("build", NETWORKS)
def test_round_trip_in_memory_is_bit_identical(build):
    net = build()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the exact path must be taken, silently
        back = from_nir(to_nir(net, net.dt, net.integration), net.dt, net.integration)
    assert_same_network(net, back)
    r1, _ = assert_same_run(net, back)
    assert r1.counters["neuron_spikes"] > 0 or build is integrate_and_fire


@pytest.mark.parametrize("build", NETWORKS)
def test_round_trip_through_file_is_bit_identical(build, tmp_path):
    net = build()
    path = tmp_path / "net.nir"
    write_nir(net, path)
    with h5py.File(path, "r") as f:  # a plain NIR file
        assert "node" in f and "version" in f
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        back = read_nir(path)  # dt and integration from the file's metadata
    assert_same_network(net, back)
    assert_same_run(net, back)
    # also readable by nir itself, with its type checks
    assert isinstance(nir.read(path, type_check=False), nir.NIRGraph)


def test_file_round_trip_after_nir_read_and_write_again(tmp_path):
    """A graph read with nir.read (with its type inference, which adds Inputs in front of populations
    without input) and written again with nir.write still round-trips exactly."""
    net = everything()
    write_nir(net, tmp_path / "a.nir")
    g = nir.read(tmp_path / "a.nir")
    assert "input_lonely" in g.nodes
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_same_network(net, from_nir(g))
        nir.write(tmp_path / "b.nir", g)
        assert_same_network(net, read_nir(tmp_path / "b.nir"))


def test_import_closed_form_scale_delay_flatten_bias():
    """Generic import: Scale folds into the weights, Delay adds to the one-step default, Flatten is a
    reshape, an Affine bias into LIF/IF becomes i_bias; w = k W with k = dt r/tau, dt r, dt w_in/tau_syn."""
    dt = 0.5e-3
    W = np.arange(1.0, 13.0).reshape(2, 6) / 10
    s_pre, s_post = np.linspace(0.5, 1.0, 6), np.array([2.0, -1.0])
    nodes = {
        "img": nir.Input(np.array([2, 3])),
        "flat": nir.Flatten(input_type={"input": np.array([2, 3])}, start_dim=0),
        "d": nir.Delay(delay=np.array([0.0, 1e-3, 0.0, 2e-3, 0.0, 0.0])),
        "s1": nir.Scale(scale=s_pre),
        "aff": nir.Affine(weight=W, bias=np.array([0.1, 0.2])),
        "s2": nir.Scale(scale=s_post),
        "lif": _lif(2, tau=np.array([0.01, 0.02]), r=np.array([1.0, 3.0])),
        "if": nir.IF(r=np.full(2, 4.0), v_threshold=np.ones(2)),
        "i": nir.I(r=np.full(2, 2.0)),
        "cli": nir.CubaLI(tau_syn=np.full(2, 5e-3), tau_mem=np.full(2, 0.02), r=np.ones(2), v_leak=np.zeros(2),
                          w_in=np.array([1.0, 3.0])),
        "o": nir.Output(np.array([2])),
    }
    edges = [("img", "flat"), ("flat", "d"), ("d", "s1"), ("s1", "aff"), ("aff", "s2"), ("s2", "lif"),
             ("lif", "if"), ("if", "i"), ("i", "cli"), ("cli", "o")]
    net = from_nir(_graph(nodes, edges), dt)
    p = net.projections["aff"]
    M = (s_post[:, None] * W * s_pre[None, :]) * (dt * np.array([1.0, 3.0]) / np.array([0.01, 0.02]))[:, None]
    dense = np.zeros((2, 6))
    rows = np.repeat(np.arange(6), np.diff(p.indptr))
    dense[p.indices, rows] = p.weights
    np.testing.assert_allclose(dense, M, rtol=1e-14)
    delays = np.zeros((2, 6))
    delays[p.indices, rows] = p.delays
    np.testing.assert_allclose(delays, np.broadcast_to(np.array([0, 1e-3, 0, 2e-3, 0, 0]) + dt, (2, 6)), rtol=1e-14)
    np.testing.assert_allclose(net.populations["lif"].model.i_bias, [0.1 * 2.0, 0.2 * -1.0])  # through s2
    assert net.projections["lif->if"].delays is None                     # identity edge: one-to-one, weight k
    np.testing.assert_allclose(net.projections["lif->if"].weights, [dt * 4.0] * 2)
    m = net.populations["i"].model
    assert isinstance(m, IF) and m.v_th == np.inf and m.tau_mem == 1.0
    np.testing.assert_allclose(net.projections["i->cli"].weights, dt * np.array([1.0, 3.0]) / 5e-3)
    assert isinstance(net.populations["cli"].model, LI) and "cli.v" in net.probes
    # a Flatten whose declared input does not fit the signal
    nodes["flat"] = nir.Flatten(input_type={"input": np.array([2, 2])}, start_dim=0)
    with pytest.raises(NetworkError, match=r"NIR node 'flat' \(Flatten\): input_type: flattens 4 values but "
                                           r"receives 6 from 'img'"):
        from_nir(_graph(nodes, edges), dt)


# ------------------------------------------------------------ the graph
def test_graph_nodes_weights_and_metadata_closed_form():
    net = Network(dt=DT, integration="exact")
    x = net.add_spike_source("x", 2, [0.001], [0])
    lif = net.add_population("lif", 3, LIF(tau_mem=[10e-3, 20e-3, 40e-3], r=2.0, i_bias=0.25))
    cuba = net.add_population("cuba", 2, CubaLIF(tau_syn=4e-3))
    iff = net.add_population("iff", 2, IF(tau_mem=0.5))
    w = np.array([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]])
    net.connect(x, lif, w, delay=4e-3)
    net.connect(lif, cuba, AllToAll(), weight=0.7)
    net.connect(cuba, iff, OneToOne(), weight=0.9)
    net.probe_spikes(lif)
    g = to_nir(net, 0.5e-3, "euler")
    dt = 0.5e-3
    assert g.metadata["dt"] == dt and g.metadata["integration"] == "euler"
    assert isinstance(g.nodes["x"], nir.Input) and list(g.nodes["x"].input_type["input"]) == [2]
    assert isinstance(g.nodes["lif"], nir.LIF) and isinstance(g.nodes["cuba"], nir.CubaLIF)
    assert isinstance(g.nodes["iff"], nir.IF)
    np.testing.assert_array_equal(g.nodes["lif"].tau, [10e-3, 20e-3, 40e-3])
    np.testing.assert_array_equal(g.nodes["iff"].r, [2.0, 2.0])          # r / tau_mem
    # weights: W_nir = w / k, k = dt r / tau_mem (LIF), dt / tau_syn (CubaLIF), dt r / tau_mem (IF)
    a = g.nodes["x->lif"]
    assert isinstance(a, nir.Affine)                                       # carries lif's i_bias
    np.testing.assert_allclose(a.weight, w / (dt * 2.0 / np.array([10e-3, 20e-3, 40e-3]))[:, None], rtol=1e-15)
    np.testing.assert_array_equal(a.bias, [0.25] * 3)
    np.testing.assert_allclose(g.nodes["lif->cuba"].weight, np.full((2, 3), 0.7 / (dt / 4e-3)), rtol=1e-15)
    np.testing.assert_allclose(g.nodes["cuba->iff"].weight, np.eye(2) * 0.9 / (dt * 2.0), rtol=1e-15)
    # a delay of 4 ms at dt 0.5 ms: NIR delay = 4 ms - one step (snnsim's one-step default)
    np.testing.assert_allclose(g.nodes["x->lif_delay"].delay, [3.5e-3] * 2, rtol=1e-15)
    edges = set(g.edges)
    assert {("x", "x->lif_delay"), ("x->lif_delay", "x->lif"), ("x->lif", "lif")} <= edges
    assert ("lif", "lif_output") in edges and ("iff", "iff_output") in edges   # probed / no outgoing projection
    assert not any(e[0] == "cuba" and e[1].endswith("output") for e in edges)
    g.check_types()  # nir's own type check agrees with the shapes
    assert g.metadata["snnsim"]["lossy"] == ""


def test_strict_rejects_what_nir_cannot_express():
    with pytest.raises(NetworkError, match=r"poisson source 'p.oisson': rate: .*strict=True"):
        to_nir(everything(), strict=True)
    net = recurrent()
    net.populations["e"].model = LIF(t_ref=2e-3)
    with pytest.raises(NetworkError, match=r"population 'e': t_ref: NIR neurons have no refractory period"):
        to_nir(net, strict=True)
    to_nir(feed_forward(), strict=True)  # nothing lost


def test_without_snnsim_metadata_the_nir_fields_alone_give_the_same_dynamics():
    for build in (feed_forward, recurrent, integrate_and_fire):
        net = build()
        g = to_nir(net)
        for node in g.nodes.values():
            node.metadata = {}
        g.metadata = {"dt": net.dt}                       # as another tool would write it
        src = net.sources["x"]
        back = from_nir(g, integration=net.integration, inputs={"x": (src.times, src.indices)})
        assert list(back.populations) == list(net.populations)
        back.probes = {}
        for pop in net.populations:
            back.probe_spikes(pop)
        for probe in net.probes.values():
            if isinstance(probe, StateProbe):
                back.probe_state(probe.target, probe.variable, probe.neurons, probe.every, name=probe.name)
        r1 = snnsim.simulate(net, 0.05, arithmetic="float64")
        r2 = snnsim.simulate(back, 0.05, arithmetic="float64")
        for pop in net.populations:
            if pop in r1.spikes:
                assert np.array_equal(r1.spikes[pop].times, r2.spikes[pop].times), (build, pop)
        for k, tr in r1.traces.items():   # weights are k * (w / k): equal to rounding
            np.testing.assert_allclose(tr.values, r2.traces[k].values, rtol=1e-9, atol=1e-12)
        assert sum(r2.spike_counts[p] for p in net.populations) > 0


def test_a_changed_graph_is_imported_from_its_nir_fields():
    net = feed_forward()
    g = to_nir(net)
    g.nodes["x->a"].weight = g.nodes["x->a"].weight * 2.0
    with pytest.warns(UserWarning, match="changed since snnsim wrote it"):
        back = from_nir(g)
    w0 = np.asarray(net.projections["x->a"].weights)
    w1 = np.asarray(back.projections["x->a"].weights)
    np.testing.assert_allclose(w1, 2.0 * w0, rtol=1e-12)


def test_import_at_another_dt_rescales_weights_and_delays():
    net = recurrent()
    g = to_nir(net, 1e-3)
    back = from_nir(g, 0.5e-3)
    assert back.dt == 0.5e-3
    p0, p1 = net.projections["e->e"], back.projections["e->e"]
    assert p1.delays == pytest.approx(2e-3 - 1e-3 + 0.5e-3)
    np.testing.assert_allclose(p1.weights, p0.weights * 0.5, rtol=1e-15)
    assert back.projections["x->e"].delays is None   # one step of whatever dt


# ------------------------------------------------------------ Norse oracle
def _norse_run(module, x: np.ndarray):
    """Run a nirtorch/Norse graph executor step by step; returns (spikes, states) per node, per step."""
    import torch
    state = None
    caches, states = [], []
    with torch.no_grad():
        for k in range(x.shape[0]):
            _, state = module(torch.as_tensor(x[k], dtype=torch.float32), state) if state is not None else \
                module(torch.as_tensor(x[k], dtype=torch.float32))
            caches.append({n: v.detach().numpy().copy() for n, v in state.cache.items()})
            states.append(state.state)
    return caches, states


def _spike_source_from(net, name, x, dt):
    k, j = np.nonzero(x)
    return net.add_spike_source(name, x.shape[1], k * dt, j)


def _ours(net, T, lag):
    net.integration = "euler"
    return snnsim.simulate(net, (T + lag) * net.dt, arithmetic="float64")


def _spike_steps(res, pop, lag, T):
    """(step, neuron) of our spikes shifted back by ``lag`` steps, within the first T Norse steps."""
    steps = np.rint(res.spikes[pop].times / DT).astype(int) - lag
    keep = steps < T
    return sorted(zip(steps[keep].tolist(), res.spikes[pop].indices[keep].tolist()))


def _norse_spikes(caches, name):
    return sorted((k, int(j)) for k, c in enumerate(caches) for j in np.flatnonzero(c[name]))


def test_ours_to_nir_to_norse_cubalif_and_li_readout_match():
    """ours -> NIR -> norse.torch.from_nir -> Norse forward == ours (euler), with the documented lags:
    a CubaLIF layer lags Norse by 2 steps (projection delay + v uses i_syn of the step before)."""
    pytest.importorskip("norse")
    import norse.torch as norse
    T = 60
    rng = np.random.default_rng(7)
    x = (rng.random((T, 5)) < 0.15).astype(np.float64)
    net = Network(dt=DT, integration="euler")
    src = _spike_source_from(net, "x", x, DT)
    a = net.add_population("a", 8, CubaLIF(tau_mem=rng.uniform(8e-3, 20e-3, 8), tau_syn=4e-3, r=1.5))
    ro = net.add_population("ro", 3, LI(tau_mem=15e-3, tau_syn=6e-3, r=0.8))
    net.connect(src, a, rng.normal(0.3, 0.3, (8, 5)))
    net.connect(a, ro, rng.normal(0.0, 0.5, (3, 8)))
    g = to_nir(net, DT, "euler")
    # Norse 1.1's from_nir maps no LI/CubaLI: give it the same readout as a CubaLIF that never fires
    li = g.nodes["ro"]
    g.nodes["ro"] = nir.CubaLIF(tau_syn=li.tau_syn, tau_mem=li.tau_mem, r=li.r, v_leak=li.v_leak,
                                v_threshold=np.full(3, np.inf), w_in=li.w_in)
    module = norse.from_nir(g, dt=DT)
    caches, states = _norse_run(module, x)
    for p in ("a", "ro"):
        net.probe_state(p, "v", name=f"{p}.v")
        net.probe_state(p, "i_syn", name=f"{p}.i")
    net.probe_spikes("a")
    res = _ours(net, T, 4)
    n_i = np.array([s["a"][0][0].v.numpy() for s in states])
    n_v = np.array([s["a"][0][1].v.numpy() for s in states])
    r_i = np.array([s["ro"][0][0].v.numpy() for s in states])
    r_v = np.array([s["ro"][0][1].v.numpy() for s in states])
    assert len(_norse_spikes(caches, "a")) > 5
    assert _spike_steps(res, "a", 2, T) == _norse_spikes(caches, "a")
    np.testing.assert_allclose(res.traces["a.i"].values[1:T + 1], n_i, atol=2e-6, rtol=1e-5)
    np.testing.assert_allclose(res.traces["a.v"].values[2:T + 2], n_v, atol=2e-6, rtol=1e-5)
    np.testing.assert_allclose(res.traces["ro.i"].values[3:T + 3], r_i, atol=2e-6, rtol=1e-5)
    np.testing.assert_allclose(res.traces["ro.v"].values[4:T + 4], r_v, atol=2e-6, rtol=1e-5)
    assert np.abs(r_v).max() > 0.05


def test_ours_to_nir_to_norse_lif_match():
    """LIF (delta synapses): one step of lag per layer."""
    pytest.importorskip("norse")
    import norse.torch as norse
    T = 80
    rng = np.random.default_rng(8)
    x = (rng.random((T, 6)) < 0.2).astype(np.float64)
    net = Network(dt=DT, integration="euler")
    src = _spike_source_from(net, "x", x, DT)
    h = net.add_population("h", 10, LIF(tau_mem=rng.uniform(5e-3, 20e-3, 10), v_th=rng.uniform(0.3, 0.6, 10)))
    o = net.add_population("o", 4, LIF(tau_mem=10e-3, v_th=0.2, v_leak=0.05))
    net.connect(src, h, rng.uniform(0.0, 0.3, (10, 6)))
    net.connect(h, o, rng.uniform(-0.1, 0.4, (4, 10)))
    module = norse.from_nir(to_nir(net, DT, "euler"), dt=DT)
    caches, states = _norse_run(module, x)
    for p in ("h", "o"):
        net.probe_state(p, "v", name=f"{p}.v")
        net.probe_spikes(p)
    res = _ours(net, T, 2)
    assert len(_norse_spikes(caches, "h")) > 10 and len(_norse_spikes(caches, "o")) > 3
    assert _spike_steps(res, "h", 1, T) == _norse_spikes(caches, "h")
    assert _spike_steps(res, "o", 2, T) == _norse_spikes(caches, "o")
    np.testing.assert_allclose(res.traces["h.v"].values[1:T + 1], [s["h"][0].v.numpy() for s in states],
                               atol=2e-6, rtol=1e-5)
    # the second layer lags two steps; it starts at rest (v = v_leak), so the extra step changes nothing
    np.testing.assert_allclose(res.traces["o.v"].values[2:T + 2], [s["o"][0].v.numpy() for s in states],
                               atol=2e-6, rtol=1e-5)


def test_ours_to_nir_to_norse_if_match_at_unit_dt():
    """IF: NIR's dv/dt = r I gives a jump dt r W; Norse's IAFCell adds W (no dt): equal for dt = 1 s."""
    pytest.importorskip("norse")
    import norse.torch as norse
    T, dt = 40, 1.0
    rng = np.random.default_rng(10)
    x = (rng.random((T, 4)) < 0.3).astype(np.float64)
    net = Network(dt=dt, integration="euler")
    src = _spike_source_from(net, "x", x, dt)
    net.add_population("f", 5, IF(tau_mem=1.0, v_th=rng.uniform(0.5, 1.0, 5)))
    net.connect(src, "f", rng.uniform(0.0, 0.4, (5, 4)))
    caches, states = _norse_run(norse.from_nir(to_nir(net, dt, "euler"), dt=dt), x)
    net.probe_state("f", "v", name="f.v")
    net.probe_spikes("f")
    res = snnsim.simulate(net, (T + 1) * dt, arithmetic="float64")
    steps = np.rint(res.spikes["f"].times / dt).astype(int) - 1
    ours = sorted((int(k), int(j)) for k, j in zip(steps, res.spikes["f"].indices) if k < T)
    assert len(ours) > 5 and ours == _norse_spikes(caches, "f")
    np.testing.assert_allclose(res.traces["f.v"].values[1:T + 1], [s["f"][0].v.numpy() for s in states],
                               atol=2e-6, rtol=1e-5)


def test_norse_to_nir_graph_imports_runs_and_matches_norse_forward():
    """A graph written by norse.torch.to_nir (Linear+bias -> LIFBoxCell -> Linear -> LIBoxCell) imports,
    runs on our CPU engine and matches the Norse model's own forward."""
    pytest.importorskip("norse")
    import norse.torch as norse
    import torch
    torch.manual_seed(0)
    T = 80
    model = norse.SequentialState(
        torch.nn.Linear(4, 6),
        norse.LIFBoxCell(norse.LIFBoxParameters(tau_mem_inv=torch.tensor(1 / 12e-3), v_th=torch.tensor(0.4)), dt=DT),
        torch.nn.Linear(6, 3, bias=False),
        norse.LIBoxCell(norse.LIBoxParameters(tau_mem_inv=torch.tensor(1 / 20e-3)), dt=DT),
    )
    with torch.no_grad():
        model[0].weight.mul_(3.0)
    # Norse writes tau = dt / tau_mem_inv: dt=1.0 makes it the time constant itself
    g = norse.to_nir(model, torch.zeros(1, 4), dt=1.0)
    rng = np.random.default_rng(9)
    x = (rng.random((T, 4)) < 0.3).astype(np.float64)
    net = from_nir(g, DT, "euler", inputs={"input": x})
    kinds = {type(p.model).__name__ for p in net.populations.values()}
    assert kinds == {"LIF", "LI"}
    lif_name = next(n for n, p in net.populations.items() if isinstance(p.model, LIF))
    li_name = next(n for n, p in net.populations.items() if isinstance(p.model, LI))
    net.probe_state(lif_name, "v", name="lif.v")
    assert li_name + ".v" in net.probes               # the graph's Output became a probe of the readout
    res = snnsim.simulate(net, (T + 2) * DT, arithmetic="float64")
    v_lif, v_li = [], []
    state = None
    with torch.no_grad():
        for k in range(T):
            out, state = model(torch.as_tensor(x[k:k + 1], dtype=torch.float32), state)
            v_lif.append(state[1].v.numpy()[0].copy())   # LIFBoxCell state (batch of one)
            v_li.append(out.numpy()[0].copy())            # LIBoxCell output: its v
    # one step of lag per layer (our projection delay); the bias acts from t = 0 in both
    np.testing.assert_allclose(res.traces["lif.v"].values[1:T + 1], np.array(v_lif), atol=2e-6, rtol=1e-5)
    np.testing.assert_allclose(res.traces[li_name + ".v"].values[2:T + 2], np.array(v_li), atol=2e-6, rtol=1e-5)
    assert res.spike_counts[lif_name] > 5


def test_norse_lifcell_export_imports_as_cubalif():
    """Norse's LIFCell is written as a NIR CubaLIF; it imports and runs, and matches Norse's own re-import
    of that graph (Norse's native LIFCell adds its input to i without the dt/tau_syn of NIR's CubaLIF)."""
    pytest.importorskip("norse")
    import norse.torch as norse
    import torch
    torch.manual_seed(1)
    T = 50
    model = norse.SequentialState(torch.nn.Linear(3, 5, bias=False), norse.LIFCell(dt=DT))
    with torch.no_grad():
        model[0].weight.mul_(40.0)
    g = norse.to_nir(model, torch.zeros(1, 3), dt=1.0)
    x = (np.random.default_rng(2).random((T, 3)) < 0.3).astype(np.float64)
    net = from_nir(g, DT, inputs={"input": x})
    (name, pop), = net.populations.items()
    assert isinstance(pop.model, CubaLIF) and pop.model.tau_syn == pytest.approx(5e-3)
    net.probe_state(name, "v", name="v")
    res = snnsim.simulate(net, (T + 2) * DT, arithmetic="float64")
    g2 = norse.to_nir(model, torch.zeros(1, 3), dt=1.0)
    g2.nodes["input"] = nir.Input(np.array([3]))
    _, states = _norse_run(norse.from_nir(g2, dt=DT), x)
    v_norse = np.array([s[name][0][1].v.numpy().reshape(-1) for s in states])
    assert np.abs(v_norse).max() > 0.1
    np.testing.assert_allclose(res.traces["v"].values[2:T + 2], v_norse, atol=2e-6, rtol=1e-5)


# ------------------------------------------------------------------ errors
def _lif(n, **kw):
    p = {"tau": np.full(n, 0.01), "r": np.ones(n), "v_leak": np.zeros(n), "v_threshold": np.ones(n)}
    p.update(kw)
    return nir.LIF(**p)


def _graph(nodes, edges, **meta):
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=meta, type_check=False)


def test_error_unknown_node_type():
    g = _graph({"i": nir.Input(np.array([2])), "t": nir.Threshold(threshold=np.ones(2))}, [("i", "t")])
    with pytest.raises(NetworkError, match=r"NIR node 't' \(Threshold\): type: Threshold is not supported"):
        from_nir(g, DT)


def test_error_two_weight_layers_on_one_path():
    g = _graph({"i": nir.Input(np.array([2])), "l1": nir.Linear(np.ones((3, 2))), "l2": nir.Linear(np.ones((2, 3))),
                "n": _lif(2)}, [("i", "l1"), ("l1", "l2"), ("l2", "n")])
    with pytest.raises(NetworkError, match=r"NIR node 'l2' \(Linear\): edges: a second weight node"):
        from_nir(g, DT)


def test_error_output_through_operator_and_dangling_operator():
    g = _graph({"i": nir.Input(np.array([2])), "n": _lif(2), "l": nir.Linear(np.ones((1, 2))),
                "o": nir.Output(np.array([1]))}, [("i", "n"), ("n", "l"), ("l", "o")])
    with pytest.raises(NetworkError, match=r"'l' \(Linear\): edges: an Output \('o'\) fed through operators"):
        from_nir(g, DT)
    g = _graph({"i": nir.Input(np.array([2])), "n": _lif(2), "l": nir.Linear(np.ones((1, 2)))},
               [("i", "n"), ("n", "l")])
    with pytest.raises(NetworkError, match=r"'l' \(Linear\): edges: has no outgoing edge"):
        from_nir(g, DT)


def test_error_operator_cycle_edge_into_input_and_unknown_node():
    nodes = {"i": nir.Input(np.array([2])), "s": nir.Scale(scale=np.ones(2)), "d": nir.Delay(delay=np.zeros(2)),
             "n": _lif(2)}
    with pytest.raises(NetworkError, match=r"NIR node 's' \(Scale\): edges: is on a cycle of operators"):
        from_nir(_graph(nodes, [("i", "s"), ("s", "d"), ("d", "s"), ("d", "n")]), DT)
    with pytest.raises(NetworkError, match=r"NIR node 'i' \(Input\): edges: an Input cannot receive an edge"):
        from_nir(_graph(nodes, [("n", "i")]), DT)
    with pytest.raises(NetworkError, match=r"NIR graph: edges: edge \('i', 'nope'\) names no node 'nope'"):
        from_nir(_graph(nodes, [("i", "nope")]), DT)


def test_error_shapes_that_do_not_match():
    g = _graph({"i": nir.Input(np.array([3])), "l": nir.Linear(np.ones((2, 4))), "n": _lif(2)},
               [("i", "l"), ("l", "n")])
    with pytest.raises(NetworkError, match=r"NIR node 'l' \(Linear\): weight: expects 4 inputs .* receives 3 from 'i'"):
        from_nir(g, DT)
    g = _graph({"i": nir.Input(np.array([2])), "l": nir.Linear(np.ones((3, 2))), "n": _lif(2)},
               [("i", "l"), ("l", "n")])
    with pytest.raises(NetworkError, match=r"NIR node 'n' \(LIF\): shape: sizes do not match: 2 from field tau"):
        from_nir(g, DT)


def test_error_nan_parameter_names_node_field_and_value():
    g = _graph({"i": nir.Input(np.array([2])), "n": _lif(2, tau=np.array([0.01, np.nan]))}, [("i", "n")])
    with pytest.raises(NetworkError, match=r"NIR node 'n' \(LIF\): tau: must be finite, got nan at index 1"):
        from_nir(g, DT)
    g = _graph({"i": nir.Input(np.array([2])), "l": nir.Linear(np.array([[1.0, np.inf], [0, 0]])), "n": _lif(2)},
               [("i", "l"), ("l", "n")])
    with pytest.raises(NetworkError, match=r"NIR node 'l' \(Linear\): weight: must be finite, got inf"):
        from_nir(g, DT)


def test_error_missing_dt_and_bad_dt():
    g = _graph({"i": nir.Input(np.array([2])), "n": _lif(2)}, [("i", "n")])
    with pytest.raises(NetworkError, match=r"NIR graph: dt: the graph records no time step"):
        from_nir(g)
    with pytest.raises(NetworkError, match=r"dt: must be a finite number of seconds > 0"):
        from_nir(g, -1.0)
    net = from_nir(g, DT)
    assert net.integration == "euler" and net.projections["i->n"].n_synapses == 2   # identity edge: one-to-one


def test_error_cuba_bias_and_coba_export():
    g = _graph({"i": nir.Input(np.array([2])),
                "a": nir.Affine(np.eye(2), np.array([0.5, 0.0])),
                "n": nir.CubaLIF(tau_syn=np.full(2, 5e-3), tau_mem=np.full(2, 0.02), r=np.ones(2), v_leak=np.zeros(2),
                                 v_threshold=np.ones(2), w_in=np.array([2.0, 2.0]))},
               [("i", "a"), ("a", "n")])
    with pytest.raises(NetworkError, match=r"NIR node 'a' \(Affine\): bias: .*cuba_bias='i_bias'"):
        from_nir(g, DT)
    net = from_nir(g, DT, cuba_bias="i_bias")
    np.testing.assert_array_equal(net.populations["n"].model.i_bias, [1.0, 0.0])      # w_in * bias
    np.testing.assert_allclose(net.projections["a"].weights, [2.0 * DT / 5e-3] * 2)  # w_in dt / tau_syn
    coba = Network()
    coba.add_population("c", 3, CobaLIF())
    with pytest.raises(NetworkError, match=r"population 'c': model: CobaLIF .* no NIR equivalent"):
        to_nir(coba)


def test_error_corrupt_missing_and_foreign_files(tmp_path):
    with pytest.raises(FileFormatError, match="no such file"):
        read_nir(tmp_path / "missing.nir")
    bad = tmp_path / "bad.nir"
    bad.write_bytes(b"\x89HDF\r\n\x1a\n" + os.urandom(300))
    with pytest.raises(FileFormatError, match="not a readable NIR file"):
        read_nir(bad)
    other = tmp_path / "net.h5"
    snnsim.io.save_network(feed_forward(), other)       # HDF5, but not NIR
    with pytest.raises(FileFormatError, match="not a readable NIR file"):
        read_nir(other)
    good = tmp_path / "good.nir"
    write_nir(feed_forward(), good)
    truncated = tmp_path / "truncated.nir"
    truncated.write_bytes(good.read_bytes()[:1500])
    with pytest.raises(FileFormatError):
        read_nir(truncated)


def test_failed_write_leaves_no_partial_file(tmp_path, monkeypatch):
    path = tmp_path / "out.nir"
    path.write_bytes(b"old content")

    def broken_write(filename, graph, **kw):
        with open(filename, "wb") as f:
            f.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(nir, "write", broken_write)
    with pytest.raises(FileFormatError, match="disk full"):
        write_nir(feed_forward(), path)
    assert path.read_bytes() == b"old content"
    assert os.listdir(tmp_path) == ["out.nir"]
    monkeypatch.undo()
    coba = Network()
    coba.add_population("c", 3, CobaLIF())
    with pytest.raises(NetworkError):                  # invalid for NIR: nothing written at all
        write_nir(coba, tmp_path / "coba.nir")
    assert sorted(os.listdir(tmp_path)) == ["out.nir"]
    with pytest.raises(FileFormatError, match="does not exist"):
        write_nir(feed_forward(), tmp_path / "no" / "such" / "folder.nir")
