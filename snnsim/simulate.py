"""``simulate``: run a network on a backend chosen by name.

The mapping below is the whole list of backends; each is imported only when used,
so the description layer never depends on a backend.
"""

from __future__ import annotations

import importlib

from snnsim.errors import NetworkError
from snnsim.network import Network
from snnsim.results import Results

BACKENDS = {"cpu": "snnsim.backends.cpu", "event": "snnsim.backends.event", "lava": "snnsim.backends.lava"}


def backend_module(name: str):
    """The module implementing backend ``name``."""
    if name not in BACKENDS:
        raise NetworkError("run", "backend", f"must be one of {sorted(BACKENDS)}, got {name!r}")
    return importlib.import_module(BACKENDS[name])


def simulate(network: Network, duration: float, *, backend: str = "cpu", dt: float | None = None,
             integration: str | None = None, dtype: str = "float32", progress: bool | None = None) -> Results:
    """Run ``network`` for ``duration`` seconds and return its :class:`~snnsim.results.Results`."""
    return backend_module(backend).run(network, duration, dt=dt, integration=integration, dtype=dtype,
                                       progress=progress)
