"""HDF5 persistence: exact round trips, atomic writes, and clean errors on bad files."""

from __future__ import annotations

import os

import h5py
import numpy as np
import pytest

import snnsim
from snnsim import (IF, LI, LIF, AllToAll, CobaLIF, CubaLIF, FileFormatError, FixedProbability, Network,
                    NetworkError, Normal, Sparse, Uniform)
from snnsim.io import load_network, load_results, save_network, save_results
from snnsim.io import hdf5
from snnsim.network import PoissonSource, StateProbe
from snnsim.units import mV, ms

DURATION = 0.05


def build_network() -> Network:
    """Every model, source, rule, input and probe kind, with awkward names."""
    rng = np.random.default_rng(3)
    net = Network(dt=0.1 * ms, integration="exact", seed=7, name="all-models")
    lif = net.add_population("lif", 20, LIF(tau_mem=rng.uniform(10, 30, 20) * ms, t_ref=2 * ms, reset="subtract"),
                             initial={"v": Uniform(0.0, 0.9)})
    cuba = net.add_population("cuba%1", 15, CubaLIF(tau_syn=rng.uniform(2, 8, 15) * ms),
                              initial={"i_syn": rng.uniform(0, 2, 15), "v": Normal(0.3, 0.1)})
    li = net.add_population("li.out", 4, LI(tau_syn=5 * ms), initial={"v": 0.1})
    iff = net.add_population(".", 10, IF(tau_mem=1.0, v_th=rng.uniform(0.5, 1.0, 10)))
    coba = net.add_population("coba", 12, CobaLIF(), initial={"v": Normal(-55 * mV, 5 * mV)})
    poisson = net.add_poisson("poisson", 30, 400.0)
    series = net.add_poisson("poisson.ts", 10, np.array([100.0, 800.0, 300.0, 900.0, 0.0]), rate_dt=10 * ms)
    timed = net.add_spike_source("spikes", 3, [0.011, 0.002, 0.03, 0.02], [2, 0, 1, 0])
    net.connect(poisson, lif, FixedProbability(0.3), weight=Uniform(0.1, 0.4), delay=Uniform(0.1 * ms, 3 * ms))
    net.connect(lif, cuba, rng.uniform(0, 3, (15, 20)), name="lif->cuba dense")
    pre, post = np.array([0, 3, 3, 7, 14]), np.array([1, 0, 3, 2, 1])
    net.connect(cuba, li, Sparse(pre, post), weight=[0.5, 0.2, 0.3, 0.4, 0.1], delay=[1 * ms, 2 * ms, 0.3 * ms, 1 * ms, 5 * ms])
    net.connect(timed, iff, AllToAll(), weight=0.6, delay=2 * ms)
    net.connect(series, coba, FixedProbability(0.5), weight=0.5, target="exc")
    net.connect(coba, coba, FixedProbability(0.2, allow_self=False), weight=2.0, target="inh")
    net.connect(iff, lif, FixedProbability(0.5), weight=0.2)
    net.add_current("bias", lif, rng.uniform(0, 0.5, 20))
    net.add_current("ramp", iff, [0.0, 0.5, 1.0, 2.0], sample_dt=10 * ms)
    net.add_current("drive", coba, np.tile(np.linspace(5, 25, 12) * mV, (3, 1)), sample_dt=20 * ms)
    for node in (lif, cuba, iff, coba, poisson, series, timed):
        net.probe_spikes(node)
    net.probe_state(lif)
    net.probe_state(cuba, "i_syn", neurons=[0, 3])
    net.probe_state(li, every=3)
    net.probe_state(coba, "g_exc", every=2, name="coba|g_exc")
    return net


@pytest.fixture(scope="module")
def network() -> Network:
    return build_network()


@pytest.fixture(scope="module")
def saved(network, tmp_path_factory) -> str:
    path = str(tmp_path_factory.mktemp("saved") / "net.h5")
    save_network(network, path)
    return path


@pytest.fixture(scope="module")
def results(network) -> snnsim.Results:
    return snnsim.simulate(network, DURATION, arithmetic="float64")


def assert_same_value(a, b):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        assert isinstance(a, np.ndarray) and isinstance(b, np.ndarray)
        assert a.dtype == b.dtype and np.array_equal(a, b)
    else:
        assert type(a) is type(b) and a == b


def assert_networks_equal(a: Network, b: Network):
    assert (a.dt, a.integration, a.seed, a.name) == (b.dt, b.integration, b.seed, b.name)
    for group in ("populations", "sources", "projections", "currents", "probes"):
        assert list(getattr(a, group)) == list(getattr(b, group)), group  # same names, same order
    for name, pa in a.populations.items():
        pb = b.populations[name]
        assert type(pa.model) is type(pb.model) and pa.size == pb.size
        assert getattr(pa.model, "reset", None) == getattr(pb.model, "reset", None)
        for p, va in pa.parameters().items():
            assert np.array_equal(va, pb.parameters()[p]), (name, p)
        assert list(pa.initial) == list(pb.initial)
        for var, va in pa.initial.items():
            vb = pb.initial[var]
            assert type(va) is type(vb) and (va == vb if not isinstance(va, np.ndarray) else np.array_equal(va, vb))
        sa, sb = pa.initial_state(a.seed), pb.initial_state(b.seed)
        for var in sa:
            assert np.array_equal(sa[var], sb[var]), (name, var)
    for name, sa in a.sources.items():
        sb = b.sources[name]
        assert type(sa) is type(sb)
        for field in ("size", "rate", "rate_dt") if isinstance(sa, PoissonSource) else ("size", "times", "indices"):
            assert_same_value(getattr(sa, field), getattr(sb, field))
    for name, pa in a.projections.items():
        pb = b.projections[name]
        assert (pa.pre, pa.post, pa.target, pa.rule) == (pb.pre, pb.post, pb.target, pb.rule)
        for field in ("indptr", "indices", "weights", "delays"):
            assert_same_value(getattr(pa, field), getattr(pb, field))
    for name, ca in a.currents.items():
        cb = b.currents[name]
        assert ca.target == cb.target and ca.sample_dt == cb.sample_dt
        assert_same_value(ca.amplitude, cb.amplitude)
    for name, qa in a.probes.items():
        qb = b.probes[name]
        assert type(qa) is type(qb) and qa.target == qb.target
        if isinstance(qa, StateProbe):
            assert (qa.variable, qa.every) == (qb.variable, qb.every)
            assert_same_value(qa.neurons, qb.neurons)


def assert_results_equal(a: snnsim.Results, b: snnsim.Results):
    for field in ("backend", "dt", "integration", "arithmetic", "t_start", "duration", "neuron_populations"):
        assert getattr(a, field) == getattr(b, field), field
    assert a.counts == b.counts
    for field in ("sizes", "spike_counts", "counters", "engine_counters"):
        assert list(getattr(a, field).items()) == list(getattr(b, field).items()), field
        assert [type(v) for v in getattr(a, field).values()] == [type(v) for v in getattr(b, field).values()]
    assert list(a.spikes) == list(b.spikes) and list(a.traces) == list(b.traces)
    for name, sa in a.spikes.items():
        sb = b.spikes[name]
        assert sa.size == sb.size
        assert_same_value(sa.times, sb.times)
        assert_same_value(sa.indices, sb.indices)
    for name, ta in a.traces.items():
        tb = b.traces[name]
        assert (ta.population, ta.variable) == (tb.population, tb.variable)
        for field in ("neurons", "times", "values"):
            assert_same_value(getattr(ta, field), getattr(tb, field))


# ------------------------------------------------------------------ round trips
def test_network_round_trip_is_identical(network, saved):
    assert_networks_equal(network, load_network(saved))


def test_loaded_network_simulates_identically(saved, results):
    again = snnsim.simulate(load_network(saved), DURATION, arithmetic="float64")
    for name in ("lif", "cuba%1", ".", "coba", "poisson", "spikes"):
        assert results.spike_counts[name] > 0, name  # the comparison below is not vacuous
    assert list(results.spikes) == list(again.spikes)
    for name, trains in results.spikes.items():
        assert np.array_equal(trains.times, again.spikes[name].times), name
        assert np.array_equal(trains.indices, again.spikes[name].indices), name
    for name, trace in results.traces.items():
        assert np.array_equal(trace.values, again.traces[name].values), name
        assert np.array_equal(trace.times, again.traces[name].times), name


def test_file_is_self_describing(network, saved):
    with h5py.File(saved, "r") as f:
        assert dict(f.attrs) == {"format": "snnsim.network", "format_version": 1,
                                      "snnsim_version": snnsim.__version__, "dt": network.dt,
                                      "integration": "exact", "seed": 7, "name": "all-models"}
        unitless = []
        f.visititems(lambda name, obj: unitless.append(name) if isinstance(obj, h5py.Dataset)
                     and obj.dtype.kind == "f" and "unit" not in obj.attrs else None)
        assert unitless == []
        assert f["populations/lif/parameters/tau_mem"].attrs["unit"] == "s"
        assert f["populations/lif/parameters/r"].attrs["unit"] == "ohm"
        assert f["populations/cuba%251/initial/i_syn"].attrs["unit"] == "A"
        assert f["populations/%2E/parameters/v_th"].shape == (10,)
        assert f["populations/coba/initial/v"].attrs["distribution"] == "Normal"
        assert f["sources/poisson/rate"].attrs["unit"] == "Hz"
        assert f["projections/poisson->lif/weights"].attrs["unit"] == "V"
        assert f["projections/lif->cuba dense/weights"].attrs["unit"] == "A"
        assert f["projections/coba->coba/weights"].attrs["unit"] == "1"
        assert f["currents/bias/amplitude"].attrs["unit"] == "A"
        assert "rate_dt" not in f["sources/poisson"] and "sample_dt" not in f["currents/bias"]
        assert [f["populations"][k].attrs["order"] for k in ("lif", "cuba%251", "li.out", "%2E", "coba")] == \
            [0, 1, 2, 3, 4]


def test_every_parameter_and_state_has_a_unit():
    for model in [cls() for cls in snnsim.models.MODELS.values()] + [LI(tau_syn=1e-3)]:
        assert set(model.parameter_names()) <= set(hdf5.PARAM_UNITS)
        assert set(model.state_variables) <= set(hdf5.STATE_UNITS)


def test_results_round_trip(results, tmp_path):
    path = tmp_path / "results.h5"
    save_results(results, path)
    assert_results_equal(results, load_results(path))
    with h5py.File(path, "r") as f:
        assert f.attrs["format"] == "snnsim.results"
        assert f["traces/lif.v/values"].attrs["unit"] == "V"


def test_results_round_trip_keeps_dtypes_and_empty_parts(tmp_path):
    res = snnsim.Results("cpu", 1e-4, "euler", "float32", 0.5, 1e-3, {"a.b": 3, "src": 2},
                         neuron_populations=("a.b",))
    res.spikes["a.b"] = snnsim.SpikeTrains(np.zeros(0), np.zeros(0, np.int64), 3)
    res.traces["a.b.v"] = snnsim.Trace("a.b", "v", np.array([0, 2]), np.arange(3) * 1e-4,
                                       np.arange(6, dtype=np.float32).reshape(3, 2))
    res.traces["none"] = snnsim.Trace("a.b", "i_syn", np.zeros(0, np.int64), np.zeros(3), np.zeros((3, 0)))
    res.counts = {"populations": {"a.b": {"neuron_updates": 30, "spikes": 0}}, "projections": {},
                  "sources": {"src": {"spikes": 4}}}
    res.counters = {"steps": 10, "wall_s": 0.25}
    res.engine_counters = {"windows": 7}
    save_results(res, tmp_path / "r.h5")
    back = load_results(tmp_path / "r.h5")
    assert_results_equal(res, back)
    assert back.traces["a.b.v"].values.dtype == np.float32


# ---------------------------------------------------------------- atomic writes
def test_failed_write_keeps_old_file_and_leaves_no_temporary(network, tmp_path, monkeypatch):
    path = tmp_path / "net.h5"
    path.write_bytes(b"old content")

    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(hdf5, "_write_projection", boom)
    with pytest.raises(RuntimeError, match="disk on fire"):
        save_network(network, path)
    assert path.read_bytes() == b"old content"
    assert os.listdir(tmp_path) == ["net.h5"]


def test_failed_write_midway_leaves_no_file(results, tmp_path, monkeypatch):
    original = h5py.Group.create_dataset
    calls = []

    def flaky(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise OSError("no space left on device")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(h5py.Group, "create_dataset", flaky)
    with pytest.raises(OSError, match="no space"):
        save_results(results, tmp_path / "r.h5")
    assert len(calls) == 3
    assert os.listdir(tmp_path) == []


def test_invalid_network_is_rejected_before_any_file(tmp_path):
    net = build_network()
    weights = np.array(net.projections["poisson->lif"].weights)
    weights[2] = np.nan
    net.projections["poisson->lif"].weights = weights
    with pytest.raises(NetworkError, match="weight"):
        save_network(net, tmp_path / "net.h5")
    assert os.listdir(tmp_path) == []


def test_overwrite_replaces_content(network, tmp_path):
    path = tmp_path / "net.h5"
    small = Network(seed=2)
    small.add_population("p", 2, LIF())
    save_network(small, path)
    save_network(network, path)
    assert list(load_network(path).populations) == list(network.populations)
    assert os.listdir(tmp_path) == ["net.h5"]


# ---------------------------------------------------------------- bad files
def _copy(saved, tmp_path, edit) -> str:
    path = tmp_path / "edited.h5"
    path.write_bytes(open(saved, "rb").read())
    with h5py.File(path, "r+") as f:
        edit(f)
    return str(path)


@pytest.mark.parametrize("loader", [load_network, load_results])
def test_missing_and_non_hdf5_files(loader, tmp_path):
    with pytest.raises(FileFormatError, match="no such file"):
        loader(tmp_path / "absent.h5")
    junk = tmp_path / "junk.h5"
    junk.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(FileFormatError, match="junk.h5"):
        loader(junk)
    empty = tmp_path / "empty.h5"
    empty.write_bytes(b"")
    with pytest.raises(FileFormatError, match="empty.h5"):
        loader(empty)


def test_truncated_file(saved, tmp_path):
    data = open(saved, "rb").read()
    path = tmp_path / "half.h5"
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(FileFormatError, match="half.h5"):
        load_network(path)


@pytest.mark.parametrize("loader", [load_network, load_results])
def test_plain_hdf5_file_is_not_an_snnsim_file(loader, tmp_path):
    path = tmp_path / "plain.h5"
    with h5py.File(path, "w") as f:
        f["x"] = np.arange(3)
    with pytest.raises(FileFormatError, match="plain.h5.*format.*not an snnsim file"):
        loader(path)


def test_wrong_kind_and_version(saved, tmp_path):
    with pytest.raises(FileFormatError, match="expected 'snnsim.results'"):
        load_results(saved)
    path = _copy(saved, tmp_path, lambda f: f.attrs.__setitem__("format_version", 999))
    with pytest.raises(FileFormatError, match="format_version.*999"):
        load_network(path)


@pytest.mark.parametrize("item", ["projections/poisson->lif/weights", "populations/coba/parameters/tau_exc",
                                  "sources/spikes/times", "populations/coba/initial/v/std", "probes"])
def test_missing_dataset_or_group(saved, tmp_path, item):
    path = _copy(saved, tmp_path, lambda f: f.__delitem__(item))
    with pytest.raises(FileFormatError, match=f"edited.h5: /{item}: missing"):
        load_network(path)


@pytest.mark.parametrize("obj, attr", [("/", "seed"), ("populations/lif", "size"), ("populations/lif", "reset"),
                                       ("projections/coba->coba", "order"), ("probes/lif.v", "variable")])
def test_missing_attribute(saved, tmp_path, obj, attr):
    path = _copy(saved, tmp_path, lambda f: f[obj].attrs.__delitem__(attr))
    with pytest.raises(FileFormatError, match=f"@{attr}: missing attribute"):
        load_network(path)


def test_wrongly_typed_items(saved, tmp_path):
    path = _copy(saved, tmp_path, lambda f: f["populations/lif"].attrs.__setitem__("size", "twenty"))
    with pytest.raises(FileFormatError, match="populations/lif@size: must be int"):
        load_network(path)

    def float_indices(f):
        del f["projections/coba->coba/indices"]
        f["projections/coba->coba/indices"] = np.zeros(3)
    with pytest.raises(FileFormatError, match="indices: must hold integers"):
        load_network(_copy(saved, tmp_path, float_indices))
    path = _copy(saved, tmp_path, lambda f: f["populations/lif"].attrs.__setitem__("model", "Izhikevich"))
    with pytest.raises(FileFormatError, match="unknown model 'Izhikevich'"):
        load_network(path)


def test_nan_weight_is_a_network_error(saved, tmp_path):
    def poison(f):
        f["projections/poisson->lif/weights"][4] = np.nan
    with pytest.raises(NetworkError, match="projection 'poisson->lif': weight: must be finite"):
        load_network(_copy(saved, tmp_path, poison))


def test_inconsistent_content_is_a_network_error(saved, tmp_path):
    def bad_index(f):
        f["projections/spikes->./indices"][0] = 99
    with pytest.raises(NetworkError, match="indices"):
        load_network(_copy(saved, tmp_path, bad_index))

    def negative_rate(f):
        f["sources/poisson/rate"][0] = -1.0
    with pytest.raises(NetworkError, match="poisson source 'poisson': rate"):
        load_network(_copy(saved, tmp_path, negative_rate))
