"""The torch backend runs a Network with the semantics of the CPU engine (docs/models.md).

The CPU engine (Numba, tested bit for bit against tests/reference.py) is the oracle: the same
random networks and input spikes go through both, in float64.
"""

import numpy as np
import pytest
import torch

from snnsim import IF, LI, LIF, CobaLIF, CubaLIF, Network, Uniform, simulate
from snnsim.backends.torch import TorchNetwork
from snnsim.errors import NetworkError

T = 60


def random_network(seed: int, integration: str, recurrent: bool, refractory: bool):
    rng = np.random.default_rng(seed)
    dt = 1e-3
    net = Network(dt=dt, integration=integration, seed=seed)
    n_in = 12
    net.add_spike_source("in", n_in, [])
    models = [
        ("cuba", CubaLIF(tau_mem=rng.uniform(8e-3, 20e-3, 9), tau_syn=4e-3, v_reset=-0.1, i_bias=0.2,
                         reset="subtract")),
        ("lif", LIF(tau_mem=15e-3, v_th=rng.uniform(0.8, 1.2, 7), i_bias=0.3,
                    t_ref=2e-3 if refractory else 0.0)),
        ("if", IF(tau_mem=30e-3, v_th=0.7, reset="subtract")),
        ("li_syn", LI(tau_mem=10e-3, tau_syn=5e-3)),
        ("li", LI(tau_mem=12e-3)),
    ]
    pre_names, sizes = ["in"], {"in": n_in}
    for name, model in models:
        size = {"cuba": 9, "lif": 7, "if": 5, "li_syn": 6, "li": 4}[name]
        net.add_population(name, size, model, initial={"v": Uniform(-0.2, 0.5)} if name == "cuba" else None)
        sizes[name] = size
        for pre in pre_names if name != "li" else ["cuba", "lif"]:
            if pre.startswith("li"):
                continue
            scale = 2.0 if name in ("cuba", "li_syn") else 0.5
            w = rng.normal(0.2, 1.0, (size, sizes[pre])) * scale / np.sqrt(sizes[pre])
            net.connect(pre, name, w, delay=int(rng.integers(1, 4)) * dt, name=f"{pre}->{name}")
        if recurrent and name in ("cuba", "lif"):
            net.connect(name, name, rng.normal(0, 0.4, (size, size)), name=f"{name}-rec")
        pre_names.append(name)
    for name in net.populations:
        net.probe_spikes(name)
        net.probe_state(name, "v")
    k, i = np.nonzero(rng.random((T, n_in)) < 0.25)
    return net, k, i


@pytest.mark.parametrize("integration", ["exact", "euler"])
@pytest.mark.parametrize("recurrent", [False, True])
@pytest.mark.parametrize("refractory", [False, True])
def test_torch_forward_equals_the_cpu_engine(integration, recurrent, refractory):
    net, k, i = random_network(5 + recurrent + 2 * refractory, integration, recurrent, refractory)
    spikes = np.zeros((T, 1, 12))
    spikes[k, 0, i] = 1
    del net.sources["in"]
    net.add_spike_source("in", 12, k * net.dt, i)
    engine = simulate(net, T * net.dt, arithmetic="float64", progress=False)
    model = TorchNetwork(net, dtype="float64")
    out = model({"in": torch.as_tensor(spikes)})
    fired = 0
    for name, pop in net.populations.items():
        v_engine = engine.traces[f"{name}.v"].values[1:]          # after each step
        np.testing.assert_allclose(out.v[name][:, 0].detach().numpy(), v_engine, rtol=0, atol=1e-12)
        z = np.zeros((T, pop.size))
        trains = engine.spikes[name]
        z[np.rint(trains.times / net.dt).astype(int) - 1, trains.indices] = 1
        np.testing.assert_array_equal(out.spikes[name][:, 0].detach().numpy(), z)
        fired += int(z.sum())
    assert fired > 50


def test_batch_items_are_independent_and_match_single_runs():
    net, k, i = random_network(3, "exact", True, False)
    rng = np.random.default_rng(0)
    x = torch.as_tensor((rng.random((T, 4, 12)) < 0.3).astype(np.float64))
    model = TorchNetwork(net, dtype="float64")
    both = model({"in": x})
    for b in range(4):
        one = model({"in": x[:, b:b + 1]})
        for name in net.populations:
            assert torch.allclose(both.v[name][:, b], one.v[name][:, 0], rtol=0, atol=1e-12)


def test_weights_and_learned_parameters_go_back_into_the_network():
    net, _, _ = random_network(4, "euler", True, False)
    model = TorchNetwork(net, dtype="float64", learn_tau=["cuba"], learn_threshold=True)
    x = torch.as_tensor((np.random.default_rng(1).random((T, 2, 12)) < 0.3).astype(np.float64))
    out = model({"in": x})
    loss = sum(v.pow(2).mean() for v in out.v.values()) + sum(z.sum() for z in out.spikes.values())
    loss.backward()
    assert model.layers["cuba"].tau_mem.grad.abs().sum() > 0
    assert model.layers["lif"].v_th.grad.abs().sum() > 0
    assert model.layers["lif"].tau_mem.grad is None            # not learned
    torch.manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.add_(0.01 * torch.randn_like(p))
        model.layers["cuba"].tau_mem[0] = -1.0     # learned past the stable range: stepped (and written) as dt
    trained = model.to_network()
    assert net.populations["cuba"].model.tau_mem is not trained.populations["cuba"].model.tau_mem
    tau_mem = model.layers["cuba"].tau_mem.detach().numpy().copy()
    tau_mem[0] = trained.dt
    np.testing.assert_array_equal(trained.populations["cuba"].model.tau_mem, np.maximum(tau_mem, trained.dt))
    proj = trained.projections["in->cuba"]
    pre = np.repeat(np.arange(12), np.diff(proj.indptr))
    np.testing.assert_array_equal(proj.weights, model.weights["in->cuba"].detach().numpy()[proj.indices, pre])
    # and the engine runs the trained description the way torch does
    k, i = np.nonzero(x[:, 0].numpy())
    del trained.sources["in"]
    trained.add_spike_source("in", 12, k * trained.dt, i)
    res = simulate(trained, T * trained.dt, arithmetic="float64", progress=False)
    again = model({"in": x[:, :1]})
    for name in trained.populations:
        np.testing.assert_allclose(again.v[name][:, 0].detach().numpy(), res.traces[f"{name}.v"].values[1:],
                                   rtol=0, atol=1e-9)


def test_sparse_projection_keeps_its_absent_synapses_at_zero():
    from snnsim import FixedProbability
    net = Network(dt=1e-3, seed=1)
    net.add_spike_source("in", 20, [])
    net.add_population("out", 10, LI(tau_mem=10e-3))
    net.connect("in", "out", FixedProbability(0.3), weight=0.5)
    model = TorchNetwork(net)
    w = model.weight("in->out")
    assert int((w != 0).sum()) == net.projections["in->out"].n_synapses
    out = model({"in": torch.ones(5, 2, 20)})
    out.v["out"].sum().backward()
    g = model.weights["in->out"].grad
    mask = model.masks["in->out"]
    assert (g[~mask] == 0).all() and (g[mask] != 0).any()


def test_what_the_torch_backend_cannot_train_is_named():
    net = Network()
    net.add_spike_source("in", 3, [])
    net.add_population("coba", 2, CobaLIF())
    with pytest.raises(NetworkError, match="population 'coba'.*model.*CobaLIF"):
        TorchNetwork(net)

    net = Network(dt=1e-3)
    net.add_spike_source("in", 3, [])
    net.add_population("a", 2, LIF())
    net.connect("in", "a", np.ones((2, 3)), delay=np.array([1e-3, 2e-3, 1e-3, 1e-3, 1e-3, 1e-3]))
    with pytest.raises(NetworkError, match="projection 'in->a'.*delay.*one delay per projection"):
        TorchNetwork(net)

    net = Network(dt=1e-3)
    net.add_spike_source("in", 3, [])
    net.add_population("a", 2, LIF())
    net.add_population("b", 2, LIF())
    net.connect("in", "a", np.ones((2, 3)))
    net.connect("a", "b", np.ones((2, 2)))
    net.connect("b", "a", np.ones((2, 2)))
    with pytest.raises(NetworkError, match="projections.*cycle"):
        TorchNetwork(net)

    net = Network(dt=1e-3)
    net.add_spike_source("in", 3, [])
    net.add_population("a", 2, LIF())
    net.connect("in", "a", np.ones((2, 3)))
    net.connect("a", "a", np.ones((2, 2)), delay=3e-3)
    with pytest.raises(NetworkError, match="projection 'a->a'.*delay.*one-step"):
        TorchNetwork(net)

    net = Network(dt=1e-3)
    net.add_spike_source("in", 3, [])
    net.add_population("a", 2, LIF())
    net.connect("in", "a", np.ones((2, 3)))
    model = TorchNetwork(net)
    with pytest.raises(NetworkError, match="steps.*give the number of steps"):
        model({})
    with pytest.raises(NetworkError, match="steps.*is 7 but the input tensors have 4"):
        model({"in": torch.zeros(4, 2, 3)}, steps=7)
    with pytest.raises(NetworkError, match="inputs\\['in'\\].*\\(T, B, 3\\).*\\(4, 2, 5\\)"):
        model({"in": torch.zeros(4, 2, 5)})
    with pytest.raises(NetworkError, match="learn_tau.*unknown populations \\['nope'\\]"):
        TorchNetwork(net, learn_tau=["nope"])
    with pytest.raises(NetworkError, match="surrogate.*'bogus'"):
        TorchNetwork(net, surrogate=("bogus", 1.0))
    with pytest.raises(NetworkError, match="dtype.*'float16'"):
        TorchNetwork(net, dtype="float16")
    net2 = Network(dt=1e-3, integration="euler")
    net2.add_spike_source("in", 3, [])
    net2.add_population("a", 2, LIF(tau_mem=0.5e-3))
    with pytest.raises(NetworkError, match="population 'a'.*tau_mem.*euler"):
        TorchNetwork(net2)


@pytest.mark.parametrize("integration", ["exact", "euler"])
def test_injected_currents_of_the_description_drive_the_torch_forward_as_the_engine(integration):
    net = Network(dt=1e-3, integration=integration, seed=2)
    net.add_spike_source("in", 3, [])
    net.add_population("lif", 4, LIF(tau_mem=10e-3, v_th=0.6))
    net.add_population("cuba", 3, CubaLIF(tau_mem=10e-3, tau_syn=5e-3, v_th=0.4))
    net.connect("in", "lif", np.full((4, 3), 0.3))
    net.connect("lif", "cuba", np.full((3, 4), 0.5))
    net.add_current("bias", "lif", np.array([0.2, 0.5, 0.9, 1.3]))
    net.add_current("ramp", "lif", np.linspace(0.0, 0.8, 7), sample_dt=5e-3)    # held 5 steps, last after
    net.add_current("steps", "cuba", np.array([[0.1, 0.0, 0.3], [0.6, 0.2, 0.0]]), sample_dt=20e-3)
    for name in net.populations:
        net.probe_state(name, "v")
        net.probe_spikes(name)
    T = 50
    engine = simulate(net, T * net.dt, arithmetic="float64", progress=False)
    out = TorchNetwork(net, dtype="float64")({"in": torch.zeros(T, 1, 3, dtype=torch.float64)})
    fired = 0
    for name in net.populations:
        np.testing.assert_allclose(out.v[name][:, 0].detach().numpy(), engine.traces[f"{name}.v"].values[1:],
                                   rtol=0, atol=1e-12)
        fired += len(engine.spikes[name])
        assert int(out.spikes[name].sum()) == len(engine.spikes[name])
    assert fired > 10


def test_sources_the_description_defines_are_drawn_as_the_engine_draws_them():
    # no input tensors: spike-time and Poisson sources (constant and time-varying rates) emit
    # their own spikes, from the same counter-based random numbers as the clock engine
    net = Network(dt=1e-3, integration="exact", seed=9)
    net.add_poisson("noise", 20, rate=150.0)
    net.add_poisson("burst", 10, rate=np.array([0.0, 400.0, 50.0]), rate_dt=10e-3)
    net.add_spike_source("cue", 2, [0.0, 3e-3, 3e-3, 7.4e-3], [1, 0, 0, 1])   # neuron 0 twice at 3 ms
    net.add_population("h", 6, CubaLIF(tau_mem=10e-3, tau_syn=5e-3, v_th=0.5))
    rng = np.random.default_rng(0)
    for src, size in (("noise", 20), ("burst", 10), ("cue", 2)):
        net.connect(src, "h", rng.uniform(0, 0.4, (6, size)), delay=2e-3 if src == "burst" else None)
    net.probe_state("h", "v")
    net.probe_spikes("h")
    T = 40
    engine = simulate(net, T * net.dt, arithmetic="float64", progress=False)
    out = TorchNetwork(net, dtype="float64")(steps=T)
    np.testing.assert_allclose(out.v["h"][:, 0].detach().numpy(), engine.traces["h.v"].values[1:], rtol=0, atol=1e-12)
    assert int(out.spikes["h"].sum()) == len(engine.spikes["h"]) > 5
