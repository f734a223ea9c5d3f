"""NIR interchange: :class:`~snnsim.network.Network` <-> ``nir.NIRGraph`` (PyPI ``nir``).

``to_nir(network, dt, integration)`` turns a network into a NIR graph;
``from_nir(graph, dt, integration)`` turns a NIR graph into a network;
``write_nir`` / ``read_nir`` do the same through a NIR (HDF5) file, written atomically.

NIR describes continuous-time dynamics and stores neither a time step nor an
integration scheme; both are explicit arguments here and are recorded in the
graph's metadata (``graph.metadata["dt"]``, ``graph.metadata["integration"]``).
The mapping, the weight convention (a NIR spike is a unit sample held for one
step, as in Norse and snnTorch: ``w_snnsim = k * W_nir`` with ``k = dt r / tau_mem``
for LIF/LI, ``dt r`` for IF and ``dt w_in / tau_syn`` for CubaLIF/CubaLI) and the
timing alignment with Norse are documented in ``docs/nir.md``.

Everything NIR cannot express (refractory periods, reset by subtraction, biases
of current-synapse models, injected currents, Poisson rates, initial states,
probes, delays that vary per synapse) is kept in snnsim-specific metadata
(``metadata["snnsim"]`` of the graph and of each node), so that
``from_nir(to_nir(net, dt), dt)`` rebuilds ``net`` exactly. That metadata is used
only while the graph still is exactly what ``to_nir`` would write for the network
it describes; a graph edited since (or written by another tool) is imported from
its NIR fields alone. ``to_nir(..., strict=True)`` raises instead of keeping
anything that other NIR tools would not see; the notes are in
``graph.metadata["snnsim"]["lossy"]`` otherwise. ``CobaLIF`` has no NIR form and
is always rejected.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from collections import defaultdict

import numpy as np

from snnsim import connectivity as conn
from snnsim.distributions import DISTRIBUTIONS, Distribution
from snnsim.errors import FileFormatError, NetworkError, SnnsimError, in_file
from snnsim.io.atomic import atomic_path, check_writable
from snnsim.models import IF, LI, LIF, MODELS, CobaLIF, CubaLIF
from snnsim.network import (
    Network,
    PoissonSource,
    Projection,
    SpikeSource,
    StateProbe,
    check_dt,
    check_integration,
)

__all__ = ["METADATA_FORMAT", "from_nir", "read_nir", "to_nir", "write_nir"]

#: ``graph.metadata["snnsim"]["format"]`` of graphs written by :func:`to_nir`
METADATA_FORMAT = "snnsim.nir"
METADATA_VERSION = 1

_GRAPH = "NIR graph"
#: largest dense weight matrix to_nir writes (entries; 1 GiB of float64)
_MAX_DENSE = 1 << 27


def _nir():
    try:
        import nir
    except ImportError:  # pragma: no cover - nir is a dependency
        raise ImportError("NIR interchange needs the 'nir' package (pip install nir)") from None
    return nir


# ------------------------------------------------------------------ helpers
def _np(value) -> np.ndarray:
    """``value`` (number, list, numpy or torch tensor) as a numpy array."""
    if hasattr(value, "detach"):  # a torch tensor, without importing torch
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def _where(name: str, node=None) -> str:
    return f"NIR node {name!r}" + (f" ({type(node).__name__})" if node is not None else "")


def _float_array(name, node, field, *, allow_inf=False, nonnegative=False, positive=False) -> np.ndarray:
    """NIR field ``field`` of ``node`` as a flat float64 array; NaN/inf/sign checked, named in errors."""
    value = getattr(node, field, None)
    if value is None:
        raise NetworkError(_where(name, node), field, "is missing")
    try:
        arr = _np(value).astype(np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise NetworkError(_where(name, node), field, f"must be numbers, got {value!r}") from None
    bad = np.isnan(arr) | (np.isneginf(arr) if allow_inf else ~np.isfinite(arr))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise NetworkError(_where(name, node), field, f"must be finite, got {arr[i]!r} at index {i}")
    if positive and (arr <= 0).any():
        i = int(np.flatnonzero(arr <= 0)[0])
        raise NetworkError(_where(name, node), field, f"must be > 0, got {arr[i]!r} at index {i}")
    if nonnegative and (arr < 0).any():
        i = int(np.flatnonzero(arr < 0)[0])
        raise NetworkError(_where(name, node), field, f"must be >= 0, got {arr[i]!r} at index {i}")
    return arr


def _shape_size(shape) -> int | None:
    """Number of elements of a NIR shape (``None`` when unknown or empty)."""
    if shape is None:
        return None
    arr = _np(shape).reshape(-1)
    if arr.size == 0:
        return None
    return int(np.prod(arr.astype(np.int64)))


class _Names:
    """Unique NIR node names, allocated in a fixed order."""

    def __init__(self, taken):
        self.taken = set(taken)

    def new(self, base: str) -> str:
        name, i = base, 1
        while name in self.taken:
            name, i = f"{base}_{i}", i + 1
        self.taken.add(name)
        return name


def _param_value(value):
    """A model parameter as stored in metadata: a Python float, or a float64 array."""
    arr = np.asarray(value, dtype=np.float64)
    return float(arr) if arr.ndim == 0 else arr.copy()


def _synaptic_value(value):
    """Weights or delays as stored in metadata: like :func:`_param_value`, but float32 arrays
    (values drawn from a distribution, see ``snnsim.distributions``) stay float32."""
    if isinstance(value, np.ndarray) and value.dtype == np.float32:
        return value.copy()
    return _param_value(value)


def _meta_value(value):
    """A number read back from metadata: float for 0-d, else the array (dtype kept)."""
    arr = _np(value)
    if arr.ndim == 0:
        return arr.item() if arr.dtype.kind in "iub" else float(arr)
    return arr.copy()


def _meta_str(value) -> str:
    if isinstance(value, bytes):
        return value.decode("utf8")
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return _meta_str(value.item())
    if not isinstance(value, str):
        raise NetworkError("NIR metadata", "value", f"expected a string, got {value!r}")
    return value


# ------------------------------------------------------------------ to_nir
def _weight_scale(model, params: dict, dt: float) -> np.ndarray:
    """``k`` with ``w_snnsim = k * W_nir`` for a projection into a population of ``model``."""
    if isinstance(model, CubaLIF) or (isinstance(model, LI) and (params["tau_syn"] > 0).any()):
        return dt / params["tau_syn"]          # w_in = 1 on export
    return dt * params["r"] / params["tau_mem"]  # LIF, LI (tau_syn = 0), IF (NIR r = r / tau_mem)


def _population_node(nir, pop, dt: float):
    """(NIR neuron node, weight scale k) of a population."""
    model = pop.model
    p = {k: np.array(v, dtype=np.float64) for k, v in pop.parameters().items()}
    n = pop.size
    if isinstance(model, CobaLIF):
        raise NetworkError(pop.where, "model", "CobaLIF (conductance synapses) has no NIR equivalent; NIR knows "
                           "LIF, CubaLIF, LI, CubaLI, IF and I")
    if isinstance(model, LIF):
        node = nir.LIF(tau=p["tau_mem"], r=p["r"], v_leak=p["v_leak"], v_threshold=p["v_th"], v_reset=p["v_reset"])
    elif isinstance(model, CubaLIF):
        node = nir.CubaLIF(tau_syn=p["tau_syn"], tau_mem=p["tau_mem"], r=p["r"], v_leak=p["v_leak"],
                           v_threshold=p["v_th"], v_reset=p["v_reset"], w_in=np.ones(n))
    elif isinstance(model, LI):
        if (p["tau_syn"] > 0).any():
            node = nir.CubaLI(tau_syn=p["tau_syn"], tau_mem=p["tau_mem"], r=p["r"], v_leak=p["v_leak"],
                              w_in=np.ones(n))
        else:
            node = nir.LI(tau=p["tau_mem"], r=p["r"], v_leak=p["v_leak"])
    elif isinstance(model, IF):
        node = nir.IF(r=p["r"] / p["tau_mem"], v_threshold=p["v_th"], v_reset=p["v_reset"])
    else:
        raise NetworkError(pop.where, "model", f"{model.kind} has no NIR equivalent")
    return node, _weight_scale(model, p, dt), p


def _encode_initial(initial: dict) -> dict:
    """``{"0": {"variable": ..., "value": ...}, ...}``: keyed by position, as files sort keys."""
    out = {}
    for i, (var, value) in enumerate(initial.items()):
        if isinstance(value, Distribution):
            d = {"distribution": type(value).__name__}
            d.update({f.name: float(getattr(value, f.name)) for f in dataclasses.fields(value)})
            value = d
        else:
            value = _param_value(value)
        out[str(i)] = {"variable": var, "value": value}
    return out


def _delay_node(proj: Projection, pre_size: int, post_size: int, rows: np.ndarray, dt: float, lose):
    """``(side, values)`` of the NIR Delay of a projection (``side`` "pre" or "post"), or None."""
    if proj.delays is None:
        return None
    d = np.maximum(np.broadcast_to(np.asarray(proj.delays, dtype=np.float64), proj.indices.shape) - dt, 0.0)
    if np.ndim(proj.delays) == 0:
        d0 = max(float(proj.delays) - dt, 0.0)
        return ("pre", np.full(pre_size, d0)) if d0 > 0 else None
    if not (d != 0).any():
        return None
    for side, idx, size in (("pre", rows, pre_size), ("post", proj.indices, post_size)):
        values = np.zeros(size)
        values[idx] = d
        if np.array_equal(values[idx], d):
            return side, values
    lose(proj.where, "delay", "per-synapse delays that vary within a presynaptic row and within a postsynaptic "
         "column have no NIR form (a NIR Delay acts per signal element); the NIR graph has no Delay for it")
    return None


def to_nir(network: Network, dt: float | None = None, integration: str | None = None, *,
           strict: bool = False):
    """The NIR graph (``nir.NIRGraph``) of ``network`` for time step ``dt`` (s).

    ``dt`` and ``integration`` default to the network's and are recorded in
    ``graph.metadata``. Nodes: a ``nir.Input`` per spike/Poisson source, a neuron node
    per population (LIF, CubaLIF, LI / CubaLI, IF), a ``nir.Linear`` (``nir.Affine``
    where it carries a population's ``i_bias``) per projection, a ``nir.Delay`` before
    it for delays longer than the default one step, and a ``nir.Output`` per
    population without outgoing projections or with a probe (and per probed source).
    With ``strict=True`` anything NIR cannot express raises NetworkError instead of
    being kept in snnsim metadata only; CobaLIF always raises.
    """
    nir = _nir()
    if not isinstance(network, Network):
        raise TypeError(f"to_nir needs a snnsim.Network, got {type(network).__name__}")
    network.validate()
    dt = check_dt(network.dt if dt is None else dt, "to_nir")
    integration = check_integration(network.integration if integration is None else integration, "to_nir")
    lossy: list[str] = []

    def lose(where, field, message):
        if strict:
            raise NetworkError(where, field, f"{message} (to_nir strict=True)")
        lossy.append(f"{where}: {field}: {message}")

    names = _Names([*network.populations, *network.sources])
    nodes: dict = {}
    edges: list = []

    for order, src in enumerate(network.sources.values()):
        meta = {"role": "source", "name": src.name, "order": order, "size": int(src.size)}
        if isinstance(src, PoissonSource):
            meta.update(kind="poisson", rate=np.array(src.rate, dtype=np.float64))
            if src.rate_dt is not None:
                meta["rate_dt"] = float(src.rate_dt)
            lose(src.where, "rate", "Poisson rates are not part of a NIR graph (its Input carries no data); "
                 "kept in snnsim metadata")
        else:
            meta.update(kind="spike_source", times=np.array(src.times, dtype=np.float64),
                        indices=np.array(src.indices, dtype=np.int64))
        nodes[src.name] = nir.Input(np.array([src.size]), metadata={"snnsim": meta})

    scales, params_of = {}, {}
    for order, pop in enumerate(network.populations.values()):
        node, scales[pop.name], params_of[pop.name] = _population_node(nir, pop, dt)
        model = pop.model
        meta = {"role": "population", "name": pop.name, "order": order, "size": int(pop.size),
                "model": model.kind,
                "parameters": {p: _param_value(getattr(model, p)) for p in model.parameter_names()},
                "initial": _encode_initial(pop.initial)}
        if hasattr(model, "reset"):
            meta["reset"] = model.reset
            if model.reset != "value":
                lose(pop.where, "reset", f"reset={model.reset!r}: NIR neurons reset to v_reset; kept in snnsim metadata")
        if "t_ref" in params_of[pop.name] and (params_of[pop.name]["t_ref"] > 0).any():
            lose(pop.where, "t_ref", "NIR neurons have no refractory period; kept in snnsim metadata")
        if pop.initial:
            lose(pop.where, "initial", "NIR has no initial state (its neurons start at rest); kept in snnsim metadata")
        node.metadata = {"snnsim": meta}
        nodes[pop.name] = node

    # i_bias: the bias of the first incoming projection's Affine where that is exact
    bias_home: dict[str, str] = {}
    for proj in network.projections.values():
        bias_home.setdefault(proj.post, proj.name)
    for pop in network.populations.values():
        p = params_of[pop.name]
        if not (p["i_bias"] != 0).any():
            continue
        current_syn = isinstance(pop.model, CubaLIF) or (isinstance(pop.model, LI) and (p["tau_syn"] > 0).any())
        if current_syn:
            bias_home.pop(pop.name, None)
            lose(pop.where, "i_bias", "a NIR Affine bias into CubaLIF/CubaLI passes through the synaptic current "
                 "(it rises with tau_syn); snnsim's i_bias acts on v at once; kept in snnsim metadata")
        elif pop.name not in bias_home:
            lose(pop.where, "i_bias", "needs an incoming projection to carry it as a NIR Affine bias; kept in "
                 "snnsim metadata")

    for order, proj in enumerate(network.projections.values()):
        pre = network.node(proj.pre)
        post = network.populations[proj.post]
        if pre.size * post.size > _MAX_DENSE:
            raise NetworkError(proj.where, "weight", f"a NIR Linear is a dense ({post.size}, {pre.size}) matrix, "
                               f"more than {_MAX_DENSE} entries; too large to export")
        rows = np.repeat(np.arange(pre.size), np.diff(proj.indptr))
        w = np.broadcast_to(np.asarray(proj.weights, dtype=np.float64), proj.indices.shape)
        W = np.zeros((post.size, pre.size))
        np.add.at(W, (proj.indices.astype(np.int64), rows), w / scales[post.name][proj.indices])
        meta = {"role": "projection", "name": proj.name, "order": order, "pre": proj.pre, "post": proj.post,
                "target": proj.target, "rule": proj.rule, "indptr": np.array(proj.indptr),
                "indices": np.array(proj.indices), "weights": _synaptic_value(proj.weights)}
        if proj.delays is not None:
            meta["delays"] = _synaptic_value(proj.delays)
        key = names.new(proj.name)
        if bias_home.get(post.name) == proj.name:
            nodes[key] = nir.Affine(weight=W, bias=params_of[post.name]["i_bias"].copy(), metadata={"snnsim": meta})
        else:
            nodes[key] = nir.Linear(weight=W, metadata={"snnsim": meta})
        delay = _delay_node(proj, pre.size, post.size, rows, dt, lose)
        if delay is None:
            edges += [(proj.pre, key), (key, proj.post)]
        else:
            side, values = delay
            dkey = names.new(f"{key}_delay")
            nodes[dkey] = nir.Delay(delay=values, metadata={"snnsim": {"role": "delay", "projection": proj.name}})
            if side == "pre":
                edges += [(proj.pre, dkey), (dkey, key), (key, proj.post)]
            else:
                edges += [(proj.pre, key), (key, dkey), (dkey, proj.post)]

    probed = {p.target for p in network.probes.values()}
    has_out = {p.pre for p in network.projections.values()}
    for node_obj in [*network.populations.values(), *network.sources.values()]:
        if node_obj.name in probed or (node_obj.name in network.populations and node_obj.name not in has_out):
            okey = names.new(f"{node_obj.name}_output")
            nodes[okey] = nir.Output(np.array([node_obj.size]), metadata={"snnsim": {"role": "output"}})
            edges.append((node_obj.name, okey))

    currents = {}
    for order, cur in enumerate(network.currents.values()):
        c = {"name": cur.name, "target": cur.target, "amplitude": np.array(cur.amplitude, dtype=np.float64)}
        if cur.sample_dt is not None:
            c["sample_dt"] = float(cur.sample_dt)
        currents[str(order)] = c
        lose(cur.where, "amplitude", "NIR has no injected currents; kept in snnsim metadata")
    probes = {}
    for order, probe in enumerate(network.probes.values()):
        pr = {"name": probe.name, "target": probe.target}
        if isinstance(probe, StateProbe):
            pr.update(kind="state", variable=probe.variable, neurons=np.array(probe.neurons, dtype=np.int64),
                      every=int(probe.every))
        else:
            pr["kind"] = "spikes"
        probes[str(order)] = pr

    import snnsim
    metadata = {
        "dt": float(dt),
        "integration": integration,
        "snnsim": {"format": METADATA_FORMAT, "format_version": METADATA_VERSION,
                   "snnsim_version": snnsim.__version__, "name": str(network.name), "seed": int(network.seed),
                   "network_dt": float(network.dt), "network_integration": network.integration,
                   "weight_convention": "w_snnsim = k * W_nir; k = dt*r/tau_mem (LIF, LI), dt*r (IF), "
                                        "dt*w_in/tau_syn (CubaLIF, CubaLI)",
                   "currents": currents, "probes": probes, "lossy": "\n".join(lossy)},
    }
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata, type_check=False)


# --------------------------------------------------- from_nir: snnsim metadata
def _decode_initial(meta: dict) -> dict:
    initial = {}
    for key in sorted(meta, key=int):
        var, value = _meta_str(meta[key]["variable"]), meta[key]["value"]
        if isinstance(value, dict):
            cls = DISTRIBUTIONS[_meta_str(value["distribution"])]
            initial[var] = cls(**{f.name: float(value[f.name]) for f in dataclasses.fields(cls)})
        else:
            initial[var] = _meta_value(value)
    return initial


def _decode_network(graph, rec_dt: float, rec_integration: str) -> Network:
    """The network described by the snnsim metadata of a graph written by :func:`to_nir`."""
    sm = graph.metadata["snnsim"]
    net = Network(dt=rec_dt, integration=rec_integration, seed=int(sm["seed"]), name=_meta_str(sm["name"]))
    by_role = defaultdict(list)
    for node in graph.nodes.values():
        meta = getattr(node, "metadata", None) or {}
        m = meta.get("snnsim") if isinstance(meta, dict) else None
        if isinstance(m, dict) and "role" in m:
            by_role[_meta_str(m["role"])].append(m)
    for m in sorted(by_role["source"], key=lambda m: int(m["order"])):
        name, size = _meta_str(m["name"]), int(m["size"])
        if _meta_str(m["kind"]) == "poisson":
            net.add_poisson(name, size, _np(m["rate"]), float(m["rate_dt"]) if "rate_dt" in m else None)
        else:
            net.add_spike_source(name, size, _np(m["times"]).astype(np.float64), _np(m["indices"]).astype(np.int64))
    for m in sorted(by_role["population"], key=lambda m: int(m["order"])):
        cls = MODELS[_meta_str(m["model"])]
        kwargs = {p: _meta_value(v) for p, v in m["parameters"].items()}
        if "reset" in m:
            kwargs["reset"] = _meta_str(m["reset"])
        net.add_population(_meta_str(m["name"]), int(m["size"]), cls(**kwargs), _decode_initial(m["initial"]))
    for m in sorted(by_role["projection"], key=lambda m: int(m["order"])):
        name = _meta_str(m["name"])
        net.projections[name] = Projection(name, _meta_str(m["pre"]), _meta_str(m["post"]), _meta_str(m["target"]),
                                           np.array(_np(m["indptr"])), np.array(_np(m["indices"])),
                                           _meta_value(m["weights"]),
                                           _meta_value(m["delays"]) if "delays" in m else None,
                                           rule=_meta_str(m["rule"]))
    for key in sorted(sm.get("currents", {}), key=int):
        c = sm["currents"][key]
        net.add_current(_meta_str(c["name"]), _meta_str(c["target"]), _np(c["amplitude"]).astype(np.float64),
                        float(c["sample_dt"]) if "sample_dt" in c else None)
    for key in sorted(sm.get("probes", {}), key=int):
        p = sm["probes"][key]
        if _meta_str(p["kind"]) == "state":
            net.probe_state(_meta_str(p["target"]), _meta_str(p["variable"]), _np(p["neurons"]).astype(np.int64),
                            int(p["every"]), name=_meta_str(p["name"]))
        else:
            net.probe_spikes(_meta_str(p["target"]), name=_meta_str(p["name"]))
    return net.validate()


_SKIP_FIELDS = ("metadata", "input_type", "output_type")


def _same_graph(a, b) -> bool:
    """True if graphs ``a`` (written by to_nir) and ``b`` have the same nodes, NIR fields (bit for bit)
    and edges. Inputs that ``nir.read``'s type inference adds in front of nodes without incoming
    edges (no snnsim metadata, only outgoing edges) are ignored."""
    added = {k for k, n in b.nodes.items() if k not in a.nodes and type(n).__name__ == "Input"
             and "snnsim" not in (n.metadata or {})}
    if set(a.nodes) != set(b.nodes) - added:
        return False
    b_edges = [(_meta_str(x), _meta_str(y)) for x, y in b.edges]
    if any(y in added for _, y in b_edges):
        return False
    if sorted((str(x), str(y)) for x, y in a.edges) != sorted(e for e in b_edges if e[0] not in added):
        return False
    for key, x in a.nodes.items():
        y = b.nodes[key]
        if type(x) is not type(y):
            return False
        if type(x).__name__ in ("Input", "Output"):
            side = "input" if type(x).__name__ == "Input" else "output"
            t1, t2 = getattr(x, f"{side}_type")[side], getattr(y, f"{side}_type")[side]
            if not np.array_equal(_np(t1).reshape(-1), _np(t2).reshape(-1)):
                return False
            continue
        for f in dataclasses.fields(x):
            if f.name in _SKIP_FIELDS:
                continue
            u, v = _np(getattr(x, f.name)), _np(getattr(y, f.name, None))
            if u.shape != v.shape or not np.array_equal(u, v):
                return False
    return True


def _from_metadata(graph, dt: float, integration: str):
    """The exact network recorded in snnsim metadata, or None (absent, or graph modified since)."""
    meta = graph.metadata if isinstance(graph.metadata, dict) else {}
    sm = meta.get("snnsim")
    if not isinstance(sm, dict):
        return None
    try:
        if _meta_str(sm.get("format", "")) != METADATA_FORMAT:
            return None
        rec_dt, rec_integration = float(meta["dt"]), _meta_str(meta["integration"])
        net = _decode_network(graph, rec_dt, rec_integration)
        same = _same_graph(to_nir(net, rec_dt, rec_integration), graph)
    except (SnnsimError, KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        warnings.warn(f"NIR graph: its snnsim metadata cannot be used ({type(exc).__name__}: {exc}); "
                      f"importing from the NIR fields only", stacklevel=3)
        return None
    if not same:
        warnings.warn("NIR graph: changed since snnsim wrote it (its NIR fields differ from its snnsim metadata); "
                      "importing from the NIR fields only, without the snnsim-only features", stacklevel=3)
        return None
    if dt != rec_dt:  # same continuous-time graph, another step: weights scale with dt (k ~ dt), delays shift
        for proj in net.projections.values():
            ratio = dt / rec_dt
            proj.weights = float(proj.weights) * ratio if np.ndim(proj.weights) == 0 else proj.weights * ratio
            if proj.delays is not None:
                d = np.maximum(np.asarray(proj.delays, dtype=np.float64) - rec_dt, 0.0) + dt
                proj.delays = float(d) if d.ndim == 0 else d
    net.dt, net.integration = dt, integration
    return net


# ------------------------------------------------------ from_nir: NIR fields
_NEURONS = ("LIF", "CubaLIF", "LI", "CubaLI", "IF", "I")
_OPERATORS = ("Linear", "Affine", "Scale", "Delay", "Flatten")
_SUPPORTED = ("Input", "Output", *_NEURONS, *_OPERATORS)


def _kind(name, node) -> str:
    t = type(node).__name__
    if t == "NIRGraph":
        raise NetworkError(_where(name, node), "type", "nested NIR graphs are not supported; flatten the graph first")
    if t not in _SUPPORTED:
        raise NetworkError(_where(name, node), "type", f"{t} is not supported (snnsim imports {', '.join(_SUPPORTED)})")
    if t == "Input":
        return "source"
    if t == "Output":
        return "output"
    return "neuron" if t in _NEURONS else "op"


_NEURON_FIELDS = {  # field -> (allow_inf, positive)
    "LIF": {"tau": (False, True), "r": (False, False), "v_leak": (False, False), "v_threshold": (True, False),
            "v_reset": (False, False)},
    "CubaLIF": {"tau_syn": (False, True), "tau_mem": (False, True), "r": (False, False), "v_leak": (False, False),
                "v_threshold": (True, False), "v_reset": (False, False), "w_in": (False, False)},
    "LI": {"tau": (False, True), "r": (False, False), "v_leak": (False, False)},
    "CubaLI": {"tau_syn": (False, True), "tau_mem": (False, True), "r": (False, False), "v_leak": (False, False),
               "w_in": (False, False)},
    "IF": {"r": (False, False), "v_threshold": (True, False), "v_reset": (False, False)},
    "I": {"r": (False, False)},
}


class _Importer:
    def __init__(self, graph, dt: float, integration: str, cuba_bias: str):
        self.graph, self.dt, self.integration, self.cuba_bias = graph, dt, integration, cuba_bias
        self.nodes = dict(graph.nodes)
        self.kinds = {k: _kind(k, n) for k, n in self.nodes.items()}
        self.succ = defaultdict(list)
        self.pred = defaultdict(list)
        for edge in graph.edges:
            a, b = (_meta_str(x) if not isinstance(x, str) else x for x in edge)
            for end in (a, b):
                if end not in self.nodes:
                    raise NetworkError(_GRAPH, "edges", f"edge ({a!r}, {b!r}) names no node {end!r} "
                                       f"(nodes: {sorted(self.nodes)})")
            if self.kinds[b] == "source":
                raise NetworkError(_where(b, self.nodes[b]), "edges", f"an Input cannot receive an edge, got one from {a!r}")
            if self.kinds[a] == "output":
                raise NetworkError(_where(a, self.nodes[a]), "edges", f"an Output cannot send an edge, got one to {b!r}")
            self.succ[a].append(b)
            self.pred[b].append(a)
        self.params = {k: self._neuron_params(k, n) for k, n in self.nodes.items() if self.kinds[k] == "neuron"}
        self.sizes = {}

    # -- sizes
    def _neuron_params(self, name, node) -> dict:
        t = type(node).__name__
        return {f: _float_array(name, node, f, allow_inf=inf, positive=pos)
                for f, (inf, pos) in _NEURON_FIELDS[t].items()}

    def _op_sizes(self, name) -> tuple:
        """(input size, output size) an operator fixes, None where it does not."""
        node = self.nodes[name]
        t = type(node).__name__
        if t in ("Linear", "Affine"):
            w = _np(node.weight)
            if w.ndim != 2:
                raise NetworkError(_where(name, node), "weight", f"must be a 2-D (n_out, n_in) matrix, got shape {w.shape}")
            return w.shape[1], w.shape[0]
        if t in ("Scale", "Delay"):
            n = _np(node.scale if t == "Scale" else node.delay).size
            return (n, n) if n > 1 else (None, None)
        return None, None

    def size(self, name) -> int:
        if name in self.sizes:
            return self.sizes[name]
        node, kind = self.nodes[name], self.kinds[name]
        found = []  # (size, why)
        if kind == "source":
            n = _shape_size(node.input_type.get("input") if isinstance(node.input_type, dict) else None)
            if n is None:
                raise NetworkError(_where(name, node), "shape", "an Input needs a shape")
            found.append((n, "its shape"))
        else:
            for f, arr in self.params[name].items():
                if arr.size > 1:
                    found.append((arr.size, f"field {f}"))
            n = _shape_size((node.input_type or {}).get("input")) if isinstance(node.input_type, dict) else None
            if n is not None:
                found.append((n, "its input type"))
            for p in self.pred[name]:
                if self.kinds[p] == "op":
                    out = self._op_sizes(p)[1]
                    if out is not None:
                        found.append((out, f"node {p!r}"))
            for s in self.succ[name]:
                if self.kinds[s] == "op":
                    inp = self._op_sizes(s)[0]
                    if inp is not None:
                        found.append((inp, f"node {s!r}"))
                elif self.kinds[s] == "output":
                    n = _shape_size(self.nodes[s].output_type.get("output"))
                    if n is not None:
                        found.append((n, f"node {s!r}"))
        if not found:
            raise NetworkError(_where(name, node), "shape", "cannot infer the number of neurons (scalar parameters and "
                               "no adjacent Linear/Affine, Scale or Delay of known size)")
        sizes = {n for n, _ in found}
        if len(sizes) > 1:
            raise NetworkError(_where(name, node), "shape", "sizes do not match: " +
                               ", ".join(f"{n} from {why}" for n, why in found))
        self.sizes[name] = found[0][0]
        return found[0][0]

    # -- paths
    def paths(self):
        """``(start, [operators...], end)`` for every path from a source or neuron through operators to a
        neuron or output, in node order."""
        out = []
        reached = set()

        def walk(start, node, chain):
            for nxt in self.succ[node]:
                k = self.kinds[nxt]
                if k in ("neuron", "output"):
                    if k == "output" and chain:
                        raise NetworkError(_where(chain[-1], self.nodes[chain[-1]]), "edges",
                                           f"an Output ({nxt!r}) fed through operators is not supported; snnsim "
                                           f"outputs are populations (feed the Output from a neuron node)")
                    out.append((start, chain, nxt))
                else:  # an operator
                    if nxt in chain:
                        raise NetworkError(_where(nxt, self.nodes[nxt]), "edges",
                                           "is on a cycle of operators without a neuron node (unsupported)")
                    reached.add(nxt)
                    if not self.succ[nxt]:
                        raise NetworkError(_where(nxt, self.nodes[nxt]), "edges", "has no outgoing edge")
                    walk(start, nxt, chain + [nxt])

        for name, kind in self.kinds.items():
            if kind in ("source", "neuron"):
                walk(name, name, [])
        for name, kind in self.kinds.items():
            if kind == "op" and name not in reached:
                raise NetworkError(_where(name, self.nodes[name]), "edges",
                                   "is not reached from any Input or neuron node")
        return out

    def compose(self, start, chain, end):
        """Effective (n_post, n_pre) matrix, per-synapse delay parts and the Affine (name, bias) on a path."""
        n_pre, n_post = self.size(start), self.size(end)
        cur = n_pre
        pre_scale, d_pre = np.ones(n_pre), np.zeros(n_pre)
        W = post_scale = d_post = None
        affine = None
        for op in chain:
            node = self.nodes[op]
            t = type(node).__name__
            if t == "Flatten":
                declared = _shape_size(node.input_type.get("input")) if isinstance(node.input_type, dict) else None
                if declared is not None and declared != cur:
                    raise NetworkError(_where(op, node), "input_type", f"flattens {declared} values but receives "
                                       f"{cur} from {start!r}")
                continue
            if t in ("Scale", "Delay"):
                field = "scale" if t == "Scale" else "delay"
                v = _float_array(op, node, field, nonnegative=(t == "Delay"))
                if v.size not in (1, cur):
                    raise NetworkError(_where(op, node), field, f"has {v.size} elements but its input has {cur}")
                if t == "Scale":
                    if W is None:
                        pre_scale = pre_scale * v
                    else:
                        post_scale = post_scale * v
                elif W is None:
                    d_pre = d_pre + v
                else:
                    d_post = d_post + v
                continue
            if W is not None:  # Linear / Affine
                raise NetworkError(_where(op, node), "edges", f"a second weight node on the path {start!r} -> "
                                   f"{end!r} (after {affine[0] if affine else 'another'}) is not supported")
            W = _float_array(op, node, "weight").reshape(_np(node.weight).shape)
            if W.shape[1] != cur:
                raise NetworkError(_where(op, node), "weight", f"expects {W.shape[1]} inputs (shape {W.shape}) but "
                                   f"receives {cur} from {start!r}")
            cur = W.shape[0]
            post_scale, d_post = np.ones(cur), np.zeros(cur)
            affine = (op, _float_array(op, node, "bias") if t == "Affine" else None)
        if cur != n_post:
            last = chain[-1] if chain else start
            raise NetworkError(_where(last, self.nodes[last]), "shape", f"sends {cur} values but {end!r} has "
                               f"{n_post} neurons")
        if W is None:
            M = np.diag(pre_scale)
            d_post = np.zeros(n_post)
        else:
            M = post_scale[:, None] * W * pre_scale[None, :]
        if affine is not None and affine[1] is not None:
            bias = affine[1]
            if bias.size not in (1, cur):
                raise NetworkError(_where(*[affine[0], self.nodes[affine[0]]]), "bias",
                                   f"has {bias.size} elements, expected {cur}")
            affine = (affine[0], np.broadcast_to(bias, (cur,)) * post_scale)
        return M, d_pre, d_post, affine

    # -- network
    def weight_scale(self, name) -> np.ndarray:
        t, p, dt = type(self.nodes[name]).__name__, self.params[name], self.dt
        n = self.size(name)
        if t in ("CubaLIF", "CubaLI"):
            k = dt * p["w_in"] / p["tau_syn"]
        elif t in ("LIF", "LI"):
            k = dt * p["r"] / p["tau"]
        else:  # IF, I: dv/dt = r I
            k = dt * p["r"]
        return np.broadcast_to(k, (n,))

    def build(self) -> Network:
        net = Network(dt=self.dt, integration=self.integration, name="nir")
        paths = self.paths()
        biases: dict[str, np.ndarray] = {}
        seen_bias = set()
        projections = []
        for start, chain, end in paths:
            if self.kinds[end] == "output":
                continue
            M, d_pre, d_post, affine = self.compose(start, chain, end)
            if affine is not None and affine[1] is not None and (affine[0], end) not in seen_bias:
                seen_bias.add((affine[0], end))
                if (affine[1] != 0).any():
                    biases[end] = biases.get(end, 0.0) + affine[1] * self._bias_factor(end, affine[0])
            projections.append((start, chain, end, M, d_pre, d_post))
        for name, kind in self.kinds.items():
            if kind == "source":
                net.add_spike_source(name, self.size(name), [], np.zeros(0, np.int64))
            elif kind == "neuron":
                net.add_population(name, self.size(name), self._model(name, biases.get(name)))
        weight_nodes = defaultdict(int)
        for _, chain, _, *_ in projections:
            for op in chain:
                weight_nodes[op] += 1
        used = set()
        for start, chain, end, M, d_pre, d_post in projections:
            named = [op for op in chain if type(self.nodes[op]).__name__ in ("Linear", "Affine")]
            base = named[0] if named and weight_nodes[named[0]] == 1 else f"{start}->{end}"
            pname, i = base, 2
            while pname in used:
                pname, i = f"{base}#{i}", i + 1
            used.add(pname)
            post_idx, pre_idx = np.nonzero(M)
            k = self.weight_scale(end)
            weights = k[post_idx] * M[post_idx, pre_idx]
            d = d_pre[pre_idx] + d_post[post_idx]
            if not (d != 0).any():
                delay = None
            elif (d == d[0]).all():
                delay = float(d[0]) + self.dt
            else:
                delay = d + self.dt
            net.connect(start, end, conn.Sparse(pre_idx, post_idx), weight=weights, delay=delay, name=pname)
        for start, chain, end in paths:
            if self.kinds[end] == "output":
                if self.kinds[start] == "neuron" and type(self.nodes[start]).__name__ in ("LI", "CubaLI", "I"):
                    net.probe_state(start, "v", name=f"{start}.v" if f"{start}.v" not in net.probes else end)
                elif f"{start}.spikes" not in net.probes:
                    net.probe_spikes(start)
        return net

    def _bias_factor(self, name, affine_name):
        t = type(self.nodes[name]).__name__
        if t in ("CubaLIF", "CubaLI"):
            if self.cuba_bias != "i_bias":
                raise NetworkError(_where(affine_name, self.nodes[affine_name]), "bias",
                                   f"a nonzero bias into {t} {name!r} drives its synaptic current, which snnsim "
                                   f"cannot express exactly; pass cuba_bias='i_bias' to use its steady state "
                                   f"w_in * bias as i_bias (exact after the first few tau_syn)")
            return np.broadcast_to(self.params[name]["w_in"], (self.size(name),))
        return 1.0

    def _model(self, name, bias):
        node, p = self.nodes[name], self.params[name]
        t = type(node).__name__
        n = self.size(name)

        def v(arr):
            if arr.size not in (1, n):
                raise NetworkError(_where(name, node), "shape", f"a parameter has {arr.size} values for {n} neurons")
            return float(arr[0]) if arr.size == 1 else arr.copy()

        i_bias = 0.0 if bias is None else v(np.asarray(bias, dtype=np.float64).reshape(-1))
        if t == "LIF":
            return LIF(tau_mem=v(p["tau"]), v_leak=v(p["v_leak"]), v_th=v(p["v_threshold"]),
                       v_reset=v(p["v_reset"]), r=v(p["r"]), i_bias=i_bias)
        if t == "CubaLIF":
            return CubaLIF(tau_mem=v(p["tau_mem"]), tau_syn=v(p["tau_syn"]), v_leak=v(p["v_leak"]),
                           v_th=v(p["v_threshold"]), v_reset=v(p["v_reset"]), r=v(p["r"]), i_bias=i_bias)
        if t == "LI":
            return LI(tau_mem=v(p["tau"]), tau_syn=0.0, v_leak=v(p["v_leak"]), r=v(p["r"]), i_bias=i_bias)
        if t == "CubaLI":
            return LI(tau_mem=v(p["tau_mem"]), tau_syn=v(p["tau_syn"]), v_leak=v(p["v_leak"]), r=v(p["r"]),
                      i_bias=i_bias)
        if t == "IF":
            return IF(tau_mem=1.0, v_th=v(p["v_threshold"]), v_reset=v(p["v_reset"]), r=v(p["r"]), i_bias=i_bias)
        return IF(tau_mem=1.0, v_th=np.inf, v_reset=0.0, r=v(p["r"]), i_bias=i_bias)  # I: never fires


def _apply_inputs(net: Network, inputs: dict, dt: float) -> None:
    """Replace sources by the given spikes: ``{name: (times, indices)}`` or ``{name: counts}`` with
    ``counts[k, j]`` spikes of neuron ``j`` at ``t = k dt`` (a Norse-style input tensor)."""
    for name, spikes in inputs.items():
        src = net.sources.get(name)
        if src is None:
            raise NetworkError("from_nir", "inputs", f"no Input node named {name!r} (inputs: {sorted(net.sources)})")
        where = f"from_nir inputs[{name!r}]"
        if isinstance(spikes, tuple) and len(spikes) == 2:
            times, indices = (np.asarray(x) for x in spikes)
        else:
            counts = _np(spikes)
            if counts.ndim != 2 or counts.shape[1] != src.size:
                raise NetworkError(where, "shape", f"must be (n_steps, {src.size}) spike counts or (times, "
                                   f"indices), got shape {counts.shape}")
            if not np.isfinite(counts).all() or (counts < 0).any() or (counts != np.round(counts)).any():
                raise NetworkError(where, "values", "spike counts must be whole numbers >= 0")
            k, j = np.nonzero(counts)
            reps = counts[k, j].astype(np.int64)
            times, indices = np.repeat(k * dt, reps), np.repeat(j, reps).astype(np.int64)
        tmp = Network(dt=dt).add_spike_source(name, src.size, times, indices)  # validates
        net.sources[name] = SpikeSource(name, src.size, tmp.times, tmp.indices)


def from_nir(graph, dt: float | None = None, integration: str | None = None, *, inputs: dict | None = None,
             cuba_bias: str = "error") -> Network:
    """The :class:`~snnsim.network.Network` of a NIR graph, for time step ``dt`` (s).

    ``dt`` defaults to ``graph.metadata["dt"]`` (written by :func:`to_nir`); a graph that
    records none needs it (NetworkError otherwise). ``integration`` defaults to the
    recorded one, else ``"euler"`` (what Norse and snnTorch do). A graph written by
    :func:`to_nir` and not changed since gives back exactly the network written
    (with ``dt``'s weights and delays if ``dt`` differs); any other graph is read
    from its NIR fields (see ``docs/nir.md``): Inputs become spike sources (with no
    spikes unless ``inputs`` gives them), neuron nodes populations, each path
    through Linear/Affine/Scale/Delay/Flatten nodes a projection, Outputs probes.
    ``inputs`` maps Input names to ``(times, indices)`` or an ``(n_steps, size)``
    array of spike counts (step ``k`` at ``t = k dt``). ``cuba_bias="i_bias"`` accepts
    Affine biases into CubaLIF/CubaLI as their steady state (inexact while the
    synaptic current settles); the default rejects them.
    """
    nir = _nir()
    if not isinstance(graph, nir.NIRGraph):
        raise NetworkError(_GRAPH, "graph", f"must be a nir.NIRGraph, got {type(graph).__name__}")
    if cuba_bias not in ("error", "i_bias"):
        raise NetworkError("from_nir", "cuba_bias", f"must be 'error' or 'i_bias', got {cuba_bias!r}")
    meta = graph.metadata if isinstance(graph.metadata, dict) else {}
    if dt is None:
        if "dt" not in meta:
            raise NetworkError(_GRAPH, "dt", "the graph records no time step (NIR itself stores none); pass "
                               "dt=<seconds>")
        try:
            dt = float(_np(meta["dt"]))
        except (TypeError, ValueError):
            raise NetworkError(_GRAPH, "dt", f"recorded dt is not a number: {meta['dt']!r}") from None
    dt = check_dt(dt, _GRAPH)
    if integration is None:
        integration = _meta_str(meta["integration"]) if "integration" in meta else "euler"
    integration = check_integration(integration, _GRAPH)
    net = _from_metadata(graph, dt, integration)
    if net is None:
        net = _Importer(graph, dt, integration, cuba_bias).build()
    if inputs:
        _apply_inputs(net, inputs, dt)
    return net.validate()


# ------------------------------------------------------------------- files
def write_nir(network: Network, path, dt: float | None = None, integration: str | None = None, *,
              strict: bool = False) -> None:
    """Write ``network`` as a NIR file (HDF5, ``nir.write``) at ``path``, replaced atomically:
    the graph is built first (errors leave nothing behind) and a failed write leaves
    ``path`` as it was. ``dt``/``integration`` as in :func:`to_nir`, recorded in the file."""
    nir = _nir()
    check_writable(path)
    graph = to_nir(network, dt, integration, strict=strict)
    with atomic_path(path) as tmp:
        try:
            nir.write(tmp, graph)
        except (OSError, ValueError, TypeError) as exc:
            raise FileFormatError(f"{os.fspath(path)}: cannot write the NIR graph ({type(exc).__name__}: {exc})") \
                from exc


def read_nir(path, dt: float | None = None, integration: str | None = None, **kwargs) -> Network:
    """Read a NIR file into a Network; ``dt``/``integration`` default to those recorded by
    :func:`write_nir` (a file without them needs ``dt``). Other keywords go to :func:`from_nir`.
    A missing, corrupt or non-NIR file raises FileFormatError."""
    nir = _nir()
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileFormatError(f"{path}: no such file")
    if os.path.isdir(path):
        raise FileFormatError(f"{path}: is a directory, expected a NIR file")
    try:
        graph = nir.read(path, type_check=False)
    except Exception as exc:  # h5py, KeyError, AssertionError ... from a file that is not NIR
        raise FileFormatError(f"{path}: not a readable NIR file (corrupt, truncated or another format): "
                              f"{type(exc).__name__}: {exc}") from exc
    if not isinstance(graph, nir.NIRGraph):
        raise FileFormatError(f"{path}: holds a single {type(graph).__name__} node, not a NIR graph")
    try:
        return from_nir(graph, dt, integration, **kwargs)
    except NetworkError as exc:  # a readable graph holding an invalid network: name the file too
        raise in_file(exc, path) from exc
