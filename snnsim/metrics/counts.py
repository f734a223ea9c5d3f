"""Per-population and per-projection figures of one run, read from its counters only.

Definitions (docs/metrics.md):

- ``neuron_updates``, ``spikes`` (population), ``syn_events`` (projection): the engine's counters.
- ``steps``: the run's time steps; for the event engine, which has none, ``duration / dt``.
- ``dense_macs`` of a projection: ``n_pre * n_post * steps``, the multiply-accumulates a dense
  layer of the same shape evaluated once per time step would do (the ANN baseline of a simulation).
- ``activation_sparsity`` of a population: ``1 - spikes / neuron_updates`` (the fraction of
  neuron-steps without a spike, NeuroBench's definition for spiking activations).
- ``connection_sparsity`` of a projection: ``1 - n_synapses / (n_pre * n_post)``.
- ``footprint_bytes``: parameters (per-synapse weights, delays and indices at the engine's
  storage size, shared scalars once) plus state (neuron state variables), for ``arithmetic``.
- throughput: ``syn_events_per_s``, ``neuron_updates_per_s`` over the loop time, and
  ``real_time_factor = loop_s / duration`` (below 1: faster than real time).
"""

from __future__ import annotations

import numpy as np

from snnsim.errors import NetworkError

#: bytes per stored value by arithmetic (indices are int32 in every engine's plan)
VALUE_BYTES = {"float32": 4, "float64": 8, "loihi": 4, "loihi_float": 4}
INDEX_BYTES = 4


def _state_variables(pop) -> int:
    return len(pop.initial_state(0))


def run_metrics(network, results) -> dict:
    """Figures of ``results`` (a run of ``network``): ``{"populations": {...}, "projections": {...},
    "totals": {...}}``, every field named with its unit."""
    counts = results.counts
    missing = set(network.projections) - set(counts["projections"])
    if missing:
        raise NetworkError("metrics", "results", f"holds no counts for projections {sorted(missing)}: "
                           f"it is not a run of this network")
    # time steps of dt in the run: the clock engines count them; the event engine has none, and the
    # dense baseline and time-stepped hardware (Loihi) would take duration / dt of them
    steps = int(results.counters.get("steps", 0)) or int(round(results.duration / network.dt))
    value = VALUE_BYTES.get(results.arithmetic, 8)
    pops = {}
    for name, c in counts["populations"].items():
        pop = network.populations[name]
        updates, spikes = int(c["neuron_updates"]), int(c["spikes"])
        pops[name] = {
            "neurons": pop.size, "neuron_updates": updates, "spikes": spikes,
            "rate_hz": spikes / (pop.size * results.duration) if results.duration > 0 else 0.0,
            "activation_sparsity": 1.0 - spikes / updates if updates else 1.0,
            "state_bytes": pop.size * _state_variables(pop) * value,
        }
    projs = {}
    for name, proj in network.projections.items():
        n_pre, n_post = network.node(proj.pre).size, network.node(proj.post).size
        n_syn = proj.n_synapses
        weight_bytes = n_syn * value if np.ndim(proj.weights) else value
        delay_bytes = 0 if proj.delays is None else (n_syn * value if np.ndim(proj.delays) else value)
        projs[name] = {
            "pre": proj.pre, "post": proj.post, "synapses": n_syn,
            "syn_events": int(counts["projections"][name]["syn_events"]),
            "dense_macs": n_pre * n_post * steps,
            "connection_sparsity": 1.0 - n_syn / (n_pre * n_post),
            "parameter_bytes": n_syn * INDEX_BYTES + (n_pre + 1) * INDEX_BYTES + weight_bytes + delay_bytes,
        }
    loop = float(results.counters.get("loop_s", 0.0))
    syn = sum(p["syn_events"] for p in projs.values())
    upd = sum(p["neuron_updates"] for p in pops.values())
    totals = {
        "steps": steps, "duration_s": results.duration, "neurons": sum(p["neurons"] for p in pops.values()),
        "synapses": sum(p["synapses"] for p in projs.values()),
        "neuron_updates": upd, "spikes": sum(p["spikes"] for p in pops.values()),
        "source_spikes": int(results.counters.get("source_spikes", 0)),
        "syn_events": syn, "dense_macs": sum(p["dense_macs"] for p in projs.values()),
        "footprint_bytes": sum(p["parameter_bytes"] for p in projs.values())
        + sum(p["state_bytes"] for p in pops.values()),
        "loop_s": loop,
        "syn_events_per_s": syn / loop if loop > 0 else 0.0,
        "neuron_updates_per_s": upd / loop if loop > 0 else 0.0,
        "real_time_factor": loop / results.duration if results.duration > 0 else 0.0,
    }
    return {"populations": pops, "projections": projs, "totals": totals}
