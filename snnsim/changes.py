"""What changed in a network since an engine last looked: the change watch of every Simulator.

The description stores its arrays read-only (see :mod:`snnsim.network`), so a change is always
an assignment of a new value (``proj.weights = w``, ``pop.model = replace(pop.model, v_th=...)``,
``Network.set_rate(...)``). :func:`values_of` records, per part of the network, the objects its
changeable fields hold; :func:`diff` compares two records by identity (numbers and strings by
value), in time proportional to the number of parts, not to their size.

Kinds of change (what an engine declares it applies between runs, ``Capabilities.changes``):

- ``parameters``: a population's model replaced by one of the same kind and state variables
- ``weights``, ``delays``: a projection's weights or delays
- ``rates``: a Poisson source's rate or rate interval
- ``spike_times``: a spike source's times or indices
- ``currents``: a current's amplitude or interval, or a current added or removed
- ``probes``: a probe added, removed or changed
- ``initial``: a population's initial state (meaningful only before the first step)
- ``structure``: anything else (parts added or removed, sizes, model kinds, connectivity,
  targets, ``dt``, seed or integration scheme): never applied; build a new Simulator.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from snnsim.network import Network, PoissonSource

KINDS = ("parameters", "weights", "delays", "rates", "spike_times", "currents", "probes", "initial", "structure")


@dataclass(frozen=True)
class Change:
    """One change: its ``kind`` (see module doc), the object (``where``, e.g. ``"projection 'a->b'"``),
    the ``field`` that changed, and the part's ``group`` and ``name`` in the network."""

    kind: str
    where: str
    field: str
    group: str
    name: str


def _probe_values(probe) -> tuple:
    return tuple(getattr(probe, f) for f in ("target", "variable", "neurons", "every") if hasattr(probe, f)) \
        + (type(probe),)


def values_of(net: Network) -> dict:
    """The objects every changeable field of ``net`` holds, part by part (no copies)."""
    return {
        "network": {"network": (("dt", net.dt), ("seed", net.seed), ("integration", net.integration))},
        "populations": {n: (("size", p.size), ("model", p.model), ("initial", tuple(p.initial.items())))
                        for n, p in net.populations.items()},
        "sources": {n: ((("kind", type(s)), ("size", s.size), ("rate", s.rate), ("rate_dt", s.rate_dt))
                        if isinstance(s, PoissonSource) else
                        (("kind", type(s)), ("size", s.size), ("times", s.times), ("indices", s.indices)))
                    for n, s in net.sources.items()},
        "projections": {n: (("pre", p.pre), ("post", p.post), ("target", p.target), ("indptr", p.indptr),
                            ("indices", p.indices), ("weights", p.weights), ("delays", p.delays))
                        for n, p in net.projections.items()},
        "currents": {n: (("target", c.target), ("amplitude", c.amplitude), ("sample_dt", c.sample_dt))
                     for n, c in net.currents.items()},
        "probes": {n: (("probe", _probe_values(p)),) for n, p in net.probes.items()},
    }


def _same(a, b, by_value: bool = False) -> bool:
    """Identity for arrays, models and distributions (or their content with ``by_value``);
    equality for numbers, strings, types and None."""
    if a is b:
        return True
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_same(x, y, by_value) for x, y in zip(a, b))
    if by_value:
        if isinstance(a, (np.ndarray, np.generic, int, float)) and isinstance(b, (np.ndarray, np.generic, int, float)):
            return np.shape(a) == np.shape(b) and bool(np.array_equal(a, b))
        if dataclasses.is_dataclass(a) and type(a) is type(b):
            return all(_same(getattr(a, f.name), getattr(b, f.name), True) for f in dataclasses.fields(a))
    if isinstance(a, (np.ndarray, np.generic)) or isinstance(b, (np.ndarray, np.generic)):
        return False
    if isinstance(a, (int, float, str, type, type(None))) and isinstance(b, (int, float, str, type, type(None))):
        return type(a) is type(b) and a == b
    return False


_WHERE = {"network": "network", "populations": "population", "sources": "source", "projections": "projection",
          "currents": "current", "probes": "probe"}


def _kind(group: str, field: str, old_model=None, new_model=None) -> str:
    if group == "populations":
        if field == "model":
            same_kind = type(old_model) is type(new_model) and \
                tuple(old_model.state_variables) == tuple(new_model.state_variables)
            return "parameters" if same_kind else "structure"
        return "initial" if field == "initial" else "structure"
    if group == "sources":
        if field in ("rate", "rate_dt"):
            return "rates"
        return "spike_times" if field in ("times", "indices") else "structure"
    if group == "projections":
        return field if field in ("weights", "delays") else "structure"
    if group == "currents":
        return "currents" if field in ("amplitude", "sample_dt") else "structure"
    if group == "probes":
        return "probes"
    return "structure"


def diff(old: dict, new: dict, by_value: bool = False) -> list[Change]:
    """Every difference between two :func:`values_of` records, as :class:`Change` s; ``by_value``
    compares the content of arrays and models (for records of two different networks)."""
    out = []
    for group, parts in new.items():
        before = old.get(group, {})
        label = _WHERE[group]
        for name in before.keys() - parts.keys():
            kind = "currents" if group == "currents" else "probes" if group == "probes" else "structure"
            out.append(Change(kind, f"{label} {name!r}", "removed", group, name))
        for name, fields in parts.items():
            where = f"{label} {name!r}" if group != "network" else "network"
            if name not in before:
                kind = "currents" if group == "currents" else "probes" if group == "probes" else "structure"
                out.append(Change(kind, where, "added", group, name))
                continue
            old_fields = dict(before[name])
            for field, value in fields:
                if not _same(old_fields.get(field), value, by_value):
                    kind = _kind(group, field, old_fields.get(field), value)
                    out.append(Change(kind, where, field, group, name))
    return out


def names_by_group(changes: list[Change]) -> dict:
    """``{group: {names}}`` of the parts that changed (what :func:`snnsim.plan.replan` takes)."""
    out: dict = {}
    for c in changes:
        out.setdefault(c.group, set()).add(c.name)
    return out
