"""Run a snnsim network of LIF neurons on NEST's precise-timing model ``iaf_psc_delta_ps``.

The independent oracle of the event engine (tests/test_event_nest.py) and its
peer in benchmarks/event_vs_clock.py. The mapping (docs/engines.md):

============================  ==========================================================
snnsim ``LIF`` (SI)            NEST ``iaf_psc_delta_ps`` (mV, ms, pF, pA)
============================  ==========================================================
``tau_mem`` (s)                ``tau_m = 1e3 tau_mem``
``v_leak``, ``v_th``,          ``E_L``, ``V_th``, ``V_reset``, ``V_m`` = 1e3 x the volts
``v_reset``, initial ``v``
``r (i_bias + i_ext)`` (V)     ``I_e = 1e3 r (i_bias + i_ext) C_m / tau_m`` with any ``C_m``
                               (``tau_m dV/dt = -(V - E_L) + tau_m I_e / C_m``)
``t_ref`` (s)                  ``t_ref = 1e3 t_ref``; input while refractory is dropped
                               (``refractory_input = False``, NEST's default)
weight ``w`` (V, ``v += w``)   ``weight = 1e3 w`` (mV jump)
delay ``d`` (s)                ``delay = 1e3 d``; NEST needs a multiple of its resolution
spike source times (s)         ``spike_generator`` with ``precise_times = True``
============================  ==========================================================

Only ``reset="value"`` maps (NEST resets to ``V_reset``).

NEST runs in a child process (``spawn``) for the tests: its OpenMP runtime and the one torch
brings cannot share a process (a segfault in NEST after in-process torch training, seen in CI),
so NEST is never imported into the test process. ``setup_only`` (the benchmark's timing hook)
runs it in the calling process.
"""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import numpy as np

from snnsim.models import LIF
from snnsim.network import Network, SpikeSource

C_M = 250.0  # pF; any value works, I_e is scaled by it


def nest_available() -> bool:
    """Whether NEST imports and works, checked in a child process (an unusable install is as good as none)."""
    probe = subprocess.run([sys.executable, "-c", "import nest; nest.ResetKernel()"],
                           capture_output=True, timeout=300)
    return probe.returncode == 0


def run_on_nest(net: Network, duration: float, resolution: float = 1e-4, threads: int = 1,
                setup_only: bool = False):
    """Spike times ``{population: (times_s, indices)}`` of ``net`` simulated by NEST for ``duration`` s,
    computed in a child process.

    With ``setup_only`` it runs here and returns ``(nest, simulate, nodes)`` instead: ``simulate(duration_s)``
    runs it (for timing), ``nodes[population]`` are the NEST node ids.
    """
    if setup_only:
        return _run_here(net, duration, resolution, threads, setup_only=True)
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(_run_in_child, net, duration, resolution, threads).result(timeout=600)


def _run_in_child(net: Network, duration: float, resolution: float, threads: int):
    try:
        return _run_here(net, duration, resolution, threads)
    except Exception as exc:  # NEST's own exception classes do not pickle back to the parent
        raise RuntimeError(f"NEST: {type(exc).__name__}: {exc}") from None


def _run_here(net: Network, duration: float, resolution: float, threads: int, setup_only: bool = False):
    import nest

    if hasattr(nest, "VerbosityLevel"):  # NEST >= 3.9
        nest.verbosity = nest.VerbosityLevel.ERROR
    else:
        nest.set_verbosity("M_ERROR")
    nest.ResetKernel()
    nest.SetKernelStatus({"resolution": resolution * 1e3, "local_num_threads": threads, "rng_seed": 1})
    ids = {}
    for name, pop in net.populations.items():
        model = pop.model
        if not isinstance(model, LIF) or model.reset != "value":
            raise ValueError(f"population {name!r}: only LIF with reset='value' maps onto iaf_psc_delta_ps")
        p = pop.parameters()
        i_ext = np.zeros(pop.size)
        for cur in net.currents.values():
            if cur.target == name:
                if cur.sample_dt is not None:
                    raise ValueError(f"current {cur.name!r}: only constant currents map onto I_e")
                i_ext += cur.amplitude
        tau_ms = p["tau_mem"] * 1e3
        nodes = nest.Create("iaf_psc_delta_ps", pop.size)
        nodes.set({"tau_m": tau_ms, "C_m": np.full(pop.size, C_M), "E_L": p["v_leak"] * 1e3,
                   "V_th": p["v_th"] * 1e3, "V_reset": p["v_reset"] * 1e3, "t_ref": p["t_ref"] * 1e3,
                   "I_e": 1e3 * p["r"] * (p["i_bias"] + i_ext) * C_M / tau_ms,
                   "V_m": pop.initial_state(net.seed)["v"] * 1e3})
        ids[name] = np.array(nodes.tolist())
    for name, src in net.sources.items():
        if not isinstance(src, SpikeSource):
            raise ValueError(f"source {name!r}: give NEST explicit spike times (record a Poisson source first)")
        gens = nest.Create("spike_generator", src.size)
        for i in range(src.size):
            times_ms = np.sort(src.times[src.indices == i]) * 1e3
            gens[i].set({"precise_times": True, "spike_times": times_ms})
        ids[name] = np.array(gens.tolist())
    for proj in net.projections.values():
        counts = np.diff(proj.indptr)
        pre = ids[proj.pre][np.repeat(np.arange(len(counts)), counts)]
        post = ids[proj.post][proj.indices]
        n = len(post)
        weight = np.broadcast_to(np.asarray(proj.weights, np.float64) * 1e3, (n,))
        delay = np.broadcast_to(np.asarray(net.dt if proj.delays is None else proj.delays) * 1e3, (n,))
        nest.Connect(pre, post, "one_to_one", {"synapse_model": "static_synapse",
                                               "weight": np.ascontiguousarray(weight),
                                               "delay": np.ascontiguousarray(delay)})
    recorders = {}
    for name in net.populations:
        rec = nest.Create("spike_recorder")
        nest.Connect(nest.NodeCollection(ids[name].tolist()), rec)
        recorders[name] = rec

    def simulate(seconds: float) -> None:
        nest.Simulate(seconds * 1e3)

    if setup_only:
        return nest, simulate, ids
    simulate(duration)
    out = {}
    for name, rec in recorders.items():
        ev = rec.get("events")
        order = np.lexsort((ev["senders"], ev["times"]))
        out[name] = (np.asarray(ev["times"])[order] * 1e-3, np.asarray(ev["senders"])[order] - ids[name][0])
    return out
