"""The pieces of the engine contract on their own: run options and their old spellings, the
change watch, snapshot files, results files of the previous version. (The conformance suite,
tests/conformance, runs the whole contract on every engine.)"""

from __future__ import annotations

import dataclasses
import warnings

import h5py
import numpy as np
import pytest

import snnsim
from snnsim import LI, LIF, CubaLIF, FileFormatError, FixedProbability, Network, NetworkError
from snnsim.backends.base import RunOptions, capabilities, resolve_options
from snnsim.changes import diff, values_of
from snnsim.io import load_results


def small() -> Network:
    net = Network(dt=1e-4, seed=4)
    net.add_poisson("in", 10, rate=100.0)
    net.add_population("a", 5, CubaLIF())
    net.add_population("r", 2, LI(tau_mem=10e-3, tau_syn=0.0))
    net.connect("in", "a", FixedProbability(0.5), weight=3.0)
    net.connect("a", "r", FixedProbability(1.0), weight=0.1)
    net.probe_spikes("a")
    return net


# ------------------------------------------------------------------ options
def test_run_options_map_the_old_spellings_with_a_deprecation():
    caps = capabilities("cpu")
    with pytest.warns(DeprecationWarning, match="dtype= is deprecated"):
        assert resolve_options("cpu", caps, None, {"dtype": "float64"}).arithmetic == "float64"
    with pytest.warns(DeprecationWarning, match="integration='loihi' is deprecated"):
        opts = resolve_options("cpu", caps, None, {"integration": "loihi"})
    assert opts.arithmetic == "loihi_fixed" and opts.integration is None
    with pytest.warns(DeprecationWarning, match="fixed_point= is deprecated"):
        assert resolve_options("lava", capabilities("lava"), None, {"fixed_point": True}).arithmetic == "loihi_fixed"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opts = resolve_options("cpu", caps, RunOptions(dt=2e-4), {"arithmetic": "float64"})
    assert (opts.dt, opts.arithmetic, opts.integration) == (2e-4, "float64", None)
    assert resolve_options("lava", capabilities("lava")).engine == {"run_config": "sim", "connections": "auto"}
    assert resolve_options("event", capabilities("event")).arithmetic == "float64"   # the engine's default


@pytest.mark.parametrize("kwargs,field,text", [
    ({"speed": 3}, "speed", "is not an option of the cpu engine"),
    ({"integration": "rk4"}, "integration", "'rk4'"),
    ({"arithmetic": "bfloat16"}, "arithmetic", "'bfloat16'"),
    ({"device": "cuda"}, "device", "engines that do: \\['torch'\\]"),
    ({"dt": -1.0}, "dt", "-1.0"),
])
def test_bad_run_options_name_the_option(kwargs, field, text):
    with pytest.raises(NetworkError, match=text) as err:
        snnsim.simulator(small(), "cpu", **kwargs)
    assert err.value.field == field


def test_options_as_a_dict_or_an_object():
    a = snnsim.simulate(small(), 5e-3, options={"arithmetic": "float64"})
    b = snnsim.simulate(small(), 5e-3, options=RunOptions(arithmetic="float64"))
    np.testing.assert_array_equal(a.spikes["a"].times, b.spikes["a"].times)
    assert a.arithmetic == b.arithmetic == "float64"


# ------------------------------------------------------------------ the change watch
def test_the_change_watch_names_each_kind():
    net = small()
    before = values_of(net)
    net.set_parameters("a", v_th=0.9)
    net.set_weights("in->a", 2.0)
    net.set_rate("in", 50.0)
    net.probe_state("a", "v")
    kinds = {(c.kind, c.where, c.field) for c in diff(before, values_of(net))}
    assert kinds == {("parameters", "population 'a'", "model"), ("weights", "projection 'in->a'", "weights"),
                     ("rates", "source 'in'", "rate"), ("probes", "probe 'a.v'", "added")}
    assert diff(values_of(net), values_of(net)) == []


def test_structural_changes_are_told_apart_from_parameters():
    net = small()
    before = values_of(net)
    net.populations["r"].model = dataclasses.replace(net.populations["r"].model, tau_syn=5e-3)  # gains i_syn
    net.populations["a"].model = LIF()                                                         # another kind
    kinds = {c.where: c.kind for c in diff(before, values_of(net))}
    assert kinds == {"population 'r'": "structure", "population 'a'": "structure"}
    with pytest.raises(NetworkError, match="changes the state variables"):
        small().set_parameters("r", tau_syn=5e-3)
    with pytest.raises(NetworkError, match="population 'a': tau: is not a parameter of CubaLIF"):
        small().set_parameters("a", tau=1.0)


def test_two_equal_networks_differ_only_by_identity():
    a, b = values_of(small()), values_of(small())
    assert diff(a, b)                      # different objects
    assert diff(a, b, by_value=True) == []  # the same values


def test_setters_validate_and_leave_the_network_as_it_was_on_error():
    net = small()
    n_syn = len(net.projections["in->a"].indices)  # drawn (FixedProbability(0.5)): read, not assumed
    assert n_syn != 3
    with pytest.raises(NetworkError, match=rf"projection .in->a.: weight: must be a scalar, a distribution or have "
                                           rf"shape \({n_syn},\), got shape \(3,\)"):
        net.set_weights("in->a", np.ones(3))
    assert net.projections["in->a"].weights == 3.0
    with pytest.raises(NetworkError, match="delay"):
        net.set_delays("in->a", -1e-3)
    assert net.projections["in->a"].delays is None
    with pytest.raises(NetworkError, match="rate: must be >= 0"):
        net.set_rate("in", -5.0)
    with pytest.raises(NetworkError, match="only a Poisson source has a rate"):
        net.set_rate("a", 5.0)


# ------------------------------------------------------------------ snapshots
def test_a_snapshot_keeps_meta_and_refuses_garbage(tmp_path):
    sim = snnsim.simulator(small(), "cpu")
    sim.run(2e-3)
    sim.save(tmp_path / "s.h5", meta={"duration_s": 0.5, "note": "x"})
    again = snnsim.load_simulator(tmp_path / "s.h5")
    assert again.meta == {"duration_s": 0.5, "note": "x"} and again.t == pytest.approx(2e-3)
    before = (tmp_path / "s.h5").read_bytes()
    with h5py.File(tmp_path / "bad.h5", "w") as f:
        f.attrs["format"] = "snnsim.snapshot"
        f.attrs["format_version"] = 1
    with pytest.raises(FileFormatError, match="bad.h5: /@engine: missing attribute|bad.h5: .*missing"):
        snnsim.load_simulator(tmp_path / "bad.h5")
    (tmp_path / "junk.h5").write_bytes(b"not an hdf5 file")
    with pytest.raises(FileFormatError, match="junk.h5"):
        snnsim.load_simulator(tmp_path / "junk.h5")
    net_file = tmp_path / "net.h5"
    snnsim.io.save_network(small(), net_file)
    with pytest.raises(FileFormatError, match="is 'snnsim.network', expected 'snnsim.snapshot'"):
        snnsim.load_simulator(net_file)
    assert (tmp_path / "s.h5").read_bytes() == before


def test_a_state_from_another_engine_or_structure_is_refused():
    cpu = snnsim.simulator(small(), "cpu")
    cpu.run(1e-3)
    state = cpu.state()
    with pytest.raises(NetworkError, match="must be a State of the event engine, got 'cpu'"):
        snnsim.simulator(small(), "event").restore(state)
    other = small()
    other.add_population("x", 3, LIF())
    with pytest.raises(NetworkError, match="population 'x': added: differs between the state's network"):
        snnsim.simulator(other, "cpu").restore(state)
    with pytest.raises(NetworkError, match="dt: the state was made with dt=0.0001"):
        snnsim.simulator(small(), "cpu", dt=5e-5).restore(state)


# ------------------------------------------------------------------ results files
def test_a_results_file_of_version_1_is_still_read(tmp_path):
    path = tmp_path / "old.h5"
    with h5py.File(path, "w") as f:
        f.attrs.update(format="snnsim.results", format_version=1, snnsim_version="0.1.0", backend="cpu", dt=1e-4,
                       integration="exact", dtype="float32", t_start=0.0, duration=1e-3)
        f.attrs["neuron_populations"] = np.array(["a"], dtype=h5py.string_dtype())
        f.attrs["spiking_populations"] = np.array(["a"], dtype=h5py.string_dtype())
        f.create_group("sizes").attrs.update(a=5, src=2)
        f.create_group("spike_counts").attrs.update(a=3, src=4)
        f.create_group("counters").attrs.update(steps=10, syn_events=12)
        f.create_group("spikes")
        f.create_group("traces")
    res = load_results(path)
    assert res.arithmetic == "float32" and res.spike_counts == {"a": 3, "src": 4}
    assert res.counts["populations"]["a"] == {"neuron_updates": 50, "spikes": 3}
    assert res.counts["sources"]["src"] == {"spikes": 4} and res.counters["syn_events"] == 12


def test_results_of_several_runs_join_and_counts_add_up():
    sim = snnsim.simulator(small(), "cpu")
    parts = [sim.run(1e-3), sim.run(2e-3), sim.run(0.0)]
    joined = sim.results()
    assert joined.duration == pytest.approx(3e-3) and joined.counters["steps"] == 30
    for kind in ("populations", "projections", "sources"):
        for name, c in joined.counts[kind].items():
            for key, value in c.items():
                assert value == sum(p.counts[kind][name][key] for p in parts)
    assert len(joined.spikes["a"]) == sum(len(p.spikes["a"]) for p in parts)
    with pytest.raises(NetworkError, match="segments are not consecutive"):
        snnsim.Results.concatenate([parts[1], parts[0]])
