"""The CPU clock engine on two threads gives the spikes, state and counts of one thread, bit for bit.

The parallel loop (``run_steps_parallel``) splits the neurons into target windows, one per
thread; only networks of ``MIN_WINDOW`` neurons per window are split, so the tests lower
it to make small networks take the parallel path, with a window cut inside a population.
"""

import numba
import numpy as np
import pytest

from snnsim import NetworkError, simulate
from snnsim.backends.cpu import Simulator
from snnsim.backends.cpu import engine
from snnsim.examples.coba import build_coba

from test_determinism import DURATION, assert_same, random_net


@pytest.fixture
def small_windows(monkeypatch):
    monkeypatch.setattr(engine, "MIN_WINDOW", 64)


def run(net, duration, threads, arithmetic="float64"):
    sim = Simulator(net, threads=threads, arithmetic=arithmetic)
    res = sim.run(duration)
    return res, sim._internals()


def assert_same_state(a, b):
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_windows_cover_the_neurons_in_cache_line_steps(small_windows):
    w = engine.thread_windows(220, 2)
    assert list(w) == [0, 64, 220]  # 220 // 2 = 110, down to a multiple of 64
    assert list(engine.thread_windows(100, 2)) == [0, 100]  # fewer than 2 x 64 neurons: one window
    assert list(engine.thread_windows(1000, 1)) == [0, 1000]


@pytest.mark.parametrize("arithmetic", ["float32", "float64"])
def test_random_network_with_delays_two_threads_match_one(small_windows, arithmetic):
    net = random_net()
    assert len(engine.thread_windows(net.n_neurons, 2)) == 3  # the parallel loop runs, cut inside "exc"
    r1, s1 = run(net, DURATION, 1, arithmetic)
    r2, s2 = run(net, DURATION, 2, arithmetic)
    assert r1.spike_counts["exc"] > 50  # a network that spikes and propagates
    assert_same(r1, r2)
    assert r1.counts == r2.counts  # synaptic events per projection
    assert_same_state(s1, s2)  # v, synaptic state, refractory counters and the delay rings


def test_coba_two_threads_match_one(small_windows):
    net = build_coba(n_neurons=800, seed=3)
    r1, s1 = run(net, 0.1, 1)
    r2, s2 = run(net, 0.1, 2)
    assert sum(r1.spike_counts.values()) > 100
    assert_same(r1, r2)
    assert r1.counts == r2.counts
    assert_same_state(s1, s2)


def test_split_runs_on_two_threads_continue_like_one_run(small_windows):
    net = random_net()
    sim = Simulator(net, threads=2)
    first = sim.run(DURATION / 2)
    second = sim.run(DURATION / 2)
    whole = simulate(net, DURATION, threads=1)
    n_half = sum(len(s) for s in first.spikes.values()) + sum(len(s) for s in second.spikes.values())
    assert n_half == sum(len(s) for s in whole.spikes.values())
    for name in whole.spikes:
        times = np.concatenate([first.spikes[name].times, second.spikes[name].times])
        np.testing.assert_array_equal(times, whole.spikes[name].times, err_msg=name)


def test_the_global_thread_count_is_restored(small_windows):
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        simulate(random_net(), 0.01, threads=2)
        assert numba.get_num_threads() == 1
    finally:
        numba.set_num_threads(before)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, numba.config.NUMBA_NUM_THREADS + 1])
def test_bad_thread_counts_are_refused(bad):
    with pytest.raises(NetworkError, match="threads"):
        Simulator(random_net(), threads=bad)


def test_default_is_all_cores():
    assert Simulator(random_net()).threads == numba.config.NUMBA_NUM_THREADS


def test_cli_run_threads_flag_reaches_the_engine(tmp_path, monkeypatch):
    from snnsim.cli import build_parser, run_options
    args = build_parser().parse_args(["run", "net.py", "--threads", "1"])
    assert run_options(args)["threads"] == 1
    args = build_parser().parse_args(["demo"])
    assert "threads" not in run_options(args)  # default: the engine's (all cores)



def test_the_parallel_loop_runs_on_numbas_own_pool_unless_asked():
    """A fresh process (the pool is chosen once per process): workqueue, not OpenMP."""
    import os
    import subprocess
    import sys
    code = ("import numba, snnsim; from snnsim.backends.cpu import engine; engine.MIN_WINDOW = 64\n"
            "from test_determinism import random_net\n"
            "snnsim.simulate(random_net(), 0.005, threads=2); print(numba.threading_layer())")
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_THREADING_LAYER"}
    env["PYTHONPATH"] = os.pathsep.join([os.path.dirname(__file__), env.get("PYTHONPATH", "")])
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-1] == "workqueue"
