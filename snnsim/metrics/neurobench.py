"""NeuroBench (PyPI ``neurobench``) figures of a trained network, to set beside :func:`run_metrics`.

NeuroBench measures a torch model by hooking its layers: the inputs of every ``nn.Linear`` call
(synaptic operations) and the outputs of every activation module (activation sparsity), one call
per time step. :class:`SteppedNetwork` runs a :class:`~snnsim.backends.torch.TorchNetwork` that way:
one call per step, each projection an ``nn.Linear`` (no bias) holding its masked weights, each
spiking population a :class:`SpikingPopulation` module whose output is its spikes, with the same
step arithmetic (:func:`snnsim.core.neurons.lif_step`) and the same delays as the engines.

Definitions side by side (``docs/bench.md``):

- NeuroBench's effective ACs per sample = the non-zero inputs of each linear layer times the
  non-zero weights they meet, summed over steps; ours: ``syn_events`` (spikes times stored synapses).
  They agree when no stored synapse has a zero weight.
- NeuroBench's dense SynOps = ``n_in * n_out`` per layer call; ours: ``dense_macs``.
- Activation sparsity: zero outputs over all outputs of the spiking populations (a readout ``LI``
  is not an activation); ours: ``1 - spikes / neuron_updates`` over the same populations.
- Connection sparsity: zero weights over all weights of the linear layers; ours:
  ``1 - synapses / (n_pre * n_post)`` summed over projections.
- Footprint differs by definition: NeuroBench counts the module's dense parameters and buffers,
  ours the engine's sparse storage (``run_metrics``), so it is reported, not compared.
"""

from __future__ import annotations

import torch
from torch import nn

from snnsim.core.neurons import lif_step
from snnsim.errors import NetworkError


class SpikingPopulation(nn.Module):
    """One population's step: ``forward(x)`` takes the input arriving this step ``(B, N)`` and
    returns the spikes ``(B, N)``; ``v`` and ``i`` are kept between calls."""

    def __init__(self, layer):
        super().__init__()
        self.layer = layer
        self.state = None

    def reset(self) -> None:
        self.state = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.state is None:
            self.state = self.layer.initial_state(x.shape[0])
        z, _, self.state = lif_step(self.state, x, self.layer.coefficients(), self.layer.dyn,
                                    ref_steps=self.layer.ref_steps)
        return z


class Readout(SpikingPopulation):
    """A population that never fires (``LI``): returns its membrane ``v`` (B, N)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        super().forward(x)
        return self.state.v


class SteppedNetwork(nn.Module):
    """``model`` (a feed-forward TorchNetwork with one input source) one time step per call.

    ``forward(x)``: the source's spikes at this step ``(B, n_in)``; returns ``(v_out, None)`` with the
    last population's ``v`` (the calling convention of NeuroBench's ``SNNTorchModel``)."""

    def __init__(self, model):
        super().__init__()
        net = model.network
        if len(net.sources) != 1:
            raise NetworkError("neurobench", "network", f"needs exactly one input source, got {sorted(net.sources)}")
        self.source = next(iter(net.sources))
        self.order = list(model.order)
        self.edges = []
        self.linear = nn.ModuleDict()
        for proj, pre, post, steps in model.edges:
            if pre == post:
                raise NetworkError(net.projections[proj].where, "pre", "recurrent projections are not stepped here")
            w = model.weight(proj).detach()
            lin = nn.Linear(w.shape[1], w.shape[0], bias=False, dtype=w.dtype)
            lin.weight.data.copy_(w)
            key = f"p{len(self.edges)}"
            self.linear[key] = lin
            # a source spike of step k arrives in step k + d - 1, a population's in step k + d
            self.edges.append((key, pre, post, steps - 1 if pre == self.source else steps))
        self.populations = nn.ModuleDict({
            name: (SpikingPopulation if net.populations[name].model.spiking else Readout)(model.layers[name])
            for name in self.order})
        self.reset()

    def reset(self) -> None:
        self.history = {}
        for pop in self.populations.values():
            pop.reset()

    def forward(self, x: torch.Tensor):
        self.history.setdefault(self.source, []).append(x.to(next(self.linear.parameters()).dtype))
        out = None
        for name in self.order:
            total = None
            for key, pre, post, shift in self.edges:
                if post != name:
                    continue
                past = self.history[pre]
                k = len(self.history[self.source]) - 1 - shift          # the step whose spikes arrive now
                s = past[k] if k >= 0 else torch.zeros_like(past[0]) if past else None
                if s is None:   # pre not stepped yet in this call (it comes later in the order)
                    raise NetworkError("neurobench", "order", f"projection {pre}->{post} has no spikes yet")
                y = self.linear[key](s)
                total = y if total is None else total + y
            out = self.populations[name](total)
            self.history.setdefault(name, []).append(out)
        return out, None


def neurobench_figures(model, spikes: torch.Tensor, labels: torch.Tensor | None = None,
                       batch_size: int = 64) -> dict:
    """NeuroBench's figures of ``model`` fed ``spikes`` ``(T, B, n_in)``: per-sample effective ACs and
    MACs, dense SynOps, activation and connection sparsity, footprint (bytes). Needs ``neurobench``."""
    from neurobench.benchmarks import Benchmark
    from neurobench.metrics.static import ConnectionSparsity, Footprint
    from neurobench.metrics.workload import ActivationSparsity, SynapticOperations
    from neurobench.models.neurobench_model import NeuroBenchModel

    stepped = SteppedNetwork(model)

    class _Model(NeuroBenchModel):
        def __init__(self, net):
            super().__init__()
            self.net = net
            self.add_activation_module(SpikingPopulation)

        def activation_layers(self):   # spiking populations only: a readout's v is not an activation
            return [{"layer_name": n, "layer": m} for n, m in self.net.populations.items()
                    if not isinstance(m, Readout)]

        def __call__(self, data):
            self.net.reset()
            return torch.stack([self.net(data[:, k])[0] for k in range(data.shape[1])]).transpose(0, 1)

        def __net__(self):
            return self.net

    data = spikes.transpose(0, 1)                  # NeuroBench's (batch, time, features)
    y = labels if labels is not None else torch.zeros(data.shape[0], dtype=torch.long)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(data, y), batch_size=batch_size)
    with torch.no_grad():
        got = Benchmark(_Model(stepped), loader, [], [],
                        [[Footprint, ConnectionSparsity], [ActivationSparsity, SynapticOperations]]).run(quiet=True)
    ops = got["SynapticOperations"]
    return {"effective_acs_per_sample": float(ops["Effective_ACs"]), "effective_macs_per_sample":
            float(ops["Effective_MACs"]), "dense_synops_per_sample": float(ops["Dense"]),
            "activation_sparsity": float(got["ActivationSparsity"]),
            "connection_sparsity": float(got["ConnectionSparsity"]), "footprint_bytes": int(got["Footprint"])}
