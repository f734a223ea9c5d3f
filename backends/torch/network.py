"""The training backend: a ``snnsim.Network`` as a PyTorch module (CPU or CUDA).

``TorchNetwork(network)`` holds one dense weight matrix per projection (``(n_post, n_pre)``,
masked to the projection's synapses) and steps the populations with the tensor core
(:mod:`snnsim.core`), following ``docs/models.md`` exactly, so that the weights written back
with :meth:`TorchNetwork.to_network` give the same spikes on the CPU engine.

Tensors are time-major: ``(T, B, n)``. The input of a source is its spikes at
``t_k = k dt`` for ``k = 0 .. T-1``; a population's outputs at index ``k`` are the spikes
and membrane potential at the end of step ``k`` (``t_{k+1}``). A spike at ``t_m`` sent with
a delay of ``d`` steps arrives at ``t_{m+d}``.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import NamedTuple, Optional

import numpy as np
import torch
from torch import nn

from snnsim.core import Coefficients, Dynamics, State, lif_sequence
from snnsim.core.sequence import project
from snnsim.core.surrogate import check_surrogate
from snnsim.discretize import has_synaptic_current, linear_coefficients
from snnsim.errors import NetworkError
from snnsim.models import IF, CobaLIF
from snnsim.network import Network, check_dt, check_integration
from snnsim.plan import delay_steps, sampled

from ..common import source_raster

DTYPES = {"float32": torch.float32, "float64": torch.float64}


class Outputs(NamedTuple):
    """Per population: ``spikes[name]`` and ``v[name]``, ``(T, B, n)``, at the end of each step."""

    spikes: dict
    v: dict


def _steps(proj, dt: float) -> int:
    """The projection's delay as one whole number of steps, or an error (a delay per synapse
    that differs, or one below a step: :func:`snnsim.plan.delay_steps`)."""
    steps = delay_steps(proj, dt)
    if len(steps) and (steps != steps[0]).any():
        delays = np.asarray(proj.delays)
        raise NetworkError(proj.where, "delay", f"the torch backend needs one delay per projection, got delays "
                           f"from {delays.min()!r} to {delays.max()!r} s")
    return int(steps[0]) if len(steps) else 1


def _pre_of(proj) -> np.ndarray:
    """Presynaptic index of every stored synapse (CSR rows expanded)."""
    return np.repeat(np.arange(len(proj.indptr) - 1), np.diff(proj.indptr))


class _Layer(nn.Module):
    """Parameters of one population: fixed buffers, learnable time constants and threshold."""

    def __init__(self, pop, dt: float, integration: str, surrogate, learn_tau: bool, learn_threshold: bool,
                 dtype, seed: int):
        super().__init__()
        model = pop.model
        where = pop.where
        if isinstance(model, CobaLIF):
            raise NetworkError(where, "model", "CobaLIF (conductance synapses) cannot be trained by the torch "
                               "backend; use LIF, CubaLIF, LI or IF")
        params = pop.parameters()
        self.name = pop.name
        self.leaky = not isinstance(model, IF)
        has_syn = has_synaptic_current(model, params)
        name, scale = check_surrogate(where, *surrogate)
        self.dyn = Dynamics(has_syn=has_syn, spiking=model.spiking,
                            subtract=getattr(model, "reset", "value") == "subtract", surrogate=name, scale=scale)
        self.dt, self.integration = dt, integration
        t = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float64), dtype=dtype)  # noqa: E731
        zero = np.zeros(pop.size)
        self.learn_tau, self.learn_threshold = learn_tau, learn_threshold
        self.tau_mem = nn.Parameter(t(params["tau_mem"]), requires_grad=learn_tau)
        self.tau_syn = nn.Parameter(t(params["tau_syn"]), requires_grad=learn_tau) if has_syn else None
        self.v_th = nn.Parameter(t(params.get("v_th", np.full(pop.size, np.inf))), requires_grad=learn_threshold)
        for key in ("r", "v_leak", "i_bias", "v_reset"):
            self.register_buffer(key, t(params.get(key, zero)))
        ref = np.rint(params.get("t_ref", zero) / dt).astype(np.int64)
        self.register_buffer("ref_steps", torch.as_tensor(ref) if ref.any() else None)
        init = pop.initial_state(seed)  # random initial states are drawn from the network's seed, as the engines do
        self.register_buffer("v0", t(init["v"]))
        self.register_buffer("i0", t(init.get("i_syn", zero)))
        if integration == "euler":  # the checks of snnsim.discretize, before anything runs
            from snnsim.discretize import linear_step_coefficients
            linear_step_coefficients(model, params, dt, integration, where)

    def time_constants(self) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
        """``tau_mem`` and ``tau_syn`` (s) as stepped: learned ones are kept >= dt (euler) or 1 ns."""
        if not self.learn_tau:
            return self.tau_mem, self.tau_syn
        lo = self.dt if self.integration == "euler" else 1e-9  # euler needs dt <= tau
        return self.tau_mem.clamp(min=lo), None if self.tau_syn is None else self.tau_syn.clamp(min=lo)

    def coefficients(self) -> Coefficients:
        tau_mem, tau_syn = self.time_constants()
        cf = linear_coefficients(self.dt, self.integration, tau_mem, self.r, self.v_leak, self.i_bias, tau_syn,
                                 leaky=self.leaky, xp=torch)
        return Coefficients(cf["a"], cf["drive"], cf["c"], cf["ds"], cf["gext"], self.v_th, self.v_reset)

    def initial_state(self, batch: int) -> State:
        ref = None if self.ref_steps is None else torch.zeros((batch, len(self.v0)), dtype=torch.int64,
                                                               device=self.v0.device)
        return State(self.v0.expand(batch, -1), self.i0.expand(batch, -1), ref)


class TorchNetwork(nn.Module):
    """A trainable view of ``network``.

    Parameters
    ----------
    network : Network
        LIF, CubaLIF, LI and IF populations; projections onto ``"current"`` with one delay each
        (recurrent ones: one step). Sources are the inputs.
    dt, integration : the step (s) and scheme (``"exact"`` or ``"euler"``); default the network's.
    surrogate : ``(name, scale)`` for every population, or a dict ``{population: (name, scale)}``
        (others get ``("superspike", 10.0)``). See :mod:`snnsim.core.surrogate`.
    learn_tau, learn_threshold : population names (or ``True`` for all) whose time constants or
        thresholds are trained as well as the weights.
    dtype : ``"float32"`` or ``"float64"``.
    """

    def __init__(self, network: Network, dt: float | None = None, integration: str | None = None, *,
                 surrogate=("superspike", 10.0), learn_tau=(), learn_threshold=(), dtype: str = "float32"):
        super().__init__()
        network.validate()
        self.network = network
        self.dt = check_dt(network.dt if dt is None else dt, "torch backend")
        self.integration = check_integration(network.integration if integration is None else integration,
                                             "torch backend")
        if self.integration not in ("exact", "euler"):
            raise NetworkError("torch backend", "integration", f"trains with 'exact' or 'euler', got "
                               f"{self.integration!r}; quantise the trained network for Loihi afterwards "
                               f"(snnsim.loihi.quantize)")
        if dtype not in DTYPES:
            raise NetworkError("torch backend", "dtype", f"must be 'float32' or 'float64', got {dtype!r}")
        torch_dtype = DTYPES[dtype]
        self.register_buffer("_anchor", torch.zeros(0, dtype=torch_dtype), persistent=False)  # dtype and device
        pops = network.populations
        select = lambda spec: set(pops) if spec is True else set(spec or ())  # noqa: E731
        for field_name, spec in (("learn_tau", learn_tau), ("learn_threshold", learn_threshold)):
            unknown = select(spec) - set(pops)
            if unknown:
                raise NetworkError("torch backend", field_name, f"unknown populations {sorted(unknown)}")
        if learn_threshold is True:
            learn_threshold = [p for p in pops if pops[p].model.spiking]
        silent = [p for p in select(learn_threshold) if p in pops and not pops[p].model.spiking]
        if silent:
            raise NetworkError("torch backend", "learn_threshold", f"populations {silent} never spike and have no "
                               "threshold")
        surrogates = surrogate if isinstance(surrogate, dict) else {p: surrogate for p in pops}
        unknown = set(surrogates) - set(pops)
        if unknown:
            raise NetworkError("torch backend", "surrogate", f"unknown populations {sorted(unknown)}")
        self.layers = nn.ModuleDict({
            name: _Layer(pop, self.dt, self.integration, surrogates.get(name, ("superspike", 10.0)),
                         name in select(learn_tau), name in select(learn_threshold), torch_dtype, network.seed)
            for name, pop in pops.items()})
        self.weights = nn.ParameterDict()
        self._mask_of: dict[str, str] = {}   # projection -> name of its mask buffer (moves with .to())
        self.edges: list[tuple[str, str, str, int]] = []   # (projection, pre, post, delay steps)
        for name, proj in network.projections.items():
            if proj.target != "current":
                raise NetworkError(proj.where, "target", f"the torch backend trains 'current' synapses, got "
                                   f"{proj.target!r}")
            n_pre, n_post = network.node(proj.pre).size, pops[proj.post].size
            pre = _pre_of(proj)
            w = np.zeros((n_post, n_pre))
            np.add.at(w, (proj.indices, pre), proj.weights)
            has = np.zeros((n_post, n_pre), bool)
            has[proj.indices, pre] = True
            if np.bincount(proj.indices * n_pre + pre, minlength=n_post * n_pre).max(initial=0) > 1:
                raise NetworkError(proj.where, "rule", "has several synapses between the same two neurons; the "
                                   "torch backend keeps one weight per pair")
            self.weights[name] = nn.Parameter(torch.as_tensor(w, dtype=torch_dtype))
            self._mask_of[name] = f"_mask{len(self._mask_of)}"
            self.register_buffer(self._mask_of[name], None if has.all() else torch.as_tensor(has), persistent=False)
            steps = _steps(proj, self.dt)
            if proj.pre == proj.post and steps != 1:
                raise NetworkError(proj.where, "delay", f"a recurrent projection must have a one-step delay in the "
                                   f"torch backend, got {steps} steps")
            self.edges.append((name, proj.pre, proj.post, steps))
        self.order = self._topological_order()

    def _topological_order(self) -> list[str]:
        pops = list(self.network.populations)
        incoming = {p: {pre for _, pre, post, _ in self.edges if post == p and pre != p and pre in pops}
                    for p in pops}
        order, done = [], set()
        while len(order) < len(pops):
            ready = [p for p in pops if p not in done and incoming[p] <= done]
            if not ready:
                stuck = sorted(p for p in pops if p not in done)
                raise NetworkError("torch backend", "projections", f"populations {stuck} form a cycle through "
                                   "different populations; only self-projections (recurrence) are supported")
            for p in ready:
                order.append(p)
                done.add(p)
        return order

    def weight(self, name: str) -> torch.Tensor:
        """Projection ``name``'s weight matrix ``(n_post, n_pre)``, zero where there is no synapse."""
        mask = getattr(self, self._mask_of[name])
        return self.weights[name] if mask is None else self.weights[name] * mask

    @property
    def masks(self) -> dict:
        """Projection -> boolean ``(n_post, n_pre)`` mask of its synapses (``None``: all pairs)."""
        return {name: getattr(self, key) for name, key in self._mask_of.items()}

    @property
    def inputs(self) -> list[str]:
        """Names of the sources whose spikes :meth:`forward` takes."""
        return list(self.network.sources)

    def forward(self, inputs: dict | None = None, currents: dict | None = None, fused: bool | None = None,
                steps: int | None = None) -> Outputs:
        """Run ``T`` steps. ``inputs[source]``: spikes ``(T, B, n)`` (0/1 or graded); a source not
        given emits the spikes the description defines (spike times, or Poisson spikes drawn from the
        same counter-based numbers as the engines), the same for every batch item;
        ``currents[population]``: injected current ``(T, B, n)`` (A), optional; it replaces the
        currents the description declares for that population (``Network.add_current``), which
        are used otherwise."""
        inputs = inputs or {}
        unknown = set(inputs) - set(self.network.sources)
        if unknown:
            raise NetworkError("torch backend", "inputs", f"unknown sources {sorted(unknown)}")
        currents = currents or {}
        given = list(inputs.values()) + list(currents.values())
        if given:
            T, B = given[0].shape[:2]
        elif steps is not None:
            T, B = steps, 1
        else:
            raise NetworkError("torch backend", "steps", "give the number of steps when no input or current "
                               "tensor (T, B, n) is passed")
        if steps is not None and steps != T:
            raise NetworkError("torch backend", "steps", f"is {steps!r} but the input tensors have {T} steps")
        inputs = dict(inputs)
        for name in self.network.sources:
            if name not in inputs:   # the description's own spikes, exactly as the engines draw them
                inputs[name] = self._network_source(name, T, B)
        for name, x in currents.items():
            if name not in self.layers:
                raise NetworkError("torch backend", "currents", f"unknown population {name!r}")
            size = len(self.layers[name].v0)
            if tuple(x.shape) != (T, B, size):
                raise NetworkError("torch backend", f"currents[{name!r}]", f"must have shape (T, B, {size}) = "
                                   f"({T}, {B}, {size}), got {tuple(x.shape)}")
        for name, x in inputs.items():
            size = self.network.sources[name].size
            if tuple(x.shape) != (T, B, size):
                raise NetworkError("torch backend", f"inputs[{name!r}]", f"must have shape (T, B, {size}) = "
                                   f"({T}, {B}, {size}), got {tuple(x.shape)}")
        spikes = {name: x for name, x in inputs.items()}
        out_spikes, out_v = {}, {}
        for name in self.order:
            layer = self.layers[name]
            size = len(layer.v0)
            X = None
            w_rec = None
            for proj, pre, post, steps in self.edges:
                if post != name:
                    continue
                if pre == name:
                    w_rec = self.weight(proj)
                    continue
                # a source spike at t_k arrives at t_{k+d} (step k+d-1); a population's (t_{k+1}) in step k+d
                shift = steps - 1 if pre in self.network.sources else steps
                contrib = project(spikes[pre], self.weight(proj), shift)
                X = contrib if X is None else X + contrib
            if X is None:
                X = torch.zeros((T, B, size), dtype=self._anchor.dtype, device=self._anchor.device)
            iext = currents[name] if name in currents else self._network_current(name, T, B)
            Z, V = lif_sequence(X, layer.coefficients(), layer.dyn, layer.initial_state(B), w_rec=w_rec,
                                iext=iext, ref_steps=layer.ref_steps, fused=fused)
            spikes[name] = Z
            out_spikes[name], out_v[name] = Z, V
        return Outputs(out_spikes, out_v)

    def _network_source(self, name: str, T: int, B: int, first: int = 0) -> torch.Tensor:
        """Spikes ``(T, B, n)`` of the description's source ``name`` at ``t_k = k dt``, ``k = first ..``."""
        out = source_raster(self.network, name, self.dt, T, first)
        return self._tensor(out, B)

    def _network_current(self, name: str, T: int, B: int, first: int = 0) -> Optional[torch.Tensor]:
        """The injected currents the description declares for population ``name`` (``add_current``),
        as ``(T, B, n)`` amperes for steps ``first ..``, or ``None``."""
        size = self.network.populations[name].size
        series = [sampled(cur.amplitude, cur.sample_dt, self.dt, first, T, size, cur.where, "sample_dt")
                  for cur in self.network.currents.values() if cur.target == name]
        return self._tensor(sum(series[1:], series[0]), B) if series else None

    def _tensor(self, series: np.ndarray, B: int) -> torch.Tensor:
        """A ``(T, n)`` array as a ``(T, B, n)`` tensor of this module's dtype and device."""
        return torch.as_tensor(np.array(series), dtype=self._anchor.dtype,
                               device=self._anchor.device)[:, None, :].expand(-1, B, -1)

    def to_network(self) -> Network:
        """A copy of the description with the trained weights (and learned parameters) written back."""
        net = copy.deepcopy(self.network)
        for name, proj in net.projections.items():
            w = self.weights[name].detach().cpu().double().numpy()
            proj.weights = w[proj.indices, _pre_of(proj)].copy()
        for name, layer in self.layers.items():
            pop = net.populations[name]
            changes = {}
            if layer.learn_tau:
                tau_mem, tau_syn = layer.time_constants()
                changes["tau_mem"] = tau_mem.detach().cpu().double().numpy().copy()
                if tau_syn is not None:
                    changes["tau_syn"] = tau_syn.detach().cpu().double().numpy().copy()
            if layer.learn_threshold:
                changes["v_th"] = layer.v_th.detach().cpu().double().numpy().copy()
            if changes:
                pop.model = dataclasses.replace(pop.model, **changes)
        net.validate()
        return net
