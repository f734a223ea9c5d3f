"""``replicate``: many independent copies of a network side by side in one description.

Running ``B`` samples through a small network one run at a time costs ``B`` start-ups
(for Lava, ``B`` compilations); one network of ``B`` disconnected copies costs one.
Copy ``b`` of population ``p`` is neurons ``b*n .. (b+1)*n-1`` of ``p``; projections
become block-diagonal. Sources, currents and probes are not copied: the caller adds the
inputs of each copy (see :func:`snnsim.training.classify.engine_scores`).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.sparse as sp

from snnsim.errors import NetworkError
from snnsim.network import Network


def _tiled_model(model, copies: int):
    changes = {f.name: np.tile(getattr(model, f.name), copies) for f in dataclasses.fields(model)
               if isinstance(getattr(model, f.name), np.ndarray) and np.ndim(getattr(model, f.name)) == 1}
    return dataclasses.replace(model, **changes)


def replicate(network: Network, copies: int, *, sources: dict[str, int] | None = None) -> Network:
    """``copies`` disconnected copies of ``network``'s populations and projections.

    ``sources`` maps a source name to its size per copy: a placeholder spike source of
    ``copies * size`` neurons (no spikes) is declared for it, for the caller to replace.
    Projections must have one delay for all synapses (or the default).
    """
    network.validate()
    if int(copies) != copies or copies < 1:
        raise NetworkError("replicate", "copies", f"must be a positive integer, got {copies!r}")
    out = Network(dt=network.dt, integration=network.integration, seed=network.seed,
                  name=f"{network.name}x{copies}")
    for name, size in (sources or {}).items():
        out.add_spike_source(name, copies * size, [])
    for name, pop in network.populations.items():
        initial = {}
        for var, value in pop.initial_state(network.seed).items():
            initial[var] = np.tile(value, copies)
        out.add_population(name, pop.size * copies, _tiled_model(pop.model, copies), initial=initial)
    for name, proj in network.projections.items():
        if proj.delays is not None and np.ndim(proj.delays) > 0 and len(np.unique(proj.delays)) > 1:
            raise NetworkError(proj.where, "delay", "replicate needs one delay for all synapses of a projection")
        n_pre, n_post = network.node(proj.pre).size, network.node(proj.post).size
        pre = np.repeat(np.arange(n_pre), np.diff(proj.indptr))
        w = np.broadcast_to(np.asarray(proj.weights, np.float64), (proj.n_synapses,))
        block = sp.coo_matrix((w, (proj.indices.astype(np.int64), pre)), shape=(n_post, n_pre)).tocsr()
        delay = None if proj.delays is None else float(np.atleast_1d(proj.delays)[0])
        out.connect(proj.pre, proj.post, sp.block_diag([block] * copies, format="csr"), delay=delay,
                    target=proj.target, name=name)
    return out
