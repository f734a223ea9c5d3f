"""The COBA benchmark network (Vogels & Abbott 2005; Brette et al. 2007, benchmark 1).

4000 conductance-based LIF neurons (80 % excitatory), each pair connected with
probability 0.02, with the parameters of Brian2's COBA benchmark script:
tau_mem 20 ms, tau_exc 5 ms, tau_inh 10 ms, E_exc 0 mV, E_inh -80 mV,
v_leak -60 mV, v_th -50 mV, v_reset -60 mV, refractory 5 ms, a constant drive
of 20 mV, excitatory weight 0.6 and inhibitory weight 6.7 (relative to the leak
conductance), initial v ~ Normal(-55 mV, 5 mV), forward Euler at dt = 0.1 ms.
The drive is an ``i_bias`` of 20 mV / r with r = 1 ohm.

``weight_scale`` multiplies both weights (benchmarks/scale.py keeps the mean input of 80
synapses per neuron when a network has more); ``connect_options`` are extra keywords for
every ``Network.connect`` of the network (e.g. a storage option of the connectivity).
"""

from __future__ import annotations

from snnsim.connectivity import FixedProbability
from snnsim.distributions import Normal
from snnsim.models import CobaLIF
from snnsim.network import Network
from snnsim.units import mV, ms


def build_coba(n_neurons: int = 4000, p: float = 0.02, dt: float = 0.1 * ms, integration: str = "euler",
               seed: int = 1, record: bool = True, weight_scale: float = 1.0,
               connect_options: dict | None = None) -> Network:
    """The COBA network; ``record`` adds spike probes on both populations."""
    n_exc = int(round(0.8 * n_neurons))
    n_inh = n_neurons - n_exc
    model = CobaLIF(tau_mem=20 * ms, tau_exc=5 * ms, tau_inh=10 * ms, e_exc=0 * mV, e_inh=-80 * mV,
                    v_leak=-60 * mV, v_th=-50 * mV, v_reset=-60 * mV, t_ref=5 * ms, i_bias=20 * mV)
    net = Network(dt=dt, integration=integration, seed=seed, name="coba")
    initial = {"v": Normal(-55 * mV, 5 * mV)}
    exc = net.add_population("exc", n_exc, model, initial=initial)
    inh = net.add_population("inh", n_inh, model, initial=initial)
    for pre, weight, target in ((exc, 0.6 * weight_scale, "exc"), (inh, 6.7 * weight_scale, "inh")):
        for post in (exc, inh):
            net.connect(pre, post, FixedProbability(p), weight=weight, target=target, **(connect_options or {}))
    if record:
        net.probe_spikes(exc)
        net.probe_spikes(inh)
    return net
