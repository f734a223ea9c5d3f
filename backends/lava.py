"""Lava backend: the network as real Lava processes, run in Lava's Loihi simulator.

``Simulator(network, fixed_point=...)`` maps the network with :mod:`snnsim.loihi`
(:func:`~snnsim.loihi.quantize` for ``fixed_pt``, :func:`~snnsim.loihi.float_parameters`
for ``floating_pt``) and builds, per population, a ``lava.proc.lif.process.LIF``; per
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
"""

from __future__ import annotations

import gc
import time

import numpy as np
import scipy.sparse as sp

from snnsim import loihi
from snnsim.discretize import steps_of
from snnsim.errors import NetworkError
from snnsim.lava_compat import import_lava
from snnsim.network import Network, StateProbe, check_dt, check_integration
from snnsim.results import Results, SpikeTrains, Trace

from . import lowering
from .common import check_duration

NAME = "lava"
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
        steps = lowering.delay_steps(proj, dt)
        if len(steps) and (steps != 1).any():
            bad = int(steps[steps != 1][0])
            raise NetworkError(proj.where, "delay", f"Lava's Dense delays every spike by exactly one step "
                               f"(dt={dt!r} s); this projection has a delay of {bad} steps")
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
        if hasattr(src, "times"):
            k = np.rint(src.times / dt).astype(np.int64)
            pairs = k * src.size + src.indices
            if len(pairs) != len(np.unique(pairs)):
                raise NetworkError(src.where, "times", "a neuron fires twice in one step; Lava's spikes are "
                                   "binary per step")


class Simulator:
    """A network built as Lava processes.

    Parameters
    ----------
    network : Network
    dt : float, optional
        Step (s); default ``network.dt``.
    fixed_point : bool
        ``True``: ``Loihi2SimCfg(select_tag="fixed_pt")`` on :func:`snnsim.loihi.quantize`'s
        registers (bit-identical to ``integration="loihi"`` on the CPU); ``False``:
        ``"floating_pt"`` on :func:`snnsim.loihi.float_parameters` (as ``"loihi_float"``).
    run_config : {"sim", "loihi2-hw"}
        ``"loihi2-hw"`` needs Intel's ``lava-loihi`` and a Loihi 2 system.
    connections : {"auto", "dense", "sparse"}
        Lava process per projection: ``Dense`` or ``Sparse`` (same arithmetic); ``"auto"``
        takes ``Sparse`` for projections with at most 10 % of the possible synapses.
    """

    backend = NAME

    def __init__(self, network: Network, dt: float | None = None, fixed_point: bool = False,
                 run_config: str = "sim", connections: str = "auto"):
        t0 = time.perf_counter()
        network.validate()
        if run_config not in RUN_CONFIGS:
            raise NetworkError("run", "run_config", f"must be one of {RUN_CONFIGS}, got {run_config!r}")
        self.network = network
        self.dt = check_dt(network.dt if dt is None else dt, "run")
        self.fixed_point = bool(fixed_point)
        self.run_config = run_config
        if connections not in CONNECTIONS:
            raise NetworkError("run", "connections", f"must be one of {CONNECTIONS}, got {connections!r}")
        self.connections = connections
        self.integration = "loihi" if self.fixed_point else "loihi_float"
        self.loihi = (loihi.quantize if self.fixed_point else loihi.float_parameters)(network, self.dt)
        check_lava_expressible(network, self.loihi, self.dt, connections)
        self.build_s = time.perf_counter() - t0
        self._ran = False

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

    def _sources(self, lava, n_steps: int) -> tuple[dict, dict]:
        procs, rasters = {}, {}
        for name in self.network.sources:
            raster = lowering.source_raster(self.network, name, self.dt, n_steps + 1)   # k = 0 .. n_steps
            rasters[name] = raster
            # RingBuffer column c is sent in Lava step c + 1: the spikes of t_(c+1)
            procs[name] = lava["RingBuffer"](data=np.ascontiguousarray((raster[1:] > 0).T.astype(np.float64)),
                                             )
        return procs, rasters

    def _connection(self, lava, proj, p, n_pre, n_post, first_spikes):
        """A ``Dense`` or ``Sparse`` process for projection ``proj`` (mapped as ``p``)."""
        kind = connection_kind(self.connections, n_pre, n_post, proj.n_synapses)
        csr = p.csr(n_pre, n_post)
        weights = csr if kind == "sparse" else csr.toarray()
        cls = lava["Sparse"] if kind == "sparse" else lava["Dense"]
        if self.fixed_point:
            mode = {"excitatory": "EXCITATORY", "inhibitory": "INHIBITORY", "mixed": "MIXED"}[p.sign_mode]
            conn = cls(weights=weights.astype(np.int64), weight_exp=int(p.exp), num_weight_bits=8,
                       sign_mode=getattr(lava["SignMode"], mode), name=f"proj_{proj.name}")
            initial = (csr.astype(np.int64) @ first_spikes.astype(np.int64)) << int(p.exp)
        else:
            conn = cls(weights=weights.astype(np.float64), name=f"proj_{proj.name}")
            initial = csr.astype(np.float64) @ first_spikes
        if first_spikes.any():   # spikes of t = 0 reach their targets in Lava step 1
            conn.a_buff.init = np.asarray(initial)
        return conn

    def run(self, duration: float, progress: bool | None = None) -> Results:
        """Build the processes, run ``duration`` (s) in Lava and return what was recorded.

        One call per Simulator: Lava's processes are stopped at the end of the run.
        """
        if self._ran:
            raise NetworkError("run", "duration", "a Lava Simulator runs once; build a new one to run again")
        t_wall = time.perf_counter()
        duration = check_duration(duration)
        n_steps = steps_of(duration, self.dt, "run", "duration")
        net = self.network
        lava = _lava()
        neurons = self._neurons(lava)
        sources, rasters = self._sources(lava, n_steps)
        nodes = {**neurons, **sources}
        links = []
        for proj in net.projections.values():
            n_pre, n_post = net.node(proj.pre).size, net.node(proj.post).size
            first = rasters[proj.pre][0] if proj.pre in rasters else np.zeros(n_pre)
            conn = self._connection(lava, proj, self.loihi.projections[proj.name], n_pre, n_post,
                                    (first > 0) * 1.0)
            nodes[proj.pre].s_out.connect(conn.s_in)
            conn.a_out.connect(neurons[proj.post].a_in)
            links.append((proj.pre, proj.post))
        self._bridge(lava, nodes, links)
        monitors = self._monitors(lava, neurons, n_steps)
        root = next(iter(nodes.values()))
        self._ran = True
        # Lava forks one OS process per Lava process. Freezing the collector keeps the children's
        # garbage collection off the parent's objects, so they share its memory instead of
        # copying it page by page (hundreds of MB each once torch is loaded).
        gc.collect()
        gc.freeze()
        t_loop = time.perf_counter()
        try:
            try:
                root.run(condition=lava["RunSteps"](num_steps=n_steps), run_cfg=self._run_cfg(lava))
            except Exception as exc:
                if self.run_config != "loihi2-hw":
                    raise
                raise RuntimeError("Loihi2HwCfg needs Intel's closed lava-loihi package and a Loihi 2 system "
                                   f"(neither is installed here); Lava failed with {type(exc).__name__}: {exc}") from exc
            loop_s = time.perf_counter() - t_loop
            t_read = time.perf_counter()
            data = {key: np.array([tap.receive() for _ in range(n_steps)]).reshape(n_steps, -1)
                    for key, tap in monitors.items()}
            readout_s = time.perf_counter() - t_read
        finally:
            root.stop()
            for tap in monitors.values():   # a VarWire runs its own shared-memory manager process
                manager = getattr(tap, "_multi_processing", None)
                if manager is not None and manager._smm is not None:
                    manager.stop()
                    tap._multi_processing = None
            gc.unfreeze()
        res = self._results(n_steps, data, rasters, loop_s, time.perf_counter() - t_wall)
        res.counters["readout_s"] = readout_s
        return res

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

    def _monitors(self, lava, neurons: dict, n_steps: int) -> dict:
        """Taps that stream every step's vector out of Lava: an ``Extractor`` on ``s_out`` for
        spikes, a ``VarWire`` on ``u``/``v`` for traces, each buffering all ``n_steps`` vectors.
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
                tap = lava["Extractor"](shape=(proc.s_out.shape[0],), buffer_size=max(n_steps, 1))
                proc.s_out.connect(tap.in_port)
            else:
                tap = lava["VarWire"](buffer_size=max(n_steps, 1))
                tap.connect_var(getattr(proc, var))
            taps[(target, var)] = tap
        return taps

    def _results(self, n_steps, data, rasters, loop_s, wall_s) -> Results:
        net, dt = self.network, self.dt
        layout = lowering.layout_of(net)
        spiking = tuple(name for name, pop in net.populations.items() if pop.model.spiking)
        res = Results(NAME, dt, self.integration, "int" if self.fixed_point else "float64", 0.0, n_steps * dt,
                      dict(layout.sizes), neuron_populations=layout.populations, spiking_populations=spiking)
        spikes = {name: r[:n_steps + 1] for name, r in rasters.items()}
        for name in net.populations:
            raster = np.zeros((n_steps + 1, layout.sizes[name]))
            if (name, "s_out") in data:
                raster[1:] = data[(name, "s_out")][:n_steps] != 0
            spikes[name] = raster
        recorded = {p.target for p in net.probes.values() if not isinstance(p, StateProbe)}
        for name in recorded:
            ks, idx = np.nonzero(spikes[name])
            reps = spikes[name][ks, idx].astype(np.int64)
            res.spikes[name] = SpikeTrains(np.repeat(ks, reps) * dt, np.repeat(idx, reps).astype(np.int64),
                                           layout.sizes[name])
        counts = {name: int(r.sum()) for name, r in spikes.items()}
        events = 0
        for proj in net.projections.values():   # counted when sent, as the clock engine does
            events += int(spikes[proj.pre].sum(axis=0) @ np.diff(proj.indptr))
        for name, probe in net.probes.items():
            if not isinstance(probe, StateProbe):
                continue
            var = "u" if probe.variable == "i_syn" else "v"
            values = data[(probe.target, var)]
            p = self.loihi.populations[probe.target]
            initial = (p.u0 if var == "u" else p.v0).astype(np.float64)
            full = np.vstack([initial[None, :], np.asarray(values, np.float64)[:n_steps]])
            sel = full[::probe.every][:, probe.neurons]
            times = np.arange(sel.shape[0]) * probe.every * dt
            res.traces[name] = Trace(probe.target, probe.variable, probe.neurons.copy(), times, sel)
        res.spike_counts = counts
        res.counters = {"steps": n_steps, "neuron_spikes": int(sum(counts[n] for n in net.populations)),
                        "source_spikes": int(sum(counts[n] for n in net.sources)), "syn_events": events,
                        "wall_s": wall_s + self.build_s, "loop_s": loop_s, "jit_s": 0.0, "build_s": self.build_s}
        return res


def run(network: Network, duration: float, *, dt: float | None = None, integration: str | None = None,
        dtype: str = "float64", progress: bool | None = None, fixed_point: bool | None = None,
        run_config: str = "sim", connections: str = "auto") -> Results:
    """Run ``network`` in Lava. ``integration="loihi"`` (or ``fixed_point=True``) selects
    ``fixed_pt``; ``"loihi_float"`` (the default) ``floating_pt``."""
    if integration is not None:
        check_integration(integration, "run")
        if integration not in ("loihi", "loihi_float"):
            raise NetworkError("run", "integration", f"the Lava backend runs Loihi's LIF: 'loihi' (fixed_pt) or "
                               f"'loihi_float' (floating_pt), got {integration!r}")
    if fixed_point is None:
        fixed_point = integration == "loihi"
    sim = Simulator(network, dt=dt, fixed_point=fixed_point, run_config=run_config, connections=connections)
    return sim.run(duration, progress=progress)
