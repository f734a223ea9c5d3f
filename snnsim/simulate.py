"""``simulate``: run a network on an engine chosen by name; ``load_simulator``: continue a saved one.

The engines are listed in ``snnsim.backends.base.REGISTRY``; each is imported only when used,
so the description layer never depends on an engine.
"""

from __future__ import annotations

from snnsim.network import Network
from snnsim.results import Results


def engine_names() -> list[str]:
    """The registered engines."""
    from snnsim.backends.base import REGISTRY
    return list(REGISTRY)


def simulator(network: Network, backend: str = "cpu", options=None, **kwargs):
    """A ``Simulator`` of engine ``backend`` for ``network`` (options: ``snnsim.backends.base.RunOptions``
    or keywords: ``dt``, ``integration``, ``arithmetic``, ``device``, ``progress``, the engine's own)."""
    from snnsim.backends.base import engine_module
    return engine_module(backend).Simulator(network, options, **kwargs)


def simulate(network: Network, duration: float, *, backend: str = "cpu", options=None, **kwargs) -> Results:
    """Run ``network`` for ``duration`` seconds on ``backend`` and return its :class:`~snnsim.results.Results`
    (``wall_s`` includes building the engine)."""
    progress = kwargs.pop("progress", None)
    with simulator(network, backend, options, **kwargs) as sim:
        results = sim.run(duration, progress=progress)
    results.counters["wall_s"] += sim.build_s
    return results


def load_simulator(path):
    """The Simulator saved by ``Simulator.save(path)``, restored to where it was: its next
    ``run`` continues exactly (bit-identical spikes and traces) the run that was saved."""
    from snnsim.backends.base import RunOptions, engine_module
    from snnsim.io.snapshot import read_snapshot
    snap = read_snapshot(path)
    options = RunOptions(**snap["options"])
    sim = engine_module(snap["engine"]).Simulator(snap["network"], options)
    sim.load_snapshot(snap)
    return sim
