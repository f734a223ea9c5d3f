"""Energy of a run: the estimate on a profile (from the counters), the equivalent ANN's, and
measured energy where the machine exposes a counter (RAPL). Estimates and measurements are
reported side by side, never added together.

SNN estimate on an ``snn`` profile (pJ), per population ``p`` and projection ``j``:

- synaptic operations: ``syn_events_j * syn_op_pj``;
- neuron updates (the chip is time-stepped: ``updates_p = neurons_p * steps`` on every engine, the
  event engine included): ``active_p * neuron_update_active_pj + (updates_p - active_p) *
  neuron_update_inactive_pj`` with ``active_p = min(updates_p, spikes_p + syn_events into p)``,
  an upper bound on the neuron-steps that had input or fired (the counters do not say which);
- spike routing: each presynaptic spike of ``j`` is sent once to every core holding one of its
  targets: ``spike_tile_pj`` per destination core plus ``hop_ew_pj`` / ``hop_ns_pj`` per mesh hop
  between the source tile and the destination tile. Nodes are placed on cores in the plan's
  numbering (populations, then sources), ``neurons_per_core`` per core. The cost per spike of a
  presynaptic neuron is exact; a population's spikes are spread over its neurons by their
  recorded spike counts where the run recorded them, uniformly otherwise.

ANN estimate on an ``ann`` profile: ``dense_macs * (mac_pj + memory_pj)`` per projection (the
dense layer of the same shape, evaluated every step; activations not priced).
"""

from __future__ import annotations

import glob
import os
import time
from contextlib import contextmanager

import numpy as np

from snnsim.metrics.counts import run_metrics
from snnsim.metrics.profiles import EnergyProfile
from snnsim.plan import layout_of

PJ = 1e-12


def _tile_xy(core: np.ndarray, profile: EnergyProfile) -> tuple[np.ndarray, np.ndarray]:
    tile = core // profile.cores_per_tile
    return tile % profile.mesh_columns, tile // profile.mesh_columns


def routing_pj_per_neuron(proj, pre_offset: int, post_offset: int, profile: EnergyProfile) -> np.ndarray:
    """Routing energy (pJ) of one spike of each presynaptic neuron of ``proj``, shape ``(n_pre,)``."""
    n_pre = len(proj.indptr) - 1
    out = np.zeros(n_pre)
    src_core = (pre_offset + np.arange(n_pre)) // profile.neurons_per_core
    sx, sy = _tile_xy(src_core, profile)
    dst_core_all = (post_offset + np.asarray(proj.indices, np.int64)) // profile.neurons_per_core
    for i in range(n_pre):
        cores = np.unique(dst_core_all[proj.indptr[i]:proj.indptr[i + 1]])
        if cores.size == 0:
            continue
        dx, dy = _tile_xy(cores, profile)
        hops = np.abs(dx - sx[i]) * profile.hop_ew_pj + np.abs(dy - sy[i]) * profile.hop_ns_pj
        out[i] = cores.size * profile.spike_tile_pj + hops.sum()
    return out


def _spikes_per_neuron(results, name: str, size: int, total: int) -> np.ndarray:
    if name in results.spikes:
        return results.spikes[name].counts().astype(np.float64)
    return np.full(size, total / size if size else 0.0)


def _source_total(results, name: str) -> int:
    pops, srcs = results.counts["populations"], results.counts["sources"]
    return int((pops.get(name) or srcs.get(name))["spikes"])


def estimate_energy(network, results, profile: EnergyProfile, metrics: dict | None = None) -> dict:
    """The energy of ``results`` (a run of ``network``) on ``profile``: joules per population and
    projection, the total, energy per synaptic event (µJ), and the assumptions, as a dict."""
    m = metrics or run_metrics(network, results)
    if profile.kind == "ann":
        per_proj = {name: p["dense_macs"] * (profile.mac_pj + profile.memory_pj) * PJ
                    for name, p in m["projections"].items()}
        total = sum(per_proj.values())
        return {"profile": profile.name, "kind": "ann", "citation": profile.citation,
                "projections_j": per_proj, "populations_j": {}, "total_j": total,
                "assumptions": [f"dense layer of each projection's shape evaluated every step: "
                                f"{profile.mac_pj} pJ per MAC" + (f" + {profile.memory_pj} pJ weight read"
                                                                   if profile.memory_pj else ""),
                                "activation functions and input/output movement not priced"]}
    layout = layout_of(network)
    into = {name: 0 for name in m["populations"]}
    per_proj, routing = {}, {}
    for name, p in m["projections"].items():
        into[p["post"]] += p["syn_events"]
        proj = network.projections[name]
        per_spike = routing_pj_per_neuron(proj, layout.offsets[proj.pre], layout.offsets[proj.post], profile)
        spikes = _spikes_per_neuron(results, proj.pre, len(per_spike), _source_total(results, proj.pre))
        routing[name] = float(per_spike @ spikes) * PJ
        per_proj[name] = p["syn_events"] * profile.syn_op_pj * PJ + routing[name]
    per_pop = {}
    steps = m["totals"]["steps"]
    for name, p in m["populations"].items():
        updates = p["neurons"] * steps          # the chip updates every neuron every step, whatever the engine
        active = min(updates, p["spikes"] + into[name])
        per_pop[name] = (active * profile.neuron_update_active_pj
                         + (updates - active) * profile.neuron_update_inactive_pj) * PJ
    total = sum(per_proj.values()) + sum(per_pop.values())
    syn = m["totals"]["syn_events"]
    return {"profile": profile.name, "kind": "snn", "citation": profile.citation,
            "populations_j": per_pop, "projections_j": per_proj, "routing_j": routing, "total_j": total,
            "energy_per_syn_event_uj": total / syn * 1e6 if syn else None,
            "assumptions": [
                f"{profile.syn_op_pj} pJ per synaptic event; neuron update {profile.neuron_update_active_pj} pJ "
                f"active / {profile.neuron_update_inactive_pj} pJ inactive, active = min(updates, spikes + "
                f"synaptic events in) (an upper bound)",
                f"{profile.neurons_per_core} neurons per core, {profile.cores_per_tile} cores per tile, mesh "
                f"{profile.mesh_columns} tiles wide, nodes placed in the plan's order; a spike costs "
                f"{profile.spike_tile_pj} pJ per destination core plus {profile.hop_ew_pj}/{profile.hop_ns_pj} "
                f"pJ per east-west/north-south hop",
                "energy per synaptic event = total / synaptic events (the field's platform figure)"]}


def _rapl_files() -> list[str]:
    return sorted(glob.glob("/sys/class/powercap/intel-rapl:*/energy_uj"))


@contextmanager
def measure_rapl():
    """Measure CPU package energy (RAPL) around a block: yields a dict filled on exit with
    ``energy_j`` and ``seconds``, or ``available: False`` and the reason where RAPL cannot be read."""
    out: dict = {"source": "rapl"}
    files = [f for f in _rapl_files() if os.access(f, os.R_OK)]
    try:
        start = [int(open(f).read()) for f in files]
    except OSError as err:
        files, out["reason"] = [], str(err)
    t0 = time.perf_counter()
    yield out
    out["seconds"] = time.perf_counter() - t0
    if not files:
        out.update(available=False, reason=out.get("reason", "no readable /sys/class/powercap/intel-rapl:*/energy_uj"))
        return
    try:
        end = [int(open(f).read()) for f in files]
    except OSError as err:
        out.update(available=False, reason=str(err))
        return
    wraps = []
    for f in files:
        try:
            wraps.append(int(open(os.path.join(os.path.dirname(f), "max_energy_range_uj")).read()))
        except OSError:
            wraps.append(0)
    uj = sum((e - s) % w if w else e - s for s, e, w in zip(start, end, wraps))
    out.update(available=True, energy_j=uj * 1e-6)
