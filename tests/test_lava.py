"""The Lava backend against our engine: Lava's own fixed_pt and floating_pt models are the oracle.

Lava (lava-nc 0.10.0) is installed by scripts/setup.sh, so these tests run in CI.
"""

import subprocess
import sys

import numpy as np
import pytest

from snnsim import CubaLIF, LIF, CobaLIF, Network, simulate
from snnsim.errors import NetworkError
from snnsim.lava_compat import available

from loihi_cases import bundle

pytestmark = pytest.mark.skipif(not available(), reason="lava-nc is not installed (scripts/setup.sh installs it)")

N_CASES, PER_RUN, T = 100, 10, 0.06


def _same_spikes(a, b):
    return np.array_equal(a.times, b.times) and np.array_equal(a.indices, b.indices)


@pytest.mark.parametrize("first", range(0, N_CASES, PER_RUN))
def test_loihi_engine_is_bit_identical_to_lava_fixed_pt(first):
    """100 random networks (10 per Lava run): identical spike rasters and identical u, v at every step."""
    net, names = bundle(first, PER_RUN)
    ours = simulate(net, T, arithmetic="loihi_fixed")
    lava = simulate(net, T, backend="lava", arithmetic="loihi_fixed")
    assert set(ours.spikes) == set(lava.spikes) and set(ours.traces) == set(lava.traces)
    for name in ours.spikes:
        assert _same_spikes(ours.spikes[name], lava.spikes[name]), name
    for name in ours.traces:
        assert ours.traces[name].values.shape == (round(T / net.dt) + 1, net.populations[
            ours.traces[name].population].size)
        np.testing.assert_array_equal(ours.traces[name].values, lava.traces[name].values, err_msg=name)
        assert np.array_equal(ours.traces[name].values, np.rint(ours.traces[name].values))   # integers
    assert sum(len(s) for s in ours.spikes.values()) > 0


@pytest.mark.parametrize("first", range(0, N_CASES, PER_RUN))
def test_loihi_float_engine_matches_lava_floating_pt(first):
    """The same networks in float64: identical spikes; states equal to rounding (Lava sums a
    step's inputs in another order)."""
    net, names = bundle(first, PER_RUN)
    ours = simulate(net, T, arithmetic="loihi_float")
    lava = simulate(net, T, backend="lava", arithmetic="loihi_float")
    for name in ours.spikes:
        assert _same_spikes(ours.spikes[name], lava.spikes[name]), name
    for name in ours.traces:
        a, b = ours.traces[name].values, lava.traces[name].values
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12 * max(1.0, float(np.abs(a).max())), err_msg=name)


def test_wrap_and_saturation_agree_with_lava():
    """Inputs far beyond 24 bits: u wraps and v saturates exactly as in Lava."""
    net = Network(dt=1e-3, seed=5)
    rng = np.random.default_rng(0)
    net.add_spike_source("in", 300, np.repeat([0.002, 0.003, 0.005], 300), np.tile(np.arange(300), 3))
    net.add_population("a", 4, CubaLIF(tau_mem=20e-3, tau_syn=10e-3, v_th=1.0))
    net.add_population("b", 3, LIF(tau_mem=20e-3, v_th=1.0))
    net.connect("in", "a", np.vstack([np.full(300, 1000.0), np.full(300, -1000.0), rng.uniform(-900, 1000, (2, 300))]))
    net.connect("in", "b", np.vstack([np.full(300, 1000.0), np.full(300, -1000.0), np.full(300, 3.0)]))
    for p in ("a", "b"):
        net.probe_spikes(p)
        net.probe_state(p, "v")
    net.probe_state("a", "i_syn")
    ours = simulate(net, 0.01, arithmetic="loihi_fixed")
    lava = simulate(net, 0.01, backend="lava", arithmetic="loihi_fixed")
    limit = 2 ** 23
    u = ours.traces["a.i_syn"].values
    v = np.vstack([ours.traces["a.v"].values.T, ours.traces["b.v"].values.T])
    assert np.abs(u).max() <= limit and np.abs(v).max() <= limit - 1
    assert (v == -(limit - 1)).any()                 # saturated at the negative limit
    for name in ours.traces:
        np.testing.assert_array_equal(ours.traces[name].values, lava.traces[name].values, err_msg=name)
    for name in ours.spikes:
        assert _same_spikes(ours.spikes[name], lava.spikes[name])


def test_spikes_at_time_zero_reach_their_targets_in_step_one():
    net = Network(dt=1e-3)
    net.add_spike_source("in", 2, [0.0, 0.0, 0.004], [0, 1, 1])
    net.add_population("a", 2, LIF(tau_mem=10e-3, v_th=0.5))
    net.connect("in", "a", np.array([[1.0, 0.0], [0.0, 0.35]]))
    net.probe_spikes("a")
    net.probe_state("a", "v")
    ours = simulate(net, 0.01, arithmetic="loihi_fixed")
    lava = simulate(net, 0.01, backend="lava", arithmetic="loihi_fixed")
    # neuron 0 at step 1; neuron 1 needs both inputs: 0.35 (decayed over 4 steps, ~x0.67) + 0.35 > 0.5
    assert ours.spikes["a"].times.tolist() == pytest.approx([0.001, 0.005])
    assert ours.spikes["a"].indices.tolist() == [0, 1]
    np.testing.assert_array_equal(ours.traces["a.v"].values, lava.traces["a.v"].values)
    assert _same_spikes(ours.spikes["a"], lava.spikes["a"])


def _small():
    net = Network(dt=1e-3)
    net.add_poisson("in", 3, 100.0)
    net.add_population("a", 2, CubaLIF())
    return net


@pytest.mark.parametrize("change, field", [
    (lambda n: n.connect("in", "a", np.ones((2, 3)), delay=3e-3), "delay"),
    (lambda n: n.add_population("c", 2, CobaLIF()), "model"),
    (lambda n: n.add_population("c", 2, LIF(t_ref=2e-3)), "t_ref"),
    (lambda n: n.add_population("c", 2, LIF(reset="subtract")), "reset"),
    (lambda n: n.add_population("c", 2, LIF(v_th=[1.0, 2.0])), "v_th"),
    (lambda n: n.add_population("c", 2, LIF(tau_mem=[1e-2, 2e-2])), "tau_mem"),
    (lambda n: n.add_current("i", "a", 1e-3), "amplitude"),
])
def test_what_lava_cannot_express_is_refused_before_running(change, field):
    net = _small()
    change(net)
    with pytest.raises(NetworkError) as err:
        simulate(net, 0.01, backend="lava", arithmetic="loihi_fixed")
    assert err.value.field == field


def test_loihi2_hardware_config_is_selectable_and_fails_clearly_without_lava_loihi():
    from snnsim.backends.lava import Simulator
    net = _small()
    net.connect("in", "a", np.ones((2, 3)))
    sim = Simulator(net, arithmetic="loihi_fixed", run_config="loihi2-hw")
    with pytest.raises(Exception) as err:
        sim.run(0.005)
    sim.close()
    assert isinstance(err.value, RuntimeError) and "lava-loihi" in str(err.value)
    with pytest.raises(NetworkError, match="lava engine: run_config: must be one of"):
        Simulator(net, run_config="loihi3")
    with pytest.raises(NetworkError, match="lava engine: speed: is not an option of the lava engine"):
        Simulator(net, speed=2)


def test_compat_step_is_needed_and_only_touches_lava_classes():
    """Without the step, lava-nc 0.10.0 fails to import on this Python; with it, it imports;
    other packages' dataclasses keep the standard check."""
    if sys.version_info >= (3, 11):
        plain = subprocess.run([sys.executable, "-c", "import lava.proc.lif.process"], capture_output=True,
                               text=True)
        assert plain.returncode != 0 and "mutable default" in plain.stderr
    shimmed = subprocess.run([sys.executable, "-c", "from snnsim.lava_compat import import_lava;"
                              "import_lava('lava.magma.core.run_configs');"
                              "import_lava('lava.proc.lif.process'); print('ok')"], capture_output=True, text=True)
    assert shimmed.returncode == 0 and shimmed.stdout.strip() == "ok", shimmed.stderr
    from dataclasses import dataclass
    from snnsim.lava_compat import install
    install()

    @dataclass
    class Unhashable:
        x: int = 0

    if sys.version_info >= (3, 11):
        with pytest.raises(ValueError, match="mutable default"):
            @dataclass
            class Holder:
                item: Unhashable = Unhashable()
    # a lava-module class gets a fresh copy per object
    ns = {"__name__": "lava.fake", "dataclass": dataclass, "Unhashable": Unhashable}
    exec("@dataclass\nclass Holder:\n    item: Unhashable = Unhashable(3)\n", ns)
    a, b = ns["Holder"](), ns["Holder"]()
    assert a.item == Unhashable(3) and a.item is not b.item


@pytest.mark.parametrize("connections", ["dense", "sparse"])
def test_dense_and_sparse_lava_connections_are_both_bit_identical(connections):
    net, _ = bundle(100, 6)
    ours = simulate(net, T, arithmetic="loihi_fixed")
    lava = simulate(net, T, backend="lava", arithmetic="loihi_fixed", connections=connections)
    for name in ours.spikes:
        assert _same_spikes(ours.spikes[name], lava.spikes[name]), name
    for name in ours.traces:
        np.testing.assert_array_equal(ours.traces[name].values, lava.traces[name].values, err_msg=name)
