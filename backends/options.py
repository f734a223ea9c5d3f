"""How a Simulator runs a network: ``RunOptions`` and their checks, old spellings mapped.
Installed as ``snnsim.backends.options``; ``snnsim.backends.base`` re-exports it."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from snnsim.errors import NetworkError
from snnsim.network import check_dt

from .capabilities import ARITHMETICS, INTEGRATIONS, Capabilities, _able

@dataclass
class RunOptions:
    """How a Simulator runs a network.

    ``dt`` (s, default the network's); ``integration``: the physics scheme, default the
    network's (``exact`` or ``euler``); ``arithmetic``: ``float32``, ``float64``, ``loihi_fixed``
    or ``loihi_float`` (default the engine's first); ``device`` (``cpu``, ``cuda``);
    ``progress``: a progress bar (None: on a terminal for long runs); ``engine``: the engine's
    own options (``Capabilities.options``).
    """

    dt: float | None = None
    integration: str | None = None
    arithmetic: str | None = None
    device: str = "cpu"
    progress: bool | None = None
    engine: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


_DEPRECATED_INTEGRATION = {"loihi": "loihi_fixed", "loihi_float": "loihi_float"}


def resolve_options(name: str, caps: Capabilities, options=None, kwargs: dict | None = None) -> RunOptions:
    """``options`` (a :class:`RunOptions`, a dict or None) with ``kwargs`` applied, old
    spellings mapped (with a DeprecationWarning) and every value checked against ``caps``."""
    where = f"{name} engine"
    if options is None:
        opts = RunOptions()
    elif isinstance(options, RunOptions):
        opts = dataclasses.replace(options, engine=dict(options.engine))
    elif isinstance(options, Mapping):
        opts = RunOptions()
        kwargs = {**options, **(kwargs or {})}
    else:
        raise NetworkError(where, "options", f"must be RunOptions, a dict or None, got {options!r}")
    own = dict(caps.options)
    for key, value in (kwargs or {}).items():
        if key == "dtype":  # old spelling of the float arithmetic
            if value is None:
                continue
            warnings.warn("dtype= is deprecated: use arithmetic='float32' or 'float64'", DeprecationWarning,
                          stacklevel=4)
            key, value = "arithmetic", np.dtype(value).name if not isinstance(value, str) else value
        if key == "integration" and value in _DEPRECATED_INTEGRATION:
            warnings.warn(f"integration={value!r} is deprecated: the integration scheme is physics "
                          f"(exact, euler); use arithmetic={_DEPRECATED_INTEGRATION[value]!r}",
                          DeprecationWarning, stacklevel=4)
            key, value = "arithmetic", _DEPRECATED_INTEGRATION[value]
        if key == "fixed_point":  # the Lava backend's old switch
            if value is None:
                continue
            warnings.warn("fixed_point= is deprecated: use arithmetic='loihi_fixed' (or 'loihi_float')",
                          DeprecationWarning, stacklevel=4)
            key, value = "arithmetic", "loihi_fixed" if value else "loihi_float"
        if key in ("dt", "integration", "arithmetic", "device", "progress"):
            if value is not None or key == "progress":
                setattr(opts, key, value)
        elif key in own:
            opts.engine[key] = value
        else:
            known = ["dt", "integration", "arithmetic", "device", "progress", *own]
            raise NetworkError(where, key, f"is not an option of the {name} engine (options: {known})")
    for key in own:
        opts.engine.setdefault(key, own[key])
    unknown = set(opts.engine) - set(own)
    if unknown:
        raise NetworkError(where, sorted(unknown)[0], f"is not an option of the {name} engine (its own: {sorted(own)})")
    if opts.dt is not None:
        opts.dt = check_dt(opts.dt, "run")
    if opts.integration is not None and opts.integration not in INTEGRATIONS:
        raise NetworkError("run", "integration", f"must be one of {INTEGRATIONS} (the physics; the arithmetic "
                           f"is a separate option), got {opts.integration!r}")
    if opts.arithmetic is None:
        opts.arithmetic = caps.arithmetics[0]
    if opts.arithmetic not in ARITHMETICS:
        raise NetworkError("run", "arithmetic", f"must be one of {ARITHMETICS}, got {opts.arithmetic!r}")
    if opts.arithmetic not in caps.arithmetics:
        able = _able(lambda c: opts.arithmetic in c.arithmetics)
        raise NetworkError(where, "arithmetic", f"the {name} engine computes in {caps.arithmetics}, not "
                           f"{opts.arithmetic!r}; engines that do: {able}")
    if opts.device not in caps.devices and not (opts.device.startswith("cuda") and "cuda" in caps.devices):
        able = _able(lambda c: opts.device.split(":")[0] in c.devices)
        raise NetworkError(where, "device", f"the {name} engine runs on {caps.devices}, not {opts.device!r}; "
                           f"engines that do: {able}")
    return opts
