"""benchmarks/scale.py: its JSON against its own counters and against closed forms, at smoke-test size.

``--quick --skip-brian2`` runs COBA-style networks of 4000 and 33000 neurons with 80 synapses
per neuron (p = 80 / N) for 0.1 s on 1 and 2 threads (snnsim, and NEST where installed), each
side in a child process. No figure is timed here: the checks are the row fields, the relations
between them, and values known in advance (the synapse count's binomial distribution).
"""

import importlib.util
import inspect
import json
import math
import subprocess
import sys
import time
from pathlib import Path

import pytest

from snnsim.network import Network

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "scale.py"
REQUIRED = ("n_neurons", "n_synapses", "threads", "wall_s_per_sim_s", "syn_events_per_s", "peak_rss_bytes",
            "bytes_per_synapse", "brian2_wall_s_per_sim_s", "speedup_vs_brian2", "nest_wall_s_per_sim_s",
            "speedup_vs_nest", "build_s")


@pytest.fixture(scope="module")
def report():
    proc = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--skip-brian2"], capture_output=True,
                          text=True, timeout=900, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def stored_rows(report):
    return [r for r in report["results"] if not r.get("skipped") and not r["procedural"]]


def test_rows_have_the_fields_and_every_size_and_thread_count(report):
    rows = stored_rows(report)
    assert {(r["n_neurons"], r["threads"]) for r in rows} == {(4000, 1), (4000, 2), (33000, 1), (33000, 2)}
    for r in report["results"]:
        assert all(f in r for f in REQUIRED), [f for f in REQUIRED if f not in r]
    assert report["auryn_anchor"]["wall_s_per_sim_s"] == 51.9


def test_events_per_second_is_events_over_the_loop_time(report):
    for r in stored_rows(report):
        wall = r["wall_s_per_sim_s"] * r["duration_s"]
        assert r["syn_events_per_s"] == pytest.approx(r["syn_events"] / wall, rel=1e-12)
        # every spike of a neuron delivers one event per outgoing synapse: events / spikes is the
        # mean out-degree of the neurons that fired, 80 on average (thousands of spiking neurons)
        assert r["syn_events"] / r["spikes"] == pytest.approx(r["n_synapses"] / r["n_neurons"], rel=0.03)
        if r["nest_wall_s_per_sim_s"] is not None:
            assert r["speedup_vs_nest"] == pytest.approx(r["nest_wall_s_per_sim_s"] / r["wall_s_per_sim_s"])
            assert r["nest_syn_events_per_s"] > 0


def test_synapse_count_is_binomial_with_80_per_neuron(report):
    """Every one of the N^2 ordered pairs (self-connections allowed) exists with p = 80 / N:
    the count has mean 80 N and standard deviation sqrt(N^2 p (1 - p)); 5 sd either side."""
    for r in stored_rows(report):
        n = r["n_neurons"]
        p = 80 / n
        assert abs(r["n_synapses"] - p * n * n) < 5 * math.sqrt(n * n * p * (1 - p)), r["n_synapses"]
        if r["nest_n_synapses"] is not None:        # NEST: fixed_indegree, 64 + 16 per neuron exactly
            assert r["nest_n_synapses"] == 80 * n


def test_two_threads_give_the_spikes_of_one(report):
    rows = stored_rows(report)
    assert all(r["same_spikes_as_1_thread"] for r in rows)
    assert any(r["windows"] == 2 for r in rows if r["threads"] == 2)   # 33000 neurons: the loop was split


def test_stored_bytes_are_resident_at_the_peak(report):
    """The arrays counted as stored (numpy's nbytes) were all resident at once: the kernel's peak
    RSS of that child is at least their sum."""
    for r in stored_rows(report):
        assert r["peak_rss_bytes"] >= r["bytes_per_synapse"] * r["n_synapses"]
        assert 4.0 <= r["bytes_per_synapse"]     # at least an int32 target per synapse in a stored layout


def test_rates_are_coba_like_on_both_simulators(report):
    """The same equations in NEST (iaf_cond_exp, adaptive RKF45) and snnsim (Euler): the first 0.1 s
    including the transient, mean rates in COBA's range and within a factor 2 of each other."""
    for r in stored_rows(report):
        assert 10 < r["mean_rate_hz"] < 40
        if r["nest_mean_rate_hz"] is not None:
            assert 0.5 < r["mean_rate_hz"] / r["nest_mean_rate_hz"] < 2.0


def test_procedural_row_is_run_or_marked_skipped(report):
    rows = [r for r in report["results"] if r["procedural"]]
    assert {r["threads"] for r in rows} == {1, 2}
    if "procedural" in inspect.signature(Network.connect).parameters:
        assert all(not r.get("skipped") and r["same_spikes_as_stored"] for r in rows)
    else:
        assert all("procedural connectivity not available" in r["skipped"] for r in rows)
        assert all(r["wall_s_per_sim_s"] is None for r in rows)


def test_bad_size_is_refused_by_name():
    proc = subprocess.run([sys.executable, str(SCRIPT), "--sizes", "4000,12xk"], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    assert proc.returncode != 0 and "'12xk'" in proc.stderr


def test_a_child_past_its_timeout_is_killed_and_reported():
    spec = importlib.util.spec_from_file_location("scale_bench", SCRIPT)
    scale = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(scale)
    t0 = time.perf_counter()
    r = scale.run_child([sys.executable, "-c", "import time; time.sleep(60)"], None, timeout=1.0)
    assert time.perf_counter() - t0 < 30
    assert r == {"error": "timed out after 1 s"}
