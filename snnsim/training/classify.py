"""Train a network on a classification task and check it on the CPU engine.

Glue between the encoders, the torch backend, the decoders and the trainer, used by
``snnsim train`` and the examples. The network's input node is ``input`` (a spike source,
or an LIF population for direct current coding) and its readout is ``output``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from snnsim.errors import NetworkError
from snnsim.network import Network
from snnsim.training.decoders import DECODERS
from snnsim.training.encoders import direct_current, latency, poisson_rate


@dataclass(frozen=True)
class Encoding:
    """How features in ``[0, 1]`` become input: ``poisson`` (``max_rate`` Hz), ``latency`` or
    ``current`` (``gain`` A per unit feature), over ``steps`` steps."""

    kind: str = "poisson"
    steps: int = 30
    max_rate: float = 200.0
    gain: float = 2.0

    def check(self) -> "Encoding":
        if self.kind not in ("poisson", "latency", "current"):
            raise NetworkError("encoding", "kind", f"must be 'poisson', 'latency' or 'current', got {self.kind!r}")
        if not isinstance(self.steps, int) or self.steps < 1:
            raise NetworkError("encoding", "steps", f"must be a positive integer, got {self.steps!r}")
        return self


def encode(enc: Encoding, x, dt: float, generator: torch.Generator | None, dtype=torch.float32) -> dict:
    """Keyword arguments of ``TorchNetwork.forward`` for features ``x (B, n)``."""
    x = torch.as_tensor(np.asarray(x), dtype=dtype)
    if enc.kind == "poisson":
        return {"inputs": {"input": poisson_rate(x, enc.steps, dt, enc.max_rate, generator)}}
    if enc.kind == "latency":
        return {"inputs": {"input": latency(x, enc.steps)}}
    return {"inputs": {}, "currents": {"input": direct_current(x, enc.steps, enc.gain)}}


def make_step(enc: Encoding, decoder: str = "max", readout: str = "output"):
    """The trainer's ``step``: encode, run, decode, cross-entropy."""
    if decoder not in DECODERS:
        raise NetworkError("classifier", "decoder", f"must be one of {sorted(DECODERS)}, got {decoder!r}")
    fn, which = DECODERS[decoder]

    def step(model, x, y, generator):
        dtype = next(model.parameters()).dtype
        out = model(**encode(enc, x, model.dt, generator, dtype))
        scores = fn(getattr(out, which)[readout])
        check_labels(y, scores.shape[1])
        return torch.nn.functional.cross_entropy(scores, y), scores
    return step


def check_labels(y, n_classes: int) -> None:
    """Refuse class labels outside ``[0, n_classes)`` (the readout's size) with a NetworkError."""
    y = torch.as_tensor(y)
    if y.numel() and (int(y.min()) < 0 or int(y.max()) >= n_classes):
        bad = int(y.min()) if int(y.min()) < 0 else int(y.max())
        raise NetworkError("classifier", "labels", f"must lie in [0, {n_classes}) (the readout has {n_classes} "
                           f"neurons), got label {bad}")


def torch_scores(model, enc: Encoding, x, decoder: str, generator, readout: str = "output",
                 batch_size: int = 256) -> np.ndarray:
    """Class scores ``(n, classes)`` of the torch forward pass; the inputs come from ``generator``."""
    fn, which = DECODERS[decoder]
    dtype = next(model.parameters()).dtype
    out = []
    with torch.no_grad():
        for lo in range(0, len(x), batch_size):
            o = model(**encode(enc, x[lo:lo + batch_size], model.dt, generator, dtype))
            out.append(fn(getattr(o, which)[readout]).double().numpy())
    return np.concatenate(out)


def engine_scores(network: Network, enc: Encoding, x, decoder: str, generator, *, readout: str = "output",
                  backend: str = "cpu", arithmetic: str | None = None, batch_size: int = 256,
                  copies: int = 1, dtype: str | None = None, integration: str | None = None) -> np.ndarray:
    """Class scores from running each sample on a simulation engine (the same inputs as
    :func:`torch_scores` with an identically seeded ``generator``), in ``arithmetic`` (default
    the engine's; ``dtype`` and ``integration="loihi"`` are the deprecated spellings).

    ``copies > 1`` runs that many samples at once, as disconnected copies of the network
    in one run (:func:`snnsim.replicate.replicate`): one start-up per ``copies`` samples,
    which is what makes the Lava backend usable here. Spike-coded inputs only.
    """
    import copy

    fn, which = DECODERS[decoder]
    dt = network.dt
    run = {"backend": backend, "arithmetic": arithmetic}
    for key, value in (("dtype", dtype), ("integration", integration)):
        if value is not None:
            run[key] = value   # mapped (with a DeprecationWarning) by the engine's options
    if copies > 1:
        return _replicated_scores(network, enc, x, fn, which, generator, readout, run, batch_size, copies)
    scores = []
    for lo in range(0, len(x), batch_size):
        kwargs = encode(enc, x[lo:lo + batch_size], dt, generator, torch.float64)
        for b in range(len(x[lo:lo + batch_size])):
            net = copy.copy(network)
            net.sources = dict(network.sources)
            net.currents = dict(network.currents)
            net.probes = {}
            if "input" in kwargs["inputs"]:
                s = kwargs["inputs"]["input"][:, b].numpy()
                k, i = np.nonzero(s)
                del net.sources["input"]
                net.add_spike_source("input", s.shape[1], k * dt, i)
            else:
                amp = kwargs["currents"]["input"][0, b].numpy()
                net.add_current("encoded", "input", amp)
            scores.append(_decoded(net, enc, fn, which, readout, 1, run)[0])
    return np.stack(scores)


def _decoded(net: Network, enc: Encoding, fn, which: str, readout: str, copies: int, run: dict) -> np.ndarray:
    """Record the readout, run ``net`` for one sample's steps and decode: ``(copies, n_out)`` scores."""
    from snnsim.simulate import simulate
    if which == "v":
        net.probe_state(readout, "v")
    else:
        net.probe_spikes(readout)
    res = simulate(net, enc.steps * net.dt, progress=False, **run)
    n_out = net.populations[readout].size // copies
    if which == "v":
        v = res.traces[f"{readout}.v"].values[1:]   # drop t = 0: one sample per step end
        return np.asarray(fn(v.reshape(-1, copies, n_out)), np.float64)
    return res.spikes[readout].counts().astype(np.float64).reshape(copies, n_out)


def _replicated_scores(network, enc, x, fn, which, generator, readout, run, batch_size, copies):
    from snnsim.replicate import replicate
    if "input" not in network.sources:
        raise NetworkError("classifier", "copies", "running copies side by side needs a spike-coded 'input'")
    dt, n_in = network.dt, network.sources["input"].size
    scores = []
    for lo in range(0, len(x), batch_size):
        spikes = encode(enc, x[lo:lo + batch_size], dt, generator, torch.float64)["inputs"]["input"].numpy()
        for c0 in range(0, spikes.shape[1], copies):
            chunk = spikes[:, c0:c0 + copies]              # (T, b, n_in)
            b = chunk.shape[1]
            net = replicate(network, b, sources={"input": n_in})
            k, j, i = np.nonzero(chunk)
            del net.sources["input"]
            net.add_spike_source("input", b * n_in, k * dt, j * n_in + i)
            scores.append(_decoded(net, enc, fn, which, readout, b, run))
    return np.concatenate(scores)
