"""The event engine bounds re-firing at one instant (issue 14, "no hangs").

A LIF neuron with reset by subtraction and ``t_ref = 0`` kicked far above threshold used
to fire at the same instant until ``v`` came back under threshold (1e15 kicks: never
returned). The rule (docs/engines.md): a reset that leaves ``v`` above threshold defers
the next spike to the next ``dt`` grid point, where it fires if ``v`` is still above
threshold, the clock engine's one spike per step. The cases run in a child process with
a timeout, so a regression fails instead of hanging the suite. Expected spike times are
worked out by hand in the comments (tau_mem = 20 ms, dt = 1 ms, v_th = 1, v_leak = 0).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys
import snnsim
from snnsim import LIF, Network

out = []
for weight, v_reset, arrival in json.loads(sys.argv[1]):
    net = Network(dt=1e-3, integration="exact", seed=1)
    src = net.add_spike_source("kick", 1, times=[1e-3], indices=[0])
    pop = net.add_population("n", 1, LIF(tau_mem=20e-3, v_th=1.0, v_reset=v_reset, reset="subtract"),
                             initial={"v": 0.0})
    net.connect(src, pop, snnsim.OneToOne(), weight=weight, delay=arrival - 1e-3)
    net.probe_spikes(pop)
    res = snnsim.simulate(net, duration=10e-3, backend="event")
    out.append(res.spikes["n"].times.tolist())
print(json.dumps(out))
"""

CASES = [
    # (weight, v_reset, arrival time of the kick in s)
    (1000.0, 0.0, 2e-3),
    (1e15, 0.0, 2e-3),
    (1.25, 0.9, 2e-3),
    (1.06, 0.95, 2e-3),
    (1000.0, 0.0, 2.5e-3),
]


@pytest.fixture(scope="module")
def spikes():
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    # generous: the child compiles the event kernels on a cold cache; the old loop never returned
    proc = subprocess.run([sys.executable, "-c", CHILD, json.dumps(CASES)], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr
    return [np.array(t) for t in json.loads(proc.stdout.strip().splitlines()[-1])]


def test_huge_kick_fires_once_per_grid_step(spikes):
    # v = 1000 at 2 ms: fire, subtract 1 -> 999 > 1, so the next spike waits for 3 ms, where
    # v = 999 exp(-1/20) = 950 > 1; v stays above threshold (v(10 ms) > 1000 exp(-0.4) - 9 = 661),
    # so one spike per grid point 2, 3, ..., 10 ms: 9 spikes (the clock engine's count)
    np.testing.assert_allclose(spikes[0], np.arange(2, 11) * 1e-3, rtol=0, atol=1e-12)


def test_astronomic_kick_returns(spikes):
    # 1e15: the same 9 grid points (before the rule: 1e15 spikes at 2 ms)
    np.testing.assert_allclose(spikes[1], np.arange(2, 11) * 1e-3, rtol=0, atol=1e-12)


def test_deferred_spike_fires_only_if_still_above_threshold(spikes):
    # v_reset = 0.9 (subtract 0.1): 1.25 -> fire, 1.15; at 3 ms 1.15 exp(-0.05) = 1.0939 > 1 ->
    # fire, 0.9939 < 1, no drive: no more. Two spikes.
    np.testing.assert_allclose(spikes[2], [2e-3, 3e-3], rtol=0, atol=1e-12)
    # v_reset = 0.95 (subtract 0.05): 1.06 -> fire, 1.01; at 3 ms 1.01 exp(-0.05) = 0.9607 < 1:
    # the deferred spike is dropped. One spike.
    np.testing.assert_allclose(spikes[3], [2e-3], rtol=0, atol=1e-12)


def test_deferral_is_to_the_grid_not_by_dt(spikes):
    # kick at 2.5 ms: fire then, then at the grid points 3, 4, ..., 10 ms (9 spikes; a fixed
    # gap of dt would give 2.5, 3.5, ..., 9.5 ms: 8)
    np.testing.assert_allclose(spikes[4], np.r_[2.5, np.arange(3, 11)] * 1e-3, rtol=0, atol=1e-12)


def test_a_state_saved_before_the_rule_restores():
    # event states written before NEXT_OK had a 4-long clock and the subtract flag (1.0) in the
    # column NEXT_OK now holds: restoring one must give the uninterrupted run, not a neuron
    # barred from firing until t = 1 s. Three neurons, reset by subtraction, driven above
    # threshold (i_bias 1.5): they fire every tau ln(1.5/0.5) = 21.97 ms; neuron 0 is also kicked by
    # 1.5 at 70 ms (v > 1.5 > v_th: a jump-evoked spike then, which the old flag would defer to 1 s).
    import snnsim
    from snnsim import LIF, Network
    from snnsim.kernels import event as ke
    from snnsim.simulate import simulator

    net = Network(dt=1e-3, integration="exact", seed=1)
    pop = net.add_population("n", 3, LIF(tau_mem=20e-3, i_bias=1.5, reset="subtract"), initial={"v": 0.0})
    kick = net.add_spike_source("kick", 3, times=[0.069], indices=[0])
    net.connect(kick, pop, snnsim.OneToOne(), weight=1.5, delay=1e-3)
    net.probe_spikes(pop)
    with simulator(net, "event") as sim:
        sim.run(0.05)
        state = sim.state()
        sim.run(0.05)
        whole = sim.results().spikes["n"].times
    old = dict(state.internals)
    table = np.array(old["table"])
    table[ke.COLD, :, ke.NEXT_OK] = 1.0                     # the old subtract flag
    old["table"], old["clock"] = table, np.array(old["clock"])[:4]
    with simulator(net, "event") as sim:
        state.internals = old
        sim.restore(state)
        sim.run(0.05)
        again = sim.results().spikes["n"].times
    assert np.isclose(whole, 0.07, rtol=0, atol=1e-12).sum() == 1   # the kick's spike
    assert (whole < 0.066).sum() == 9                                  # 3 driven spikes each at 22, 44, 66 ms
    np.testing.assert_array_equal(again, whole)
