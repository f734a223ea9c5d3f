"""Lava backend: the network as real Lava processes, run in Lava's Loihi simulator.

``Simulator(network, arithmetic="loihi_fixed" | "loihi_float")`` maps the network with
:mod:`snnsim.loihi` (:func:`~snnsim.loihi.quantize` for ``fixed_pt``,
:func:`~snnsim.loihi.float_parameters` for ``floating_pt``) and builds, per population, a
``lava.proc.lif.process.LIF``; per
projection a ``lava.proc.dense.process.Dense`` or, for sparse projections, a
``lava.proc.sparse.process.Sparse`` (weight mantissas, ``weight_exp``, ``num_weight_bits=8``,
sign mode); per spike source a ``lava.proc.io.source.RingBuffer`` holding
its spikes (Poisson spikes drawn from the clock engine's stream, so both engines see
the same input); and per recorded variable a tap that streams it out every step
(``lava.proc.io.extractor.Extractor`` on ``s_out``, ``VarWire`` on ``u``/``v``).
It runs them with ``Loihi2SimCfg(select_tag="fixed_pt" | "floating_pt")`` and returns the
same :class:`~snnsim.results.Results` as the other backends: spikes at ``k dt`` for Lava
time step ``k``, traces in the state units of :mod:`snnsim.loihi` (sample 0 is the
initial state).

``run_config="loihi2-hw"`` selects ``Loihi2HwCfg`` for Intel's closed ``lava-loihi``
package and a Loihi 2 system; neither is available here, so that path is untested
(``docs/lava.md``). Lava is imported through :mod:`snnsim.lava_compat`.

Lava's ``Dense`` delays every spike by exactly one step; any other delay is refused.

A run continues: the process graph is built at the first ``run`` and kept (paused) between
runs; each run is played in chunks of the taps' buffer length, the sources' ``RingBuffer`` data
refilled before each chunk from the network as it is then (so new rates and spike times apply
from the next step on). ``close()`` stops Lava's processes (``simulate`` does it after its run).
"""

from __future__ import annotations

import gc
import time

import numpy as np
import scipy.sparse as sp

from snnsim import loihi
from snnsim.errors import NetworkError
from snnsim.lava_compat import import_lava
from snnsim.network import Network, SpikeSource, StateProbe
from snnsim.results import trace_grid

from .base import Capabilities, Engine
from .common import raster_results, source_raster

NAME = "lava"
CAPABILITIES = Capabilities(
    models=("LIF", "CubaLIF", "LI", "IF"),
    arithmetics=("loihi_float", "loihi_fixed"),
    delays="one_step",
    targets=("current",),
    inputs=("poisson", "poisson_series", "spike_times"),
    refractory=False,
    resets=("value",),
    restore=False,
    snapshots=False,
    changes=(),
    loihi_changes=("rates", "spike_times"),
    # loihi_fixed is integer arithmetic, bit-identical to the CPU engine; in loihi_float Lava sums a
    # step's inputs in another order: the same spikes, states to rounding
    comparison="float",
    poisson="per_step",
    options=(("run_config", "sim"), ("connections", "auto")),
    reasons=(("model:CobaLIF", "Loihi's neuron is a current-based LIF"),
             ("delays", "Lava's Dense and Sparse delay every spike by exactly one step"),
             ("refractory", "Lava's LIF has no refractory period"),
             ("reset", "Lava's LIF resets v to 0"),
             ("current", "Loihi has no injected current; give a constant drive as i_bias (the Loihi bias)"),
             ("current_series", "Loihi has no injected current"),
             ("target", "Loihi's LIF has one current input"),
             ("poisson", "a source's Poisson count travels as a graded spike, checked only up to rate*dt = 1; "
                         "use a smaller dt")),
)
#: the most Lava steps played between two refills of the sources and drains of the taps
CHUNK_STEPS = 4096
RUN_CONFIGS = ("sim", "loihi2-hw")
CONNECTIONS = ("auto", "dense", "sparse")
#: the largest dense weight matrix built for one projection (entries)
MAX_DENSE_ENTRIES = 50_000_000
#: ``connections="auto"``: a projection denser than this becomes a ``Dense``, else a ``Sparse``
DENSE_ABOVE = 0.1


def connection_kind(connections: str, n_pre: int, n_post: int, n_synapses: int) -> str:
    """``"dense"`` or ``"sparse"`` for one projection."""
    if connections != "auto":
        return connections
    entries = n_pre * n_post
    return "dense" if entries <= MAX_DENSE_ENTRIES and n_synapses > DENSE_ABOVE * entries else "sparse"


def _lava():
    """The Lava names used here, imported once through the compatibility step."""
    return {
        "LIF": import_lava("lava.proc.lif.process").LIF,
        "Dense": import_lava("lava.proc.dense.process").Dense,
        "Sparse": import_lava("lava.proc.sparse.process").Sparse,
        "RingBuffer": import_lava("lava.proc.io.source").RingBuffer,
        "Extractor": import_lava("lava.proc.io.extractor").Extractor,
        "VarWire": import_lava("lava.proc.io.extractor").VarWire,
        "RunSteps": import_lava("lava.magma.core.run_conditions").RunSteps,
        "configs": import_lava("lava.magma.core.run_configs"),
        "SignMode": import_lava("lava.utils.weightutils").SignMode,
    }


def check_lava_expressible(net: Network, lnet: loihi.LoihiNetwork, dt: float, connections: str = "auto") -> None:
    """Refuse, before anything runs, what Lava's LIF/Dense/Sparse/RingBuffer cannot express."""
    for proj in net.projections.values():
        n_pre, n_post = net.node(proj.pre).size, net.node(proj.post).size
        if connection_kind(connections, n_pre, n_post, proj.n_synapses) == "dense" and \
                n_pre * n_post > MAX_DENSE_ENTRIES:
            raise NetworkError(proj.where, "size", f"a {n_post} x {n_pre} Dense weight matrix is above the "
                               f"{MAX_DENSE_ENTRIES} entries this backend builds; use connections='sparse'")
        if lnet.fixed_point:
            p = lnet.projections[proj.name]
            merged = p.csr(n_pre, n_post).data
            lo, hi = loihi.WEIGHT_RANGE[p.sign_mode]
            if len(merged) and (merged.min() < lo or merged.max() > hi):
                raise NetworkError(proj.where, "indices", f"repeated synapses between the same pair add up to a "
                                   f"weight mantissa {int(merged.min() if merged.min() < lo else merged.max())} "
                                   f"outside Loihi's {p.sign_mode} range [{lo}, {hi}]")
    for name in net.sources:
        src = net.sources[name]
        if isinstance(src, SpikeSource):
            k = np.rint(src.times / dt).astype(np.int64)
            pairs = k * src.size + src.indices
            if len(pairs) != len(np.unique(pairs)):
                raise NetworkError(src.where, "times", "a neuron fires twice in one step; Lava's spikes are "
                                   "binary per step")


class Simulator(Engine):
    """A network built as Lava processes (see the module doc).

    Options: ``arithmetic`` ``"loihi_fixed"`` (``Loihi2SimCfg(select_tag="fixed_pt")`` on
    :func:`snnsim.loihi.quantize`'s registers, bit-identical to the CPU engine in the same
    arithmetic) or ``"loihi_float"`` (``"floating_pt"`` on :func:`snnsim.loihi.float_parameters`);
    ``run_config`` ``"sim"`` or ``"loihi2-hw"`` (needs Intel's ``lava-loihi`` and a Loihi 2 system);
    ``connections`` ``"auto"``, ``"dense"`` or ``"sparse"``: the Lava process per projection
    (``"auto"`` takes ``Sparse`` for projections with at most 10 % of the possible synapses).
    """

    NAME = NAME
    CAPABILITIES = CAPABILITIES

    def _build(self) -> None:
        run_config, connections = self.options.engine["run_config"], self.options.engine["connections"]
        if run_config not in RUN_CONFIGS:
            raise NetworkError("lava engine", "run_config", f"must be one of {RUN_CONFIGS}, got {run_config!r}")
        if connections not in CONNECTIONS:
            raise NetworkError("lava engine", "connections", f"must be one of {CONNECTIONS}, got {connections!r}")
        self.run_config, self.connections = run_config, connections
        self.fixed_point = self.arithmetic == "loihi_fixed"
        mapping = loihi.quantize if self.fixed_point else loihi.float_parameters
        self.loihi = mapping(self.network, self.dt, self.integration)
        check_lava_expressible(self.network, self.loihi, self.dt, connections)
        self._graph = None   # built at the first run

    # ------------------------------------------------------------------ building
    def _run_cfg(self, lava):
        configs = lava["configs"]
        tag = "fixed_pt" if self.fixed_point else "floating_pt"
        # the taps' models carry no tag: name them for the tag-based selection
        taps = import_lava("lava.proc.io.extractor")
        models = {taps.Extractor: taps.PyLoihiExtractorModel, taps.VarWire: taps.PyLoihiVarWireModel}
        if self.run_config == "loihi2-hw":
            return configs.Loihi2HwCfg(select_tag=tag, exception_proc_model_map=models)
        return configs.Loihi2SimCfg(select_tag=tag, exception_proc_model_map=models)

    def _neurons(self, lava) -> dict:
        procs = {}
        for name, p in self.loihi.populations.items():
            if self.fixed_point:
                kw = dict(du=int(p.du), dv=int(p.dv), vth=int(p.vth), bias_mant=p.bias_mant.astype(np.int64),
                          bias_exp=p.bias_exp.astype(np.int64), u=p.u0.astype(np.int64),
                          v=p.v0.astype(np.int64))
            else:
                kw = dict(du=float(p.du), dv=float(p.dv), vth=float(p.vth) if np.isfinite(p.vth) else 1e300,
                          bias_mant=p.bias_mant.astype(np.float64), bias_exp=0, u=p.u0.astype(np.float64),
                          v=p.v0.astype(np.float64))
            procs[name] = lava["LIF"](shape=(p.size,), name=f"pop_{name}", **kw)
        return procs

    def _connection(self, lava, proj, p, n_pre, n_post, first_spikes, graded=False):
        """A ``Dense`` or ``Sparse`` process for projection ``proj`` (mapped as ``p``); ``graded``: its
        input is a source's spike counts (a Poisson count c > 1 adds c x weight, as on the clock engine)."""
        bits = {"num_message_bits": 8} if graded else {}
        kind = connection_kind(self.connections, n_pre, n_post, proj.n_synapses)
        csr = p.csr(n_pre, n_post)
        weights = csr if kind == "sparse" else csr.toarray()
        cls = lava["Sparse"] if kind == "sparse" else lava["Dense"]
        if self.fixed_point:
            mode = {"excitatory": "EXCITATORY", "inhibitory": "INHIBITORY", "mixed": "MIXED"}[p.sign_mode]
            conn = cls(weights=weights.astype(np.int64), weight_exp=int(p.exp), num_weight_bits=8,
                       sign_mode=getattr(lava["SignMode"], mode), name=f"proj_{proj.name}", **bits)
            initial = (csr.astype(np.int64) @ first_spikes.astype(np.int64)) << int(p.exp)
        else:
            conn = cls(weights=weights.astype(np.float64), name=f"proj_{proj.name}", **bits)
            initial = csr.astype(np.float64) @ first_spikes
        if first_spikes.any():   # spikes of t = 0 reach their targets in Lava step 1
            conn.a_buff.init = np.asarray(initial)
        return conn

    def _build_graph(self, chunk: int) -> None:
        """The process graph: populations, sources (``RingBuffer`` of ``chunk`` columns), connections,
        bridges and taps (buffers of ``chunk`` steps)."""
        net = self.network
        lava = _lava()
        neurons = self._neurons(lava)
        sources = {name: lava["RingBuffer"](data=np.zeros((net.sources[name].size, chunk))) for name in net.sources}
        first = {name: source_raster(net, name, self.dt, 1)[0] for name in net.sources}  # spikes at t = 0
        nodes = {**neurons, **sources}
        links = []
        for proj in net.projections.values():
            n_pre, n_post = net.node(proj.pre).size, net.node(proj.post).size
            spikes0 = first[proj.pre] if proj.pre in first else np.zeros(n_pre)
            conn = self._connection(lava, proj, self.loihi.projections[proj.name], n_pre, n_post, spikes0 * 1.0,
                                    graded=proj.pre in first)
            nodes[proj.pre].s_out.connect(conn.s_in)
            conn.a_out.connect(neurons[proj.post].a_in)
            links.append((proj.pre, proj.post))
        self._bridge(lava, nodes, links)
        taps = self._monitors(lava, neurons, chunk)
        self._graph = {"lava": lava, "neurons": neurons, "sources": sources, "taps": taps, "chunk": chunk,
                       "root": next(iter(nodes.values())), "cfg": self._run_cfg(lava), "first": first}

    def _bridge(self, lava, nodes: dict, links: list) -> None:
        """Lava runs the processes connected to the one it is started from: join separate parts
        of the network with empty Sparse connections (they add 0 to every input)."""
        parent = {name: name for name in nodes}

        def find(x):
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x
        for a, b in links:
            parent[find(a)] = find(b)
        roots = {}
        for name in nodes:
            roots.setdefault(find(name), name)
        targets = [name for name in roots.values()]
        populations = [n for n in nodes if n in self.network.populations]
        if len(targets) < 2 or not populations:
            return
        hub = populations[0]
        for name in targets:
            if find(name) == find(hub):
                continue
            if name in self.network.populations:
                pre, post = hub, name
            else:
                pre, post = name, hub
            n_pre, n_post = self.network.node(pre).size, self.network.node(post).size
            zero = sp.csr_matrix((n_post, n_pre), dtype=np.int64 if self.fixed_point else np.float64)
            bridge = lava["Sparse"](weights=zero, name=f"bridge_{pre}_{post}")   # no synapse: O(1) memory
            nodes[pre].s_out.connect(bridge.s_in)
            bridge.a_out.connect(nodes[post].a_in)
            parent[find(pre)] = find(post)

    def _monitors(self, lava, neurons: dict, chunk: int) -> dict:
        """Taps that stream every step's vector out of Lava: an ``Extractor`` on ``s_out`` for
        spikes, a ``VarWire`` on ``u``/``v`` for traces, each buffering ``chunk`` vectors.
        (Lava's ``Monitor`` returns its samples one scalar per channel message: minutes for a
        few thousand neurons.)"""
        wanted = set()
        for probe in self.network.probes.values():
            if isinstance(probe, StateProbe):
                wanted.add((probe.target, "u" if probe.variable == "i_syn" else "v"))
        for name, pop in self.network.populations.items():   # every spike: counts and synaptic events
            if pop.model.spiking:
                wanted.add((name, "s_out"))
        taps = {}
        for target, var in sorted(wanted):
            proc = neurons[target]
            if var == "s_out":
                tap = lava["Extractor"](shape=(proc.s_out.shape[0],), buffer_size=chunk)
                proc.s_out.connect(tap.in_port)
            else:
                tap = lava["VarWire"](buffer_size=chunk)
                tap.connect_var(getattr(proc, var))
            taps[(target, var)] = tap
        return taps

    # ------------------------------------------------------------------ running
    def _advance(self, duration, n_steps, progress):
        if self._graph is None:
            self._build_graph(max(1, min(n_steps, CHUNK_STEPS)))
        g = self._graph
        net, k0 = self.network, self.step
        data = {key: [] for key in g["taps"]}
        rasters = {name: [] for name in net.sources}
        gc.collect()
        # Lava forks one OS process per Lava process. Freezing the collector keeps the children's
        # garbage collection off the parent's objects, so they share its memory instead of
        # copying it page by page (hundreds of MB each once torch is loaded).
        gc.freeze()
        t_loop = time.perf_counter()
        readout_s = 0.0
        try:
            done = 0
            while done < n_steps:
                c = min(g["chunk"], n_steps - done)
                start = k0 + done       # Lava steps start + 1 .. start + c send the spikes of t_(start+1) ..
                for name, ring in g["sources"].items():
                    raster = source_raster(net, name, self.dt, c, start + 1)
                    rasters[name].append(raster)
                    cols = np.zeros((raster.shape[1], g["chunk"]))
                    cols[:, (np.arange(start + 1, start + c + 1) - 1) % g["chunk"]] = raster.T
                    if self.started or done:
                        ring.data.set(cols)
                    else:
                        ring.data.init = cols
                try:
                    g["root"].run(condition=g["lava"]["RunSteps"](num_steps=c), run_cfg=g["cfg"])
                except Exception as exc:
                    if self.run_config != "loihi2-hw":
                        raise
                    raise RuntimeError("Loihi2HwCfg needs Intel's closed lava-loihi package and a Loihi 2 system "
                                       f"(neither is installed here); Lava failed with {type(exc).__name__}: "
                                       f"{exc}") from exc
                t_read = time.perf_counter()
                for key, tap in g["taps"].items():
                    data[key].append(np.array([tap.receive() for _ in range(c)]).reshape(c, -1))
                readout_s += time.perf_counter() - t_read
                done += c
                self.step = k0 + done
        finally:
            gc.unfreeze()
        loop_s = time.perf_counter() - t_loop
        self.t = self.step * self.dt
        first = not self._segments
        if first:  # the spikes of t = 0, emitted before Lava's first step
            for name in rasters:
                rasters[name].insert(0, g["first"][name][None, :])
        joined = {key: np.concatenate(parts) if parts else np.zeros((0, 0)) for key, parts in data.items()}
        raster = {name: np.concatenate(parts) if parts else np.zeros((0, net.sources[name].size))
                  for name, parts in rasters.items()}
        return self._results(k0, n_steps, first, joined, raster, loop_s, readout_s)

    def _results(self, k0, n_steps, first, data, rasters, loop_s, readout_s):
        plan, net, dt = self.plan, self.network, self.dt
        # a first run's source rasters start at t = 0, a continued one's at the step after k0
        spikes = {name: (k0 if first else k0 + 1, raster) for name, raster in rasters.items()}
        for name, pop in net.populations.items():
            z = (data[(name, "s_out")] != 0) * 1.0 if (name, "s_out") in data else np.zeros((n_steps, pop.size))
            spikes[name] = (k0 + 1, z)
        traces = {}
        for probe in plan.state_probes():
            var = "u" if probe.variable == "i_syn" else "v"
            p = self.loihi.populations[probe.target]
            ks = trace_grid(probe.every, k0, k0 + n_steps, first)
            values = np.asarray(data[(probe.target, var)], np.float64)
            initial = (p.u0 if var == "u" else p.v0).astype(np.float64)
            rows = [initial[probe.neurons] if k == 0 else values[k - k0 - 1][probe.neurons] for k in ks]
            traces[probe.name] = (ks * dt, np.array(rows).reshape(len(ks), len(probe.neurons)))
        return raster_results(NAME, plan, self.arithmetic, k0, n_steps, spikes, traces, loop_s,
                              engine_counters={"readout_s": readout_s})

    # ------------------------------------------------------------------ state
    def _population_state(self) -> dict:
        """``v`` (and ``i_syn`` as Loihi's ``u``) of every population, in the arithmetic's state units."""
        out = {}
        for name, pop in self.network.populations.items():
            p = self.loihi.populations[name]
            if self._graph is None:
                values = {"v": p.v0.astype(np.float64), "i_syn": p.u0.astype(np.float64)}
            else:
                proc = self._graph["neurons"][name]
                values = {"v": np.asarray(proc.v.get(), np.float64), "i_syn": np.asarray(proc.u.get(), np.float64)}
            out[name] = {var: values[var].copy() for var in pop.model.state_variables}
        return out

    def _internals(self) -> dict:
        return {}

    def _apply(self, changes, old_plan, old_values) -> None:
        """New rates and spike times: the sources are refilled from the network before each chunk."""

    def close(self) -> None:
        """Stop Lava's processes (and each VarWire's shared-memory manager process)."""
        g, self._graph = self._graph, None
        if g is None:
            return
        try:
            g["root"].stop()
        finally:
            for tap in g["taps"].values():
                manager = getattr(tap, "_multi_processing", None)
                if manager is not None and manager._smm is not None:
                    manager.stop()
                    tap._multi_processing = None

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown: Lava may be half torn down
            pass
