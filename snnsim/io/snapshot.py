"""Simulator snapshots in HDF5: the network, the run options, the engine's state and the results
recorded so far, in one file written atomically (``Simulator.save`` / ``snnsim.load_simulator``).

Layout: root attributes ``format = "snnsim.snapshot"``, ``format_version``, ``snnsim_version``,
``engine``, ``t`` (s), ``step`` and ``meta`` (JSON notes, such as the duration a command asked
for); group ``network`` (the layout of a network file), group
``options`` (attributes ``dt``, ``integration``, ``arithmetic``, ``device``, ``engine`` as JSON),
group ``internals`` (one dataset per engine state array) and, once something ran, group
``results`` (the layout of a results file). A process killed while a snapshot is written leaves
the previous snapshot whole (temporary file, fsync, rename). This module knows no engine: it
stores what the engine hands it.
"""

from __future__ import annotations

import json

import h5py
import numpy as np

from snnsim.errors import FileFormatError
from snnsim.io.hdf5 import (NETWORK_FORMAT, RESULTS_FORMAT, _build_network, _build_results, _check_header,
                            _check_savable, _read, _Reader, _write_atomic, _write_header, _write_network,
                            _write_results)
from snnsim.results import Results

SNAPSHOT_FORMAT = "snnsim.snapshot"
_OPTION_KEYS = ("dt", "integration", "arithmetic", "device")
#: a snapshot holds results and a network in their own formats (see snnsim.io.hdf5.VERSIONS)


def write_snapshot(path, engine: str, network, options: dict, t: float, step: int, internals: dict,
                   segments: list, meta: dict | None = None) -> None:
    """Write one snapshot file atomically (see the module doc)."""
    network.validate()
    _check_savable(network)
    results = Results.concatenate(segments) if segments else None

    def fill(f: h5py.File) -> None:
        _write_header(f, SNAPSHOT_FORMAT)
        f.attrs.update(engine=engine, t=float(t), step=int(step), meta=json.dumps(meta or {}))
        _write_network(f.create_group("network"), network)
        opts = f.create_group("options")
        for key in _OPTION_KEYS:
            if options.get(key) is not None:
                opts.attrs[key] = options[key]
        opts.attrs["engine"] = json.dumps(options.get("engine", {}))
        group = f.create_group("internals")
        for key, value in internals.items():
            group.create_dataset(key, data=np.asarray(value))
        if results is not None:
            _write_results(f.create_group("results"), results)
    _write_atomic(path, fill)


def read_snapshot(path) -> dict:
    """``{"engine", "t", "step", "network", "options", "internals", "results"}`` of a snapshot file;
    FileFormatError naming the file and the item for anything missing or malformed."""
    def build(r: _Reader) -> dict:
        f = r.f
        sub = lambda key, fmt: _nested(r, key, fmt)  # noqa: E731
        opts = r.group(f, "options")
        options = {key: opts.attrs[key].item() if isinstance(opts.attrs[key], np.generic) else opts.attrs[key]
                   for key in _OPTION_KEYS if key in opts.attrs}
        try:
            options["engine"] = json.loads(r.attr(opts, "engine", str))
        except json.JSONDecodeError as exc:
            raise r.error("/options@engine", f"is not JSON ({exc})") from None
        internals = {key: r.value(ds, "n", ndim=(0, 1, 2, 3)) for key, ds in r.group(f, "internals").items()}
        try:
            meta = json.loads(r.attr(f, "meta", str))
        except json.JSONDecodeError as exc:
            raise r.error("/@meta", f"is not JSON ({exc})") from None
        return {"engine": r.attr(f, "engine", str), "t": r.attr(f, "t", float), "step": r.attr(f, "step", int),
                "meta": meta,
                "network": _build_network(sub("network", NETWORK_FORMAT)), "options": options,
                "internals": internals,
                "results": _build_results(sub("results", RESULTS_FORMAT)) if "results" in f else None}
    return _read(path, SNAPSHOT_FORMAT, build)


def _nested(r: _Reader, key: str, fmt: str) -> _Reader:
    """A reader of the group ``key``, which has the layout (and header) of a ``fmt`` file."""
    group = r.group(r.f, key)
    nested = _Reader(r.path, group)
    try:
        _check_header(nested, fmt)
    except FileFormatError as exc:
        raise r.error(f"/{key}", str(exc).split(": ", 1)[-1]) from None
    return nested
