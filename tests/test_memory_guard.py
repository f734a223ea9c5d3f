"""The memory guard (snnsim.memory): refusals before allocating, and estimates against measurement."""

import json
import subprocess
import sys
import textwrap
import tracemalloc

import numpy as np
import pytest

from snnsim import LIF, Network, simulate
from snnsim import memory
from snnsim.connectivity import FixedInDegree, FixedProbability
from snnsim.distributions import Normal
from snnsim.memory import MemoryGuardError


def test_a_huge_network_is_refused_before_anything_is_drawn(tmp_path):
    """10^8 neurons x 100 synapses each (10^10 synapses, >= 40 GB stored as int32 indices alone): the
    population costs nothing, connect refuses before the rule draws (the traced peak stays under
    1 MB); run in a child process with a timeout so an allocation would show as a kill, not a hang."""
    code = textwrap.dedent("""
        import json, tracemalloc
        from snnsim import LIF, Network
        from snnsim.connectivity import FixedInDegree
        from snnsim.memory import MemoryGuardError, available
        tracemalloc.start()
        net = Network()
        pop = net.add_population("cortex", 10 ** 8, LIF())
        try:
            net.connect(pop, pop, FixedInDegree(100))
            msg = None
        except MemoryGuardError as exc:
            msg = str(exc)
        print(json.dumps({"msg": msg, "peak": tracemalloc.get_traced_memory()[1], "available": available()}))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert res["available"] is not None and res["available"] < 10 ** 10 * 4   # the machine cannot hold it
    assert res["msg"] is not None and res["peak"] < 2 ** 20, res
    assert "projection 'cortex->cortex': rule:" in res["msg"] and "1e+10 synapses" in res["msg"]
    assert "GiB" in res["msg"] and "available" in res["msg"]


def test_connect_estimate_matches_the_measured_peak():
    """A mid-size projection (5000 x 5000 at p = 0.05, per-synapse Normal weights and delays:
    1.25 M synapses): the estimate is within 25 % of the traced peak of connect, and the stored
    bytes are the documented per-synapse costs (4 + 4 + 4: int32 target, float32 drawn weight and delay)."""
    net = Network(seed=2)
    a = net.add_population("a", 5000, LIF())
    w, d = Normal(1e-3, 1e-4), Normal(2e-3, 1e-4)
    est = memory.connect_estimate(FixedProbability(0.05), 5000, 5000, True, w, d).total
    net.connect(a, a, FixedProbability(0.01), weight=w, delay=d, name="warm-up")   # compiled first: the JIT's own memory is not the rule's
    tracemalloc.start()
    proj = net.connect(a, a, FixedProbability(0.05), weight=w, delay=d)
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert abs(est / peak - 1) < 0.25, (est, peak)
    n = proj.n_synapses
    assert abs(n - 0.05 * 5000 * 5000) < 5 * np.sqrt(0.05 * 0.95 * 5000 * 5000)
    assert abs(current - (n * (4 + 4 + 4) + 5001 * 8)) < 0.01 * current


def test_engine_estimate_matches_the_measured_build_and_run():
    """The clock engine's build plus a 0.2 s run with a full voltage trace: the estimate (engine
    part, not the already-built description) is within 30 % of the traced allocations."""
    net = Network(seed=3)
    a = net.add_population("a", 4000, LIF(v_th=1.0))
    net.connect(a, a, FixedProbability(0.05), weight=Normal(1e-3, 1e-4))
    net.probe_state(a, "v")
    simulate(Network_small(), 1e-3)   # compile or load the kernels outside the measurement
    est = memory.estimate(net, 0.2, "cpu", "float64").total
    tracemalloc.start()
    res = simulate(net, 0.2, arithmetic="float64")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert res.traces["a.v"].values.shape == (2001, 4000)
    assert abs(est / peak - 1) < 0.30, (est, peak)


def test_engine_estimate_matches_the_measured_brunel_run():
    """Brunel at scale 0.2 (3.1 M synapses, shared weights and delay, Poisson drive at rate dt = 2:
    spike buffers sized by the count bound): estimate within 30 % of the traced build and run."""
    from snnsim.examples.brunel import build_brunel
    simulate(Network_small(), 1e-3)
    net = build_brunel(scale=0.2)
    est = memory.estimate(net, 0.05, "cpu", "float32")
    assert est.parts["spike buffers"] > 2500 * 22 * memory.SPIKE_BUFFER_BYTES * 0.9
    tracemalloc.start()
    simulate(net, 0.05)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert abs(est.total / peak - 1) < 0.30, (est.total, peak, est.parts)


def Network_small():
    net = Network()
    net.add_population("a", 2, LIF())
    net.probe_state("a", "v")
    return net


def test_every_engine_refuses_before_building_and_before_a_run(monkeypatch):
    from snnsim.backends.base import REGISTRY, engine_module
    net = Network()
    net.add_population("a", 1000, LIF())
    net.probe_state("a", "v")
    need_build = memory.estimate(net, None, "cpu", "float64").total
    monkeypatch.setenv("SNNSIM_MEMORY_BYTES", str(need_build // 2))
    with pytest.raises(MemoryGuardError, match=r"cpu engine: network: the cpu engine needs about .* available"):
        simulate(net, 1e-3)
    for name in ("event", "torch"):
        if name in REGISTRY:
            with pytest.raises(MemoryError):
                simulate(net, 1e-3, backend=name)
    # a build that fits, a run whose trace does not: 1000 neurons x 100001 samples x 24 B = 2.4 GB
    monkeypatch.setenv("SNNSIM_MEMORY_BYTES", str(10 ** 9))
    with pytest.raises(MemoryGuardError, match=r"cpu engine: duration: .*running 10 s needs about 2\.[0-9]+ GiB"):
        simulate(net, 10.0)
    simulate(net, 1e-2)   # 1000 x 101 x 24 B: fits


def test_info_prints_the_estimate(tmp_path):
    """``snnsim info --duration``: the trace of 10 neurons for 1 s at dt = 0.1 ms is 10 x 10001
    samples x 24 B (engine, Results, join) = 2,400,240 B, counted by hand."""
    script = tmp_path / "net.py"
    script.write_text("from snnsim import Network, LIF\nnetwork = Network()\n"
                      "network.add_population('a', 100, LIF())\nnetwork.probe_state('a', 'v', neurons=range(10))\n")
    out = subprocess.run([sys.executable, "-m", "snnsim.cli", "info", str(script), "--duration", "1", "--json"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    mem = json.loads(out.stdout.strip().splitlines()[-1])["memory"]
    assert mem["parts_bytes"]["traces"] == 10 * 10001 * 24
    assert mem["fits"] and "memory estimate" in out.stdout
