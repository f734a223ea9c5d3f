"""netx export (lava-dl's HDF5 network format) against lava-dl's own netx loader.

The layout is checked against :func:`snnsim.loihi.quantize`; the files are then loaded with
lava-dl's ``netx.hdf5.Network``, run in Lava's ``fixed_pt`` simulator on the same input
spikes, and must give the spikes and voltages of ``simulate(..., arithmetic="loihi_fixed")``
exactly. lava-dl is installed by scripts/setup.sh; only those parts skip without it.
"""

import os

import h5py
import numpy as np
import pytest

from snnsim import LI, LIF, CobaLIF, CubaLIF, Network, simulate
from snnsim.errors import NetworkError
from snnsim.io.netx import (
    import_netx,
    lava_dl_available,
    netx_layers,
    netx_weight_problem,
    write_netx,
)
from snnsim.lava_compat import available, import_lava
from snnsim.loihi import float_parameters, quantize

DT, T, N_IN = 1e-3, 60, 20

needs_lava_dl = pytest.mark.skipif(not (available() and lava_dl_available()),
                                   reason="lava-dl is not installed (scripts/setup.sh installs it)")


from lava_dl_runner import run_netx as _run_netx  # noqa: E402


def _network(seed: int) -> tuple[Network, np.ndarray]:
    """Spike source (20) -> CubaLIF (30) -> LIF or CubaLIF (10), every parameter drawn from ``seed``.

    Random weights; the output biases are random multiples of 64 state units at the scale the
    mapping picks (netx adds biases in steps of 2**6), the hidden layer has none. Returns the
    network and its input raster (T + 1 steps, spikes at step 0 too).
    """
    rng = np.random.default_rng(seed)
    raster = (rng.random((T + 1, N_IN)) < 0.15).astype(np.int64)
    k, i = np.nonzero(raster)
    reset_h = float(rng.uniform(-0.5, 0.0))
    hidden = {"tau_mem": float(rng.uniform(5e-3, 40e-3)), "tau_syn": float(rng.uniform(2e-3, 10e-3)),
                  "v_th": float(rng.uniform(0.5, 2.0)), "v_reset": reset_h, "v_leak": reset_h}
    out_cuba = seed % 2 == 1
    out = {"tau_mem": float(rng.uniform(5e-3, 40e-3)), "v_th": float(rng.uniform(0.5, 2.0))}
    if out_cuba:
        out["tau_syn"] = float(rng.uniform(2e-3, 10e-3))
    w1 = rng.normal(0.3, 1.0, (30, N_IN)) * (rng.random((30, N_IN)) < 0.8) * hidden["v_th"] * 2
    w2 = rng.normal(0.2, 0.5, (10, 30)) * (rng.random((10, 30)) < 0.8) * out["v_th"]
    if out_cuba:
        w1, w2 = w1 * hidden["tau_mem"] / hidden["tau_syn"], w2 * out["tau_mem"] / out["tau_syn"]
    steps = rng.integers(-2, 4, 10)

    def build(i_bias):
        net = Network(dt=DT, seed=seed, name=f"netx{seed}")
        net.add_spike_source("in", N_IN, k * DT, i)
        net.add_population("h", 30, CubaLIF(**hidden))
        net.add_population("o", 10, (CubaLIF if out_cuba else LIF)(**out, i_bias=i_bias))
        net.connect("in", "h", w1)
        net.connect("h", "o", w2)
        for name in ("h", "o"):
            net.probe_spikes(name)
            net.probe_state(name, "v")
            if name == "h" or out_cuba:
                net.probe_state(name, "i_syn")
        return net

    volts_per_amp = float_parameters(build(1.0)).populations["o"].bias_mant[0]   # bias (V per step) of i_bias = 1
    scale_o = quantize(build(0.0)).populations["o"].scale
    return build(steps * 64 * scale_o / volts_per_amp), raster


def _exportable(count: int, first: int = 0) -> list[int]:
    """The first ``count`` seeds from ``first`` whose network netx carries exactly."""
    seeds = []
    for seed in range(first, first + 12 * count):
        try:
            netx_layers(_network(seed)[0])
        except NetworkError:
            continue
        seeds.append(seed)
        if len(seeds) == count:
            return seeds
    raise AssertionError(f"only {len(seeds)} exportable networks among seeds {first}..{first + 12 * count - 1}")


@pytest.fixture(scope="module")
def seeds():
    return _exportable(3)


def _read(path) -> dict:
    """Every dataset of a netx file as numpy values, keyed by path."""
    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: out.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
    return out


# ------------------------------------------------------------------ layout


def test_layout_matches_the_quantised_registers(tmp_path, seeds):
    net, _ = _network(seeds[0])
    path = tmp_path / "net.h5"
    write_netx(net, path)
    assert os.listdir(tmp_path) == ["net.h5"]                 # no temporary file left
    q = quantize(net)                                         # computed again, independently of the file
    d = _read(path)
    assert sorted({k.split("/")[1] for k in d}) == ["0", "1", "2"]
    assert d["layer/0/type"].tolist() == [b"input"] and d["layer/0/shape"].tolist() == [N_IN]
    assert not any(k.startswith("layer/0/") and k not in ("layer/0/type", "layer/0/shape") for k in d)
    for i, (proj, pop, n_pre) in enumerate([("in->h", "h", N_IN), ("h->o", "o", 30)], start=1):
        p, w = q.populations[pop], q.projections[proj]
        assert d[f"layer/{i}/type"].tolist() == [b"dense"]
        assert d[f"layer/{i}/shape"].tolist() == [p.size]
        assert w.exp == 0
        np.testing.assert_array_equal(d[f"layer/{i}/weight"], w.matrix(n_pre, p.size))
        np.testing.assert_array_equal(d[f"layer/{i}/bias"] * 64, p.bias)
        assert d[f"layer/{i}/neuron/type"].tolist() == [b"CUBA"]
        assert (d[f"layer/{i}/neuron/iDecay"], d[f"layer/{i}/neuron/vDecay"]) == (p.du + 1, p.dv)
        assert d[f"layer/{i}/neuron/vThMant"] == p.vth
        assert d[f"layer/{i}/neuron/refDelay"] == 1 and not d[f"layer/{i}/neuron/gradedSpike"]
    assert d["layer/2/bias"].any() and not d["layer/1/bias"].any()
    with h5py.File(path, "r") as f:
        assert f["layer/2"].attrs["population"] == "o" and f["layer/2"].attrs["projection"] == "h->o"
        assert f.attrs["dt"] == DT and f["layer/0"].attrs["source"] == "in"


def test_if_layer_and_li_readout(tmp_path):
    """An IF layer is a CUBA layer without leak (vDecay 0); an LI readout one with the largest
    threshold. The mapping scales a readout's inputs finely, and where that needs a weight
    exponent the export is refused, naming the projection."""
    from snnsim import IF
    written = 0
    for seed in range(6):
        rng = np.random.default_rng(seed)
        net = Network(dt=DT, seed=seed)
        net.add_spike_source("in", 4, [0.002, 0.003], [0, 1])
        net.add_population("a", 3, IF(tau_mem=20e-3, v_th=1.0))
        net.add_population("r", 2, LI(tau_mem=10e-3))
        net.connect("in", "a", rng.uniform(0, 0.5, (3, 4)))
        net.connect("a", "r", rng.normal(0.2, 1.0, (2, 3)))
        q, path = quantize(net), tmp_path / f"r{seed}.h5"
        assert q.populations["r"].vth == 2 ** 17 - 1 and q.populations["a"].dv == 0
        eff = {name: p.matrix(*{"in->a": (4, 3), "a->r": (3, 2)}[name]) << p.exp for name, p in q.projections.items()}
        bad = [name for name, w in eff.items() if netx_weight_problem(w) is not None]
        if bad:
            _refused(net, tmp_path, f"projection {bad[0]!r}", "weights")
            continue
        write_netx(net, path)
        d = _read(path)
        assert d["layer/1/neuron/vDecay"] == 0 and d["layer/2/neuron/vThMant"] == 2 ** 17 - 1
        np.testing.assert_array_equal(d["layer/2/weight"], eff["a->r"])
        written += 1
    assert written >= 1


# ------------------------------------------------------------------ lava-dl


@needs_lava_dl
def test_lava_dl_builds_the_same_registers(tmp_path, seeds):
    net, _ = _network(seeds[1])
    path = str(tmp_path / "net.h5")
    write_netx(net, path)
    q = quantize(net)
    nx = import_netx().Network(net_config=path)
    assert len(nx.layers) == 2 and nx.inp.shape == (N_IN,) and nx.out.shape == (10,)
    for layer, (proj, pop, n_pre) in zip(nx.layers, [("in->h", "h", N_IN), ("h->o", "o", 30)]):
        p, lif, dense = q.populations[pop], layer.neuron, layer.synapse
        assert (int(lif.du.init), int(lif.dv.init), int(lif.vth.init)) == (p.du, p.dv, p.vth)
        bias = np.asarray(lif.bias_mant.init, np.int64) << int(np.asarray(lif.bias_exp.init).max())
        np.testing.assert_array_equal(bias, p.bias)
        assert not np.any(lif.u.init) and not np.any(lif.v.init)
        exp = int(dense.proc_params["weight_exp"])
        assert exp <= 0
        np.testing.assert_array_equal(np.asarray(dense.weights.init, np.int64) >> -exp,
                                      q.projections[proj].matrix(n_pre, p.size))


def _raster(spikes, size: int, n_steps: int) -> np.ndarray:
    r = np.zeros((n_steps + 1, size), np.int64)
    np.add.at(r, (np.rint(spikes.times / DT).astype(np.int64), spikes.indices), 1)
    return r


@needs_lava_dl
@pytest.mark.parametrize("which", range(3))
def test_lava_dl_run_is_identical_to_the_loihi_engine(tmp_path, seeds, which):
    """Same spikes (Lava step t = our time index t) and the same integer u, v at every step."""
    net, raster = _network(seeds[which])
    path = str(tmp_path / "net.h5")
    write_netx(net, path)
    lava = _run_netx(path, raster, T)
    ours = simulate(net, T * DT, arithmetic="loihi_fixed")
    for i, pop in enumerate(("h", "o")):
        size = net.populations[pop].size
        mine = _raster(ours.spikes[pop], size, T)
        assert mine[1:].sum() > 0 and mine[0].sum() == 0, pop
        np.testing.assert_array_equal(lava[(i, "s")] != 0, mine[1:] != 0, err_msg=pop)
        np.testing.assert_array_equal(lava[(i, "v")], ours.traces[f"{pop}.v"].values[1:], err_msg=pop)
        if f"{pop}.i_syn" in ours.traces:
            np.testing.assert_array_equal(lava[(i, "u")], ours.traces[f"{pop}.i_syn"].values[1:], err_msg=pop)
    np.testing.assert_array_equal(lava["out"] != 0, _raster(ours.spikes["o"], 10, T)[1:] != 0)


def _raw_netx(path, weight: np.ndarray) -> None:
    """A one-layer netx file written by hand (u forgets everything each step: iDecay 4096)."""
    with h5py.File(path, "w") as f:
        layer = f.create_group("layer")
        layer["0/type"], layer["0/shape"] = np.array([b"input"]), np.array([weight.shape[1]])
        layer["1/type"], layer["1/shape"] = np.array([b"dense"]), np.array([weight.shape[0]])
        layer["1/weight"] = weight.astype(np.int32)
        for key, value in (("type", np.array([b"CUBA"])), ("iDecay", 4096), ("vDecay", 4096), ("vThMant", 1 << 16)):
            layer[f"1/neuron/{key}"] = value


WEIGHT_CASES = [
    [[255, 3, 0]], [[128, 2, 0]], [[1, 0, 0]], [[254, -256, 0]], [[3, -5, 0]],        # carried exactly
    [[-100, -3, -7]], [[-100, 0, -2]], [[-254, 0, -3 * 2]], [[-255, -254, -1]],
    [[256, 3, 0]], [[255, -2, 0]], [[-257, 2, 0]],                                   # beyond 8 bits
    [[-128, -3, -1]], [[-64, 0, 0]], [[-255, 0, -1]], [[-129, -2, 0]], [[0, 0, 0]],   # lava-dl changes them
]


@needs_lava_dl
def test_weight_rules_agree_with_lava_dl(tmp_path):
    """netx_weight_problem says None exactly for the matrices that lava-dl's loader and Lava's
    Dense reproduce: each column spikes alone, and u (forgotten every step) reads it back."""
    netx = import_netx()
    RingBuffer = import_lava("lava.proc.io.source").RingBuffer
    Monitor = import_lava("lava.proc.monitor.process").Monitor
    RunSteps = import_lava("lava.magma.core.run_conditions").RunSteps
    Loihi2SimCfg = import_lava("lava.magma.core.run_configs").Loihi2SimCfg
    readable = [np.array(w) for w in WEIGHT_CASES if np.any(w)]
    src = RingBuffer(data=np.hstack([np.eye(3), np.zeros((3, 1))]))   # column j spikes in step j + 1
    nets = []
    for k, w in enumerate(readable):
        path = str(tmp_path / f"w{k}.h5")
        _raw_netx(path, w)
        with np.errstate(all="ignore"):
            nx = netx.Network(net_config=path)
        src.s_out.connect(nx.inp)
        m = Monitor()
        m.probe(nx.layers[0].neuron.u, 4)
        nets.append((w, nx, m))
    try:
        src.run(condition=RunSteps(num_steps=4), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
        got = [np.asarray(m.get_data()[nx.layers[0].neuron.name]["u"])[1:4].T.astype(np.int64) >> 6 for _, nx, m in nets]
    finally:
        src.stop()
    for (w, _, _), g in zip(nets, got):
        assert (netx_weight_problem(w) is None) == np.array_equal(g, w), (w.tolist(), g.tolist())
    assert sum(netx_weight_problem(w) is None for w in readable) == 9
    assert "all weights are 0" in netx_weight_problem(np.zeros((2, 2)))


# ------------------------------------------------------------------ refusals


def _chain(**kw) -> Network:
    net = Network(dt=DT, seed=1)
    net.add_spike_source("in", 4, [0.002], [0])
    net.add_population("a", 3, LIF(tau_mem=20e-3, v_th=1.0, **kw))
    net.connect("in", "a", np.full((3, 4), 2 / 64))
    return net


def _refused(net, tmp_path, where: str, field: str, *words) -> NetworkError:
    folder = tmp_path / "refused"
    folder.mkdir(exist_ok=True)
    path = folder / "out.h5"
    path.write_bytes(b"an older file")
    with pytest.raises(NetworkError) as err:
        write_netx(net, path)
    assert (err.value.where, err.value.field) == (where, field), str(err.value)
    for word in words:
        assert word in str(err.value)
    assert path.read_bytes() == b"an older file"          # untouched
    assert os.listdir(folder) == ["out.h5"]               # and no temporary file left
    return err.value


def test_refuses_recurrent_projections(tmp_path):
    net = _chain()
    net.connect("a", "a", np.full((3, 3), 1 / 64), name="rec")
    _refused(net, tmp_path, "projection 'rec'", "post", "recurrent")
    net = _chain()
    net.add_population("b", 2, LIF(tau_mem=20e-3, v_th=1.0))
    net.connect("a", "b", np.full((2, 3), 2 / 64))
    net.connect("b", "a", np.full((3, 2), 2 / 64), name="back")
    _refused(net, tmp_path, "population 'a'", "projections", "'back'")


def test_refuses_anything_but_one_chain(tmp_path):
    net = _chain()
    net.add_spike_source("in2", 2, [0.001], [1])
    net.connect("in2", "a", np.full((3, 2), 2 / 64))
    _refused(net, tmp_path, "network", "sources", "'in2'")
    net = _chain()
    net.add_population("b", 2, LIF(tau_mem=20e-3, v_th=1.0))
    net.add_population("c", 2, LIF(tau_mem=20e-3, v_th=1.0))
    net.connect("a", "b", np.full((2, 3), 2 / 64))
    net.connect("a", "c", np.full((2, 3), 2 / 64))
    _refused(net, tmp_path, "population 'a'", "projections", "'a->b'", "'a->c'")
    net = _chain()
    net.add_population("lone", 2, LIF(tau_mem=20e-3, v_th=1.0))
    _refused(net, tmp_path, "population 'lone'", "projections", "chain")


def test_refuses_unsupported_models(tmp_path):
    net = Network(dt=DT, seed=1)
    net.add_spike_source("in", 4, [0.002], [0])
    net.add_population("a", 3, CobaLIF())
    net.connect("in", "a", np.full((3, 4), 0.1), target="exc")
    _refused(net, tmp_path, "population 'a'", "model", "CobaLIF")


def test_refuses_what_netx_cannot_carry_exactly(tmp_path):
    _refused(_chain(i_bias=0.013), tmp_path, "population 'a'", "i_bias", "multiples of 64")
    net = _chain()
    net.populations["a"].initial["v"] = 0.5
    _refused(net, tmp_path, "population 'a'", "initial", "u = v = 0")
    net = Network(dt=DT, seed=1)
    net.add_spike_source("in", 4, [0.002], [0])
    net.add_population("a", 3, LIF(tau_mem=20e-3, v_th=1.0))
    net.connect("in", "a", np.full((3, 4), 2 / 64), delay=3 * DT)
    _refused(net, tmp_path, "projection 'in->a'", "delay", "3 steps")
    # weights 300 times the threshold are at least 300 units of input at any scale: a weight
    # exponent of 1 or more, which netx cannot carry
    net = Network(dt=DT, seed=1)
    net.add_spike_source("in", 4, [0.002], [0])
    net.add_population("a", 3, LIF(tau_mem=20e-3, v_th=1.0))
    net.connect("in", "a", np.full((3, 4), 300.0))
    exp = quantize(net).projections["in->a"].exp
    assert exp >= 1
    _refused(net, tmp_path, "projection 'in->a'", "weights", f"weight exponent {exp}", "0 .. 255")
