"""HDF5 files for networks and results (h5py).

``save_network`` / ``load_network`` store everything a :class:`~snnsim.network.Network`
holds, with connectivity as concrete arrays, so a loaded network is identical to
the saved one (nothing is re-drawn; random initial states keep their
distribution and re-draw identically from the seed). ``save_results`` /
``load_results`` store a :class:`~snnsim.results.Results`.

Files are self-describing: root attributes ``format`` (``"snnsim.network"`` or
``"snnsim.results"``), ``format_version`` and ``snnsim_version``; every dataset
holding a physical quantity has a ``unit`` attribute (SI: ``"s"``, ``"V"``,
``"A"``, ``"ohm"``, ``"Hz"``, ``"1"`` for dimensionless). Member groups
(populations, sources, ...) are HDF5 groups named after the member, with ``%``
written ``%25`` and a name ``"."`` written ``%2E``; an integer ``order``
attribute keeps declaration order. The full layout is in ``docs/``.

Writes are atomic (temporary file in the target's directory, then
``os.replace``). Reading anything that is not a valid snnsim file raises
:class:`~snnsim.errors.FileFormatError`; a file whose content is well formed but
describes an invalid network raises :class:`~snnsim.errors.NetworkError`.
"""

from __future__ import annotations

import dataclasses
import os

import h5py
import numpy as np

import snnsim
from snnsim.distributions import DISTRIBUTIONS, Distribution
from snnsim.errors import FileFormatError, NetworkError, SnnsimError, in_file
from snnsim.io.atomic import atomic_path
from snnsim.models import MODELS
from snnsim.network import Network, PoissonSource, Projection, StateProbe
from snnsim.results import Results, SpikeTrains, Trace

__all__ = ["save_network", "load_network", "save_results", "load_results", "FORMAT_VERSION"]

FORMAT_VERSION = 1
#: the version each format writes, and the versions it reads. Results 2: per-object counts
#: (``counts``), ``arithmetic`` instead of ``dtype``; a version-1 results file is still read.
VERSIONS = {"snnsim.network": (1, (1,)), "snnsim.results": (2, (1, 2)), "snnsim.snapshot": (1, (1,)),
            "snnsim-checkpoint": (1, (1,))}
NETWORK_FORMAT = "snnsim.network"
RESULTS_FORMAT = "snnsim.results"

#: unit of every neuron-model parameter
PARAM_UNITS = {"tau_mem": "s", "tau_syn": "s", "tau_exc": "s", "tau_inh": "s", "t_ref": "s",
               "v_leak": "V", "v_th": "V", "v_reset": "V", "e_exc": "V", "e_inh": "V",
               "r": "ohm", "i_bias": "A"}
#: unit of every state variable
STATE_UNITS = {"v": "V", "i_syn": "A", "g_exc": "1", "g_inh": "1"}

_NETWORK_GROUPS = ("populations", "sources", "projections", "currents", "probes")


# ------------------------------------------------------------------ names
def _key(name: str) -> str:
    """HDF5 link name of a member called ``name`` (which never contains '/')."""
    key = name.replace("%", "%25")
    return "%2E" if key == "." else key


def _name(key: str) -> str:
    """Inverse of :func:`_key`."""
    return "." if key == "%2E" else key.replace("%25", "%")


def _weight_unit(net: Network, proj: Projection) -> str:
    """V for delta synapses, A for current synapses, 1 for relative conductances."""
    post = net.populations[proj.post].model
    if proj.target != "current":
        return "1"
    return "V" if post.delta_synapses else "A"


# ---------------------------------------------------------------- writing
def _write_atomic(path, fill) -> None:
    """Create ``path`` by ``fill(h5file)`` on a temporary file, then rename it onto ``path``.

    On any exception the temporary file is removed and ``path`` is left as it was.
    """
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            fill(f)


def _data(group: h5py.Group, name: str, value, unit: str | None = None) -> h5py.Dataset:
    ds = group.create_dataset(name, data=np.asarray(value))
    if unit is not None:
        ds.attrs["unit"] = unit
    return ds


def _member(parent: h5py.Group, name: str, order: int, **attrs) -> h5py.Group:
    group = parent.create_group(_key(name))
    group.attrs["order"] = order
    group.attrs.update(attrs)
    return group


def _scalar_map(parent: h5py.Group, name: str, values: dict) -> None:
    """A mapping of numbers as attributes of one group, in insertion order."""
    group = parent.create_group(name, track_order=True)
    for k, v in values.items():
        group.attrs[k] = v


def _write_header(f: h5py.Group, fmt: str) -> None:
    f.attrs["format"] = fmt
    f.attrs["format_version"] = VERSIONS[fmt][0]
    f.attrs["snnsim_version"] = snnsim.__version__


def _check_savable(net: Network) -> None:
    for pop in net.populations.values():
        if MODELS.get(pop.model.kind) is not type(pop.model):
            raise NetworkError(pop.where, "model", f"{pop.model.kind} is not one of the models a file can "
                               f"hold ({sorted(MODELS)})")
        for var, value in pop.initial.items():
            if isinstance(value, Distribution) and type(value).__name__ not in DISTRIBUTIONS:
                raise NetworkError(pop.where, f"initial[{var!r}]", f"cannot save distribution {value!r}")


def _write_population(g: h5py.Group, pop) -> None:
    model = pop.model
    g.attrs["model"] = model.kind
    g.attrs["size"] = pop.size
    if hasattr(model, "reset"):
        g.attrs["reset"] = model.reset
    params = g.create_group("parameters")
    for p in model.parameter_names():
        _data(params, p, np.asarray(getattr(model, p), dtype=np.float64), PARAM_UNITS.get(p))
    initial = g.create_group("initial")
    for order, (var, value) in enumerate(pop.initial.items()):
        unit = STATE_UNITS.get(var)
        if isinstance(value, Distribution):
            d = _member(initial, var, order, distribution=type(value).__name__)
            for f in dataclasses.fields(value):
                _data(d, f.name, float(getattr(value, f.name)), unit)
        else:
            _data(initial, _key(var), np.asarray(value, dtype=np.float64), unit).attrs["order"] = order


def _write_source(g: h5py.Group, src) -> None:
    g.attrs["size"] = src.size
    if isinstance(src, PoissonSource):
        g.attrs["kind"] = "poisson"
        _data(g, "rate", src.rate, "Hz")
        if src.rate_dt is not None:
            _data(g, "rate_dt", float(src.rate_dt), "s")
    else:
        g.attrs["kind"] = "spike_source"
        _data(g, "times", src.times, "s")
        _data(g, "indices", src.indices)


def _write_projection(g: h5py.Group, proj: Projection, weight_unit: str) -> None:
    g.attrs.update(pre=proj.pre, post=proj.post, target=proj.target, rule=proj.rule)
    _data(g, "indptr", proj.indptr)
    _data(g, "indices", proj.indices)
    _data(g, "weights", proj.weights, weight_unit)
    if proj.delays is None:  # one step of the run's dt
        g.attrs["delay"] = "one step"
    else:
        delays = np.asarray(proj.delays)  # float32 when drawn from a distribution (compact storage), kept so
        _data(g, "delays", delays if delays.dtype == np.float32 else delays.astype(np.float64), "s")


def _write_network(f: h5py.Group, net: Network) -> None:
    _write_header(f, NETWORK_FORMAT)
    f.attrs.update(dt=net.dt, integration=net.integration, seed=net.seed, name=str(net.name))
    groups = {name: f.create_group(name) for name in _NETWORK_GROUPS}
    for i, pop in enumerate(net.populations.values()):
        _write_population(_member(groups["populations"], pop.name, i), pop)
    for i, src in enumerate(net.sources.values()):
        _write_source(_member(groups["sources"], src.name, i), src)
    for i, proj in enumerate(net.projections.values()):
        _write_projection(_member(groups["projections"], proj.name, i), proj, _weight_unit(net, proj))
    for i, cur in enumerate(net.currents.values()):
        g = _member(groups["currents"], cur.name, i, target=cur.target)
        _data(g, "amplitude", cur.amplitude, "A")
        if cur.sample_dt is not None:
            _data(g, "sample_dt", float(cur.sample_dt), "s")
    for i, probe in enumerate(net.probes.values()):
        g = _member(groups["probes"], probe.name, i, target=probe.target)
        if isinstance(probe, StateProbe):
            g.attrs.update(kind="state", variable=probe.variable, every=int(probe.every))
            _data(g, "neurons", probe.neurons)
        else:
            g.attrs["kind"] = "spikes"


def save_network(network: Network, path) -> None:
    """Write ``network`` to the HDF5 file ``path`` (replaced atomically).

    The network is validated first; nothing is written if it is invalid.
    """
    if not isinstance(network, Network):
        raise TypeError(f"save_network needs a Network, got {type(network).__name__}")
    network.validate()
    _check_savable(network)
    _write_atomic(path, lambda f: _write_network(f, network))


def _write_results(f: h5py.Group, res: Results) -> None:
    _write_header(f, RESULTS_FORMAT)
    f.attrs.update(backend=res.backend, dt=float(res.dt), integration=res.integration, arithmetic=str(res.arithmetic),
                   t_start=float(res.t_start), duration=float(res.duration))
    f.attrs["neuron_populations"] = np.array(list(res.neuron_populations), dtype=h5py.string_dtype())
    f.attrs["spiking_populations"] = np.array(list(res.spiking_populations), dtype=h5py.string_dtype())
    _scalar_map(f, "sizes", {k: int(v) for k, v in res.sizes.items()})
    counts = f.create_group("counts")
    for kind, members in res.counts.items():
        group = counts.create_group(kind)
        for i, (name, values) in enumerate(members.items()):
            _member(group, name, i, **{k: int(v) for k, v in values.items()})
    _scalar_map(f, "counters", res.counters)
    _scalar_map(f, "engine_counters", res.engine_counters)
    spikes = f.create_group("spikes")
    for i, (name, trains) in enumerate(res.spikes.items()):
        g = _member(spikes, name, i, size=int(trains.size))
        _data(g, "times", trains.times, "s")
        _data(g, "indices", trains.indices)
    traces = f.create_group("traces")
    for i, (name, tr) in enumerate(res.traces.items()):
        g = _member(traces, name, i, population=tr.population, variable=tr.variable)
        _data(g, "neurons", tr.neurons)
        _data(g, "times", tr.times, "s")
        _data(g, "values", tr.values, STATE_UNITS.get(tr.variable))


def save_results(results: Results, path) -> None:
    """Write ``results`` to the HDF5 file ``path`` (replaced atomically)."""
    if not isinstance(results, Results):
        raise TypeError(f"save_results needs a Results, got {type(results).__name__}")
    _write_atomic(path, lambda f: _write_results(f, results))


# ---------------------------------------------------------------- reading
class _Reader:
    """Typed access to an open file; every failure is a FileFormatError naming path and item."""

    def __init__(self, path: str, f: h5py.File):
        self.path = path
        self.f = f

    def error(self, item: str, message: str) -> FileFormatError:
        return FileFormatError(f"{self.path}: {item}: {message}")

    def group(self, parent: h5py.Group, key: str) -> h5py.Group:
        obj = parent.get(key)
        if not isinstance(obj, h5py.Group):
            raise self.error(_item(parent, key), "missing group" if obj is None else "expected a group")
        return obj

    def attr(self, obj, key: str, kind: type):
        """Attribute ``key`` of ``obj`` as ``kind`` (str, int or float)."""
        if key not in obj.attrs:
            raise self.error(_item(obj, "") + f"@{key}", "missing attribute")
        value = obj.attrs[key]
        if kind is str and isinstance(value, str):
            return value
        if kind is int and isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
            return int(value)
        if kind is float and isinstance(value, (int, float, np.integer, np.floating)) \
                and not isinstance(value, (bool, np.bool_)):
            return float(value)
        raise self.error(_item(obj, "") + f"@{key}", f"must be {kind.__name__}, got {value!r}")

    def data(self, parent: h5py.Group, key: str, kind: str = "f", ndim: tuple = (0, 1, 2)) -> np.ndarray:
        """Dataset ``key`` of ``parent``; see :meth:`value`."""
        ds = parent.get(key)
        if not isinstance(ds, h5py.Dataset):
            raise self.error(_item(parent, key), "missing dataset" if ds is None else "expected a dataset")
        return self.value(ds, kind, ndim)

    def value(self, ds: h5py.Dataset, kind: str = "f", ndim: tuple = (0, 1, 2)) -> np.ndarray:
        """Content of ``ds`` with ``ndim`` dimensions: kind "f" numbers as float64,
        "s" (synaptic values) float32 kept as stored and other numbers as float64,
        "n" numbers as stored, "i" integers as stored."""
        try:
            value = np.asarray(ds[()])
        except (OSError, RuntimeError, ValueError, TypeError) as exc:
            raise self.error(ds.name, f"cannot read ({exc})") from exc
        if value.ndim not in ndim:
            raise self.error(ds.name, f"must have {' or '.join(map(str, ndim))} dimensions, got shape {value.shape}")
        if value.dtype.kind not in ("iu" if kind == "i" else "iuf"):
            raise self.error(ds.name, f"must hold {'integers' if kind == 'i' else 'numbers'}, got {value.dtype}")
        if kind == "s":
            return value if value.dtype == np.float32 else value.astype(np.float64)
        return value.astype(np.float64) if kind == "f" else value

    def optional_float(self, parent, key):
        return float(self.data(parent, key, ndim=(0,))) if key in parent else None

    def members(self, parent: h5py.Group, key: str) -> list[tuple[str, object]]:
        """``(name, object)`` of the members of group ``key``, in their ``order``."""
        group = self.group(parent, key)
        members = list(group.items())
        for k, obj in members:
            if obj is None:  # h5py gives None for a link it cannot follow (corrupt file)
                raise self.error(_item(group, k), "is a broken link")
        items = [(self.attr(obj, "order", int), _name(k), obj) for k, obj in members]
        return [(name, obj) for _, name, obj in sorted(items, key=lambda t: (t[0], t[1]))]

    def scalar_map(self, parent, key: str) -> dict:
        group = self.group(parent, key)
        out = {}
        for k, v in group.attrs.items():
            if not isinstance(v, (np.integer, np.floating, int, float)) or isinstance(v, (bool, np.bool_)):
                raise self.error(_item(group, "") + f"@{k}", f"must be a number, got {v!r}")
            out[k] = v.item() if isinstance(v, np.generic) else v
        return out


def _scalar_or_array(value: np.ndarray):
    """A float for a 0-d array, else the array."""
    return float(value) if value.ndim == 0 else value


def _item(parent, key: str) -> str:
    base = parent.name.rstrip("/")
    return f"{base}/{key}" if key else (base or "/")


def _read(path, fmt: str, build):
    """Open ``path``, check its header, and return ``build(reader)``."""
    path = os.fspath(path)
    try:
        f = h5py.File(path, "r")
    except FileNotFoundError:
        raise FileFormatError(f"{path}: no such file") from None
    except (OSError, ValueError) as exc:
        raise FileFormatError(f"{path}: not a readable HDF5 file (corrupt, truncated or another format): "
                              f"{exc}") from exc
    try:
        with f:
            reader = _Reader(path, f)
            _check_header(reader, fmt)
            return build(reader)
    except NetworkError as exc:  # a well-formed file holding an invalid network: name the file too
        raise in_file(exc, path) from exc
    except SnnsimError:
        raise
    except (OSError, KeyError, ValueError, TypeError, RuntimeError, IndexError, UnicodeError, AttributeError) as exc:
        raise FileFormatError(f"{path}: cannot read ({type(exc).__name__}: {exc})") from exc


def _check_header(r: _Reader, fmt: str) -> None:
    if "format" not in r.f.attrs:
        raise r.error("/@format", f"missing attribute: not an snnsim file (expected format {fmt!r})")
    found = r.f.attrs["format"]
    if not isinstance(found, str) or found != fmt:
        raise r.error("/@format", f"is {found!r}, expected {fmt!r}")
    version = r.attr(r.f, "format_version", int)
    readable = VERSIONS[fmt][1]
    if version not in readable:
        raise r.error("/@format_version", f"unsupported version {version} (this snnsim reads {list(readable)})")


def _read_model(r: _Reader, g: h5py.Group):
    kind = r.attr(g, "model", str)
    cls = MODELS.get(kind)
    if cls is None:
        raise r.error(_item(g, "") + "@model", f"unknown model {kind!r} (known: {sorted(MODELS)})")
    params = r.group(g, "parameters")
    names = [f.name for f in dataclasses.fields(cls) if f.name != "reset"]
    extra = sorted(set(params) - set(names))
    if extra:
        raise r.error(_item(params, extra[0]), f"is not a parameter of {kind} ({names})")
    kwargs = {p: _scalar_or_array(r.data(params, p, ndim=(0, 1))) for p in names}
    if any(f.name == "reset" for f in dataclasses.fields(cls)):
        kwargs["reset"] = r.attr(g, "reset", str)
    return cls(**kwargs)


def _read_initial(r: _Reader, g: h5py.Group) -> dict:
    initial = {}
    for var, obj in r.members(g, "initial"):
        if isinstance(obj, h5py.Dataset):
            initial[var] = _scalar_or_array(r.value(obj, ndim=(0, 1)))
            continue
        dist = r.attr(obj, "distribution", str)
        cls = DISTRIBUTIONS.get(dist)
        if cls is None:
            raise r.error(_item(obj, "") + "@distribution", f"unknown distribution {dist!r} "
                          f"(known: {sorted(DISTRIBUTIONS)})")
        initial[var] = cls(**{f.name: float(r.data(obj, f.name, ndim=(0,))) for f in dataclasses.fields(cls)})
    return initial


def _read_source(r: _Reader, net: Network, name: str, g: h5py.Group) -> None:
    size = r.attr(g, "size", int)
    kind = r.attr(g, "kind", str)
    if kind == "poisson":
        net.add_poisson(name, size, r.data(g, "rate"), r.optional_float(g, "rate_dt"))
    elif kind == "spike_source":
        net.add_spike_source(name, size, r.data(g, "times", ndim=(1,)), r.data(g, "indices", "i", ndim=(1,)))
    else:
        raise r.error(_item(g, "") + "@kind", f"must be 'poisson' or 'spike_source', got {kind!r}")


def _read_projection(r: _Reader, name: str, g: h5py.Group) -> Projection:
    one_step = g.attrs.get("delay") == "one step" and "delays" not in g
    delays = None if one_step else _scalar_or_array(r.data(g, "delays", "s", ndim=(0, 1)))
    return Projection(name, r.attr(g, "pre", str), r.attr(g, "post", str), r.attr(g, "target", str),
                      r.data(g, "indptr", "i", ndim=(1,)), r.data(g, "indices", "i", ndim=(1,)),
                      _scalar_or_array(r.data(g, "weights", "s", ndim=(0, 1))), delays, rule=r.attr(g, "rule", str))


def _read_probe(r: _Reader, net: Network, name: str, g: h5py.Group) -> None:
    kind, target = r.attr(g, "kind", str), r.attr(g, "target", str)
    if kind == "spikes":
        net.probe_spikes(target, name=name)
    elif kind == "state":
        net.probe_state(target, r.attr(g, "variable", str), r.data(g, "neurons", "i", ndim=(1,)),
                        r.attr(g, "every", int), name=name)
    else:
        raise r.error(_item(g, "") + "@kind", f"must be 'spikes' or 'state', got {kind!r}")


def _build_network(r: _Reader) -> Network:
    f = r.f
    integration = r.attr(f, "integration", str)
    if integration in ("loihi", "loihi_float"):  # written before the arithmetic became a run option
        import warnings
        warnings.warn(f"{r.path}: integration {integration!r} is an arithmetic now; the network is read with the "
                      f"physics 'exact' (what the Loihi mapping used); run it with arithmetic="
                      f"{'loihi_fixed' if integration == 'loihi' else 'loihi_float'!r}", DeprecationWarning)
        integration = "exact"
    net = Network(dt=r.attr(f, "dt", float), integration=integration,
                  seed=r.attr(f, "seed", int), name=r.attr(f, "name", str))
    for name, g in r.members(f, "populations"):
        net.add_population(name, r.attr(g, "size", int), _read_model(r, g), _read_initial(r, g))
    for name, g in r.members(f, "sources"):
        _read_source(r, net, name, g)
    for name, g in r.members(f, "projections"):
        net.projections[name] = _read_projection(r, name, g)
    for name, g in r.members(f, "currents"):
        net.add_current(name, r.attr(g, "target", str), r.data(g, "amplitude"), r.optional_float(g, "sample_dt"))
    for name, g in r.members(f, "probes"):
        _read_probe(r, net, name, g)
    return net.validate()


def load_network(path) -> Network:
    """Read a network written by :func:`save_network`.

    Raises FileFormatError if ``path`` is missing, not HDF5, truncated, not an snnsim
    network file or lacks an item; NetworkError if the network it holds is invalid.
    """
    return _read(path, NETWORK_FORMAT, _build_network)


def _build_results(r: _Reader) -> Results:
    f = r.f
    neuron_pops = f.attrs.get("neuron_populations")
    if neuron_pops is None:
        raise r.error("/@neuron_populations", "missing attribute")
    version = r.attr(f, "format_version", int)
    res = Results(r.attr(f, "backend", str), r.attr(f, "dt", float), r.attr(f, "integration", str),
                  r.attr(f, "arithmetic" if version >= 2 else "dtype", str), r.attr(f, "t_start", float),
                  r.attr(f, "duration", float), r.scalar_map(f, "sizes"),
                  neuron_populations=tuple(str(n) for n in np.atleast_1d(neuron_pops)),
                  spiking_populations=tuple(str(n) for n in np.atleast_1d(f.attrs.get("spiking_populations", []))))
    res.counters = r.scalar_map(f, "counters")
    if version >= 2:
        counts = r.group(f, "counts")
        for kind, names in (("populations", ("neuron_updates", "spikes")), ("projections", ("syn_events",)),
                            ("sources", ("spikes",))):
            res.counts[kind] = {name: {key: r.attr(g, key, int) for key in names}
                                for name, g in r.members(counts, kind)}
        res.engine_counters = r.scalar_map(f, "engine_counters")
    else:  # version 1 kept spikes per group only (and no per-projection events)
        steps = int(res.counters.get("steps", 0))
        for name, n in r.scalar_map(f, "spike_counts").items():
            if name in res.neuron_populations:
                res.counts["populations"][name] = {"neuron_updates": steps * int(res.sizes[name]), "spikes": int(n)}
            else:
                res.counts["sources"][name] = {"spikes": int(n)}
    for name, g in r.members(f, "spikes"):
        res.spikes[name] = SpikeTrains(r.data(g, "times", ndim=(1,)), r.data(g, "indices", "i", ndim=(1,)),
                                       r.attr(g, "size", int))
    for name, g in r.members(f, "traces"):
        res.traces[name] = Trace(r.attr(g, "population", str), r.attr(g, "variable", str),
                                 r.data(g, "neurons", "i", ndim=(1,)), r.data(g, "times", ndim=(1,)),
                                 r.data(g, "values", "n", ndim=(2,)))
    from snnsim.io.results_checks import check_results
    check_results(res, r.error)
    return res


def load_results(path) -> Results:
    """Read results written by :func:`save_results`; raises FileFormatError like :func:`load_network`."""
    return _read(path, RESULTS_FORMAT, _build_results)
