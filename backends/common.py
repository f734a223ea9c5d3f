"""What every simulation backend's ``Simulator`` shares: argument checks and the compile notice."""

from __future__ import annotations

import contextlib
import sys
import threading

import numpy as np

from snnsim.errors import NetworkError
from snnsim.network import Network


def check_duration(duration) -> float:
    """``duration`` (s) as a finite float >= 0, or a NetworkError naming it."""
    try:
        duration = float(duration)
    except (TypeError, ValueError):
        raise NetworkError("run", "duration", f"must be a number of seconds, got {duration!r}") from None
    if not np.isfinite(duration) or duration < 0:
        raise NetworkError("run", "duration", f"must be finite and >= 0 s, got {duration!r}")
    return duration


def structure_of(net: Network) -> tuple:
    """What a Simulator freezes when it lowers a network: the names of all its parts."""
    return tuple(tuple(part) for part in (net.populations, net.sources, net.projections, net.currents, net.probes))


def check_unchanged(net: Network, frozen: tuple) -> None:
    """Refuse to continue a Simulator whose network gained or lost parts since it was built."""
    if structure_of(net) != frozen:
        raise NetworkError("run", "network", "was changed (populations, sources, projections, currents or "
                           "probes) after this Simulator was built; build a new Simulator")


@contextlib.contextmanager
def compile_notice(progress: bool | None, after_s: float = 1.0):
    """Tell an interactive user why the first run waits: Numba compiles the kernels once."""
    show = progress if progress is not None else sys.stderr.isatty()
    timer = threading.Timer(after_s, lambda: print(
        "snnsim: compiling the simulation kernels (first run only; later runs load them from the cache) ...",
        file=sys.stderr, flush=True)) if show else None
    if timer is not None:
        timer.daemon = True
        timer.start()
    try:
        yield
    finally:
        if timer is not None:
            timer.cancel()
