"""The torch engine: the training module's forward pass (:class:`.network.TorchNetwork`) as a
simulation engine, on the CPU or on CUDA, continued run by run.

One run of ``T`` steps is the layer-at-a-time forward pass with batch 1 and no gradient. What
carries over to the next run is explicit: each population's state (``v``, ``i_syn``, refractory
steps) and the input already sent to it that arrives after the run (``pending``: a ``(D, 1, n)``
tensor per population, ``D`` the longest delay), so spikes keep the weights and delays they were
sent with when the network changes between runs (every change is applied: the module is rebuilt
from the changed network around the carried state). Synaptic inputs are summed by matrix
products, so results equal the CPU engine's in float64 to rounding (same spikes), not bit for bit.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from snnsim.core import State
from snnsim.core.sequence import lif_sequence, project
from snnsim.results import trace_grid

from ..base import CHANGES, Capabilities, Engine
from ..common import raster_results, source_raster
from .network import DTYPES, TorchNetwork

NAME = "torch"

CAPABILITIES = Capabilities(
    models=("LIF", "CubaLIF", "LI", "IF"),
    arithmetics=("float32", "float64"),
    delays="uniform_steps",
    targets=("current",),
    topology="feedforward",
    changes=CHANGES,
    devices=("cpu", "cuda"),
    comparison="float",
    reasons=(("model:CobaLIF", "the trainable layers are the current-based LIF family"),
             ("delays", "a projection is one weight matrix applied with one delay"),
             ("topology", "populations are stepped layer after layer, a whole run at a time"),
             ("target", "conductance targets belong to CobaLIF")),
)


class Simulator(Engine):
    """A network as a :class:`TorchNetwork` on ``device``, stepped one run at a time."""

    NAME = NAME
    CAPABILITIES = CAPABILITIES

    def _build(self) -> None:
        self.device = torch.device(self.options.device)
        self.module = self._module()
        self.layer_state = {name: layer.initial_state(1) for name, layer in self.module.layers.items()}
        self.pending = {name: self._zeros(0, len(layer.v0)) for name, layer in self.module.layers.items()}

    def _module(self) -> TorchNetwork:
        module = TorchNetwork(self.network, self.dt, self.integration, dtype=self.arithmetic).to(self.device)
        module.requires_grad_(False)
        return module

    def _zeros(self, rows: int, n: int) -> torch.Tensor:
        return torch.zeros((rows, 1, n), dtype=DTYPES[self.arithmetic], device=self.device)

    # ------------------------------------------------------------------ changes
    def _apply(self, changes, old_plan, old_values) -> None:
        self.module = self._module()
        for name, layer in self.module.layers.items():
            st = self.layer_state[name]
            if layer.ref_steps is None:
                st = State(st.v, st.i)
            elif st.ref is None:
                st = State(st.v, st.i, torch.zeros(st.v.shape, dtype=torch.int64, device=self.device))
            self.layer_state[name] = st

    # ------------------------------------------------------------------ state
    def _population_state(self) -> dict:
        out = {}
        for name, pop in self.plan.populations.items():
            st = self.layer_state[name]
            values = {"v": st.v[0], "i_syn": st.i[0]}
            out[name] = {var: values[var].detach().cpu().double().numpy().copy() for var in pop.model.state_variables}
        return out

    def _internals(self) -> dict:
        out = {"step": np.int64(self.step)}
        for name, st in self.layer_state.items():
            out[f"v:{name}"] = st.v.detach().cpu().numpy().copy()
            out[f"i:{name}"] = st.i.detach().cpu().numpy().copy()
            if st.ref is not None:
                out[f"ref:{name}"] = st.ref.detach().cpu().numpy().copy()
            out[f"pending:{name}"] = self.pending[name].detach().cpu().numpy().copy()
        return out

    def _load_internals(self, s: dict) -> None:
        dtype = DTYPES[self.arithmetic]
        tensor = lambda key, dt=dtype: torch.as_tensor(np.asarray(s[key]), dtype=dt, device=self.device)  # noqa: E731
        for name, layer in self.module.layers.items():
            ref = tensor(f"ref:{name}", torch.int64) if f"ref:{name}" in s else None
            if layer.ref_steps is not None and ref is None:
                ref = torch.zeros((1, len(layer.v0)), dtype=torch.int64, device=self.device)
            self.layer_state[name] = State(tensor(f"v:{name}"), tensor(f"i:{name}"),
                                           ref if layer.ref_steps is not None else None)
            self.pending[name] = tensor(f"pending:{name}").reshape(-1, 1, len(layer.v0))

    # ------------------------------------------------------------------ running
    def _advance(self, duration, n_steps, progress):
        t_loop = time.perf_counter()
        plan, m, T, k0, first = self.plan, self.module, n_steps, self.step, not self._segments
        start = self._population_state()  # for the trace sample at the start of a first run
        D = plan.max_delay_steps
        # source spikes at time indices k0 .. k0 + T; row 0 belongs to the previous run (its input is
        # pending already) except at t = 0
        spikes, emitted = {}, {}
        for name in plan.sources:
            raster = source_raster(self.network, name, self.dt, T + 1, k0)
            if not first:
                raster[0] = 0
            emitted[name] = raster
            spikes[name] = torch.as_tensor(raster, dtype=DTYPES[self.arithmetic], device=self.device)[:, None, :]
        records = {}
        with torch.no_grad():
            for name in m.order:
                layer, n = m.layers[name], len(m.layers[name].v0)
                X = self._zeros(T + D, n)
                w_rec = None
                for proj, pre, post, steps in m.edges:
                    if post != name:
                        continue
                    w = m.weight(proj)
                    if pre == name:
                        w_rec = w
                        continue
                    s = spikes[pre]
                    # a source spike at time index k0 + r arrives in step r + d - 1; a population's
                    # output of step k (time index k0 + k + 1) in step k + d
                    shift = steps - 1 if pre in plan.sources else steps
                    padded = torch.cat([s, self._zeros(T + D - len(s), s.shape[2])]) if len(s) < T + D else s
                    X = X + project(padded, w, shift)
                old = self.pending[name]
                X[:min(len(old), T + D)] += old[:T + D]
                iext = m._network_current(name, T, 1, k0)
                Z, V, I, end = lif_sequence(X[:T], layer.coefficients(), layer.dyn, self.layer_state[name],
                                            w_rec=w_rec, iext=iext, ref_steps=layer.ref_steps, return_state=True)
                self.layer_state[name] = end
                pending = X[T:].clone()
                if len(old) > T + D:
                    pending = torch.cat([pending, old[T + D:]])
                if w_rec is not None and T > 0:
                    pending[0] += Z[-1] @ w_rec.t()
                self.pending[name] = pending
                spikes[name] = Z
                records[name] = (Z, V, I)
        loop_s = time.perf_counter() - t_loop
        self.step = k0 + T
        self.t = self.step * self.dt
        return self._results(k0, T, first, emitted, records, start, loop_s)

    def _results(self, k0, T, first, emitted, records, start, loop_s):
        plan, dt = self.plan, self.dt
        rasters = {name: (k0, raster) for name, raster in emitted.items()}   # rows: time indices k0 ..
        rasters.update({name: (k0 + 1, Z[:, 0].detach().cpu().numpy()) for name, (Z, _, _) in records.items()})
        traces = {}
        for probe in plan.state_probes():
            ks = trace_grid(probe.every, k0, k0 + T, first)
            Z, V, I = records[probe.target]
            series = (V if probe.variable == "v" else I)[:, 0].detach().cpu().double().numpy()
            initial = start[probe.target][probe.variable][probe.neurons]
            rows = [initial if k == k0 else series[k - k0 - 1][probe.neurons] for k in ks]
            traces[probe.name] = (ks * dt, np.array(rows).reshape(len(ks), len(probe.neurons)))
        return raster_results(NAME, plan, self.arithmetic, k0, T, rasters, traces, loop_s)
