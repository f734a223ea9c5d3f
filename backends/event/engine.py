"""The event-driven engine: exact spike times in continuous time (:mod:`snnsim.kernels.event`).

``Simulator(network).run(duration)`` processes spikes and deliveries in time order; between
events every neuron follows the closed-form solution of its equations, so spike times are not
rounded to a grid (``docs/engines.md``). Consecutive ``run`` calls continue from where the last
one stopped. The engine computes in float64; ``dt`` only sets the grid of state probes and the
delay of projections declared without one (one ``dt``, as in the clock engine). Single-threaded.

Changes between runs: parameters and constant currents take effect at the time reached (each
changed neuron's state is committed there with the old values); new weights apply to the spikes
sent from then on (spikes in flight keep the weights they were sent with, as in the clock
engine's delay buffer); new rates or spike times apply after the time reached (a Poisson neuron
draws its next spike anew: the process is memoryless). Delays cannot change: rows are sorted by
delay and spikes in flight walk them.
"""

from __future__ import annotations

import math
import time

import numpy as np

from snnsim.results import build_results, trace_grid
from snnsim.kernels import event as ke

from .. import common
from ..base import Capabilities, Engine
from . import packing

NAME = "event"

CAPABILITIES = Capabilities(
    models=("LIF", "CubaLIF", "LI", "IF"),
    integrations=("exact",),
    arithmetics=("float64",),
    delays="continuous",
    targets=("current",),
    inputs=("poisson", "poisson_series", "spike_times", "current"),
    changes=("parameters", "weights", "rates", "spike_times", "currents", "probes"),
    time="continuous",
    comparison="continuous",
    poisson="continuous",
    reasons=(("model:CobaLIF", "conductance synapses make v depend nonlinearly on the conductances between "
                               "events: there is no closed form to jump with"),
             ("integration:euler", "the event engine solves the equations in closed form between events"),
             ("current_series", "it needs a constant drive between events; give a constant amplitude"),
             ("target", "conductance targets belong to CobaLIF")),
)

_LEGACY = ("legacy_of", "legacy_w0", "legacy_w_off", "legacy_weight")


class Simulator(Engine):
    """A network packed for the event-driven engine, with its state and queues."""

    NAME = NAME
    CAPABILITIES = CAPABILITIES

    # ------------------------------------------------------------------ building
    def _build(self) -> None:
        plan = self.plan
        n_nodes, n = plan.layout.n_nodes, plan.layout.n_neurons
        self.table = packing.neuron_table(plan)
        self._legacy = []                    # (live projection, w0, weights or None) per legacy entry
        self.synapses = packing.pack_synapses(plan)
        self.sources = packing.pack_sources(plan)
        self.node_queue = ke.NodeQueue(np.full(n_nodes, np.inf), np.zeros(n_nodes, np.int64),
                                       np.full(n_nodes, -1, np.int64), np.zeros(1, np.int64))
        self.flight = ke.Flight(np.zeros(1024), np.zeros(1024, np.int64), np.zeros(1024, np.int64),
                                np.zeros(1024, np.int64), np.zeros(1, np.int64))
        self.window = ke.Window(np.zeros(1024), np.zeros(1024, np.int64), np.zeros(1024), np.zeros(1024, np.uint8),
                                np.zeros(1024, np.int64), np.zeros(1024, np.int64), np.zeros(256),
                                np.zeros(256, np.int64), np.zeros(n, np.int64))
        self.clock = np.array([-1.0, self._window_length(), np.inf, ke.WINDOW_DELIVERIES, plan.dt])
        sizes = [plan.layout.sizes[name] for name in plan.layout.groups]
        self.node_group = np.repeat(np.arange(len(sizes), dtype=np.int32), sizes)
        self._started = False

    def _window_length(self) -> float:
        # a window stays just under the shortest delay, so rounding never lets a spike reach its own window
        return packing.shortest_delay(self.synapses, len(self.plan.projections)) * (1.0 - 1e-9)

    # ------------------------------------------------------------------ changes
    def _apply(self, changes, old_plan, old_values) -> None:
        kinds = {c.kind for c in changes}
        plan, layout, t = self.plan, self.plan.layout, self.t
        touched = {c.name for c in changes if c.kind == "parameters"}
        if "currents" in kinds:  # constant currents are part of the drive of their populations
            touched |= {cur.target for cur in plan.currents.values()} | {cur.target for cur in old_plan.currents.values()}
        if touched:
            new = packing.neuron_table(plan)
            for name in touched:
                lo = layout.offsets[name]
                ke.recommit(self.table, self.node_queue, new, lo, lo + layout.sizes[name], t)
        if "weights" in kinds:
            self._new_weights({c.name for c in changes if c.kind == "weights"}, old_values)
        changed_sources = {c.name for c in changes if c.kind in ("rates", "spike_times")}
        if changed_sources:
            old = self.sources
            self.sources = src = packing.pack_sources(plan)
            src.count[:] = old.count
            keep = np.ones(len(src.kind), bool)
            for name in changed_sources:
                keep[layout.offsets[name] - layout.n_neurons:][:layout.sizes[name]] = False
            src.tptr[keep] = old.tptr[keep]
            for name in changed_sources:
                lo = layout.offsets[name] - layout.n_neurons
                if self._started:
                    ke.reschedule_sources(src, self.node_queue, layout.n_neurons, lo, lo + layout.sizes[name], t)

    def _new_weights(self, changed: set, old_values: dict) -> None:
        """Repack the synapses with the new weights; spikes in flight on a changed projection go on
        through a legacy entry holding the weights they were sent with."""
        names = list(self.plan.projections)
        n_live = len(names)
        live = packing.pack_synapses(self.plan)
        count = int(self.flight.count[0])
        procs = self.flight.proj[:count]
        shadows, remap = [], {}
        for q in np.unique(procs):
            q = int(q)
            if q >= n_live:
                shadow = self._legacy[q - n_live]
            elif names[q] in changed:
                old = dict(old_values["projections"][names[q]])["weights"]
                proj = self.plan.projections[names[q]]
                if np.ndim(old) == 0:
                    shadow = (q, float(old), None)
                else:
                    order = packing.storage_order(proj, self.dt)
                    w = np.asarray(old, np.float64)
                    shadow = (q, 0.0, w if order is None else w[order])
            else:
                continue
            remap[q] = n_live + len(shadows)
            shadows.append(shadow)
        for q, new_q in remap.items():
            self.flight.proj[:count][procs == q] = new_q
        self._legacy = shadows
        self.synapses = packing.with_legacy(live, shadows)

    # ------------------------------------------------------------------ state
    def _population_state(self) -> dict:
        n = self.plan.layout.n_neurons
        v, i = np.zeros(n), np.zeros(n)
        ke.states_at(self.table, self.t, v, i)
        out = {}
        for name, pop in self.plan.populations.items():
            values = {"v": v, "i_syn": i}
            out[name] = {var: values[var][pop.lo:pop.lo + pop.size].copy() for var in pop.model.state_variables}
        return out

    def _internals(self) -> dict:
        nq, fl = self.node_queue, self.flight
        count = int(fl.count[0])
        legacy_w_off, legacy_weight, at = [], [], 0
        for _, _, w in self._legacy:
            legacy_w_off.append(-1 if w is None else at)
            if w is not None:
                legacy_weight.append(w)
                at += len(w)
        return {"table": self.table.copy(), "nq_key": nq.key.copy(), "nq_node": nq.node.copy(), "nq_pos": nq.pos.copy(),
                "nq_size": nq.size.copy(), "fl_t": fl.t_spike[:count].copy(), "fl_c": fl.cursor[:count].copy(),
                "fl_e": fl.end[:count].copy(), "fl_p": fl.proj[:count].copy(), "src_count": self.sources.count.copy(),
                "src_tptr": self.sources.tptr.copy(), "clock": self.clock.copy(), "started": np.int64(self._started),
                "legacy_of": np.array([p for p, _, _ in self._legacy], np.int64),
                "legacy_w0": np.array([w0 for _, w0, _ in self._legacy], np.float64),
                "legacy_w_off": np.array(legacy_w_off, np.int64),
                "legacy_weight": np.concatenate(legacy_weight) if legacy_weight else np.zeros(0)}

    def _load_internals(self, s: dict) -> None:
        common.check_shape(np.shape(s["table"]), self.table.shape, NAME, "table")
        s = dict(s)
        if np.shape(s["clock"]) == (4,):  # written before NEXT_OK: column 6 held the subtract flag
            table = np.array(s["table"], np.float64)
            table[ke.COLD, :, ke.V_SUB] *= table[ke.COLD, :, ke.NEXT_OK] != 0.0
            table[ke.COLD, :, ke.NEXT_OK] = -np.inf
            s["table"] = table
            s["clock"] = np.append(s["clock"], self.plan.dt)
        self.table[...] = s["table"]
        for key, arr in (("nq_key", self.node_queue.key), ("nq_node", self.node_queue.node),
                         ("nq_pos", self.node_queue.pos), ("nq_size", self.node_queue.size),
                         ("src_count", self.sources.count), ("src_tptr", self.sources.tptr), ("clock", self.clock)):
            common.load_array(arr, s[key], NAME, key)
        count = len(s["fl_t"])
        size = max(1024, count)
        arrays = [np.zeros(size), np.zeros(size, np.int64), np.zeros(size, np.int64), np.zeros(size, np.int64)]
        for arr, key in zip(arrays, ("fl_t", "fl_c", "fl_e", "fl_p")):
            arr[:count] = s[key]
        self.flight = ke.Flight(*arrays, np.array([count], np.int64))
        w_off, weight = np.asarray(s["legacy_w_off"]), np.asarray(s["legacy_weight"])
        self._legacy = []
        for i, (p, w0) in enumerate(zip(np.asarray(s["legacy_of"]), np.asarray(s["legacy_w0"]))):
            if w_off[i] < 0:
                self._legacy.append((int(p), float(w0), None))
            else:
                n = self.plan.projections[list(self.plan.projections)[int(p)]].n_synapses
                self._legacy.append((int(p), 0.0, weight[w_off[i]:w_off[i] + n].copy()))
        self.synapses = packing.with_legacy(packing.pack_synapses(self.plan), self._legacy)
        self.clock[ke.CLOCK_W] = self._window_length()
        self._started = bool(s["started"])

    # ------------------------------------------------------------------ running
    def _advance(self, duration, n_steps, progress):
        layout = self.plan.layout
        t0, t_end, first = self.t, self.t + duration, not self._segments
        rec, probe_cols = self._recorder(t0, t_end, first)
        n_entries = len(self.synapses.w0)
        counters = ke.EventCounters(np.zeros(4, np.int64), self.node_group, np.zeros(len(layout.groups), np.int64),
                                    np.zeros(n_entries, np.int64), np.zeros(n_entries, np.int64))
        args = (self.table, self.synapses, self.sources, self.node_queue)

        t_jit = time.perf_counter()
        with common.compile_notice(progress):  # compile or load from the cache: no event is processed
            ke.initialise(*args, 0, 0)
            ke.run_windows(-np.inf, *args, self.flight, self.window, rec._replace(ks=rec.ks[:0]), counters,
                           self.clock.copy())
        jit_s = time.perf_counter() - t_jit

        t_loop = time.perf_counter()
        if not self._started:
            ke.initialise(*args, layout.n_neurons, len(self.sources.kind))
            self._started = True
        if len(rec.ks) and rec.ks[0] * self.dt <= t0:  # the state at the start, before any event at that time
            ke.sample_at(self.table, rec, 0)
            rec.next[0] = 1
        out = ke.run_windows(t_end, *args, self.flight, self.window, rec, counters, self.clock)
        self.flight = ke.Flight(*out[:4], self.flight.count)
        self.window = self.window._replace(time=out[4], target=out[5], weight=out[6], flags=out[7], next=out[8],
                                           order=out[9], spike_time=out[10], spike_node=out[11])
        rec = rec._replace(times=out[12], nodes=out[13])
        loop_s = time.perf_counter() - t_loop
        self.t = t_end
        self.step = math.floor(t_end / self.dt + 1e-9)
        return self._results(t0, duration, rec, counters, probe_cols, jit_s, loop_s)

    def _recorder(self, t0: float, t_end: float, first: bool):
        """Spike recorder and the state samples of this segment: the global grid ``k dt``
        (``k % every == 0``) from ``t0`` (first segment; after ``t0`` for a continued one) to ``t_end``."""
        k0 = math.floor(t0 / self.dt + 1e-9)
        k1 = math.floor(t_end / self.dt + 1e-9)
        col_node, col_var, col_every, col_off, probe_cols, at, grids = [], [], [], [], {}, 0, []
        for probe in self.plan.state_probes():
            ks = trace_grid(probe.every, k0, k1, first)
            first_col = len(col_node)
            for i in probe.neurons:
                col_node.append(self.plan.layout.offsets[probe.target] + int(i))
                col_var.append(0 if probe.variable == "v" else 1)
                col_every.append(probe.every)
                col_off.append(at - (int(ks[0]) // probe.every if len(ks) else 0))
                at += len(ks)
            grids.append(ks)
            probe_cols[probe.name] = (first_col, len(col_node), ks)
        ks = np.unique(np.concatenate(grids)) if grids else np.zeros(0, np.int64)
        ints = lambda xs: np.array(xs, np.int64)  # noqa: E731
        capacity = 4096
        rec = ke.EventRecorder(self.plan.recorded_mask(), np.zeros(capacity), np.zeros(capacity, np.int64),
                               np.zeros(1, np.int64), 0.0, float(self.dt), ks.astype(np.int64), np.zeros(1, np.int64),
                               ints(col_node), ints(col_var), ints(col_every), ints(col_off), np.zeros(at))
        return rec, probe_cols

    def _results(self, t0, duration, rec, cnt, probe_cols, jit_s, loop_s):
        plan, layout = self.plan, self.plan.layout
        count = int(rec.count[0])
        n_live = len(plan.projections)
        delivered = cnt.delivered[:n_live].copy()
        for i, (p, _, _) in enumerate(self._legacy):
            delivered[p] += cnt.delivered[n_live + i]
        into = {name: 0 for name in plan.populations}
        for p, proj in enumerate(plan.projections.values()):
            into[proj.post] += int(delivered[p])
        # a neuron's state is advanced for every input delivered to it and every spike it fires
        updates = [into[name] + int(cnt.per_group[g]) for g, name in enumerate(layout.populations)]
        traces = {name: (ks * self.dt, np.stack([rec.out[rec.col_off[c] + ks // rec.col_every[c]]
                                                 for c in range(lo, hi)], axis=1) if hi > lo else np.zeros((len(ks), 0)))
                  for name, (lo, hi, ks) in probe_cols.items()}
        return build_results(NAME, plan, self.arithmetic, t0, duration, steps=0, spike_times=rec.times[:count],
                             spike_nodes=rec.nodes[:count], traces=traces, group_spikes=cnt.per_group,
                             projection_events=cnt.sent[:n_live], neuron_updates=updates, loop_s=loop_s, jit_s=jit_s,
                             engine_counters={"windows": int(cnt.totals[3]), "deliveries": int(cnt.totals[1])})
