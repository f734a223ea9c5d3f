"""Brunel's (2000) sparsely connected network of excitatory and inhibitory LIF neurons, model A.

N. Brunel, "Dynamics of sparsely connected networks of excitatory and inhibitory spiking
neurons", J. Comput. Neurosci. 8:183-208 (2000). Model A (identical E and I neurons), the
published parameters: N_E = 10000, N_I = 2500, every neuron receives C_E = 1000 excitatory and
C_I = 250 inhibitory connections (fixed in-degree), delta synapses of J = 0.1 mV (excitatory) and
-g J (inhibitory), one delay D = 1.5 ms, tau = 20 ms, theta = 20 mV, V_r = 10 mV (rest 0 mV),
tau_rp = 2 ms, and an external drive of C_E independent Poisson inputs of J at
nu_ext = eta nu_thr each, nu_thr = theta / (J C_E tau) = 10 Hz: one Poisson source per neuron at
C_E nu_ext (20 kHz at eta = 2, i.e. 2 spikes per step at dt = 0.1 ms). g = 5, eta = 2 is the
asynchronous irregular state of Brunel's Fig. 8C.

``scale`` multiplies N_E and N_I; the in-degrees C_E, C_I stay (so the mean-field input, and with
it the rate, does not depend on ``scale``), which needs ``scale > 0.1`` (no self-connections: C_E < N_E).
"""

from __future__ import annotations

from snnsim.connectivity import FixedInDegree, OneToOne
from snnsim.models import LIF
from snnsim.network import Network
from snnsim.units import mV, ms

N_E, N_I, C_E, C_I = 10000, 2500, 1000, 250
J, D, TAU, THETA, V_R, TAU_RP = 0.1 * mV, 1.5 * ms, 20 * ms, 20 * mV, 10 * mV, 2 * ms


def nu_thr() -> float:
    """The external rate (Hz per external synapse) that brings the mean input to threshold."""
    return THETA / (J * C_E * TAU)


def build_brunel(scale: float = 1.0, g: float = 5.0, eta: float = 2.0, dt: float = 0.1 * ms, seed: int = 1,
                 record: bool = True) -> Network:
    """Model A at ``scale`` x (N_E, N_I); ``record`` adds spike probes on both populations."""
    n_e, n_i = int(round(N_E * scale)), int(round(N_I * scale))
    if not (n_e > C_E and n_i > C_I):
        from snnsim.errors import NetworkError
        raise NetworkError("brunel", "scale", f"must give N_E > C_E = {C_E} and N_I > C_I = {C_I} "
                           f"(scale > 0.1), got {scale!r}: {n_e} and {n_i} neurons")
    model = LIF(tau_mem=TAU, v_leak=0.0, v_th=THETA, v_reset=V_R, t_ref=TAU_RP)
    net = Network(dt=dt, seed=seed, name="brunel")
    exc = net.add_population("exc", n_e, model)
    inh = net.add_population("inh", n_i, model)
    ext_rate = C_E * eta * nu_thr()   # Hz per neuron: C_E external synapses at nu_ext each
    for post in (exc, inh):
        ext = net.add_poisson(f"ext_{post.name}", post.size, ext_rate)
        net.connect(ext, post, OneToOne(), weight=J, delay=D)
        net.connect(exc, post, FixedInDegree(C_E, allow_self=False), weight=J, delay=D)
        net.connect(inh, post, FixedInDegree(C_I, allow_self=False), weight=-g * J, delay=D)
    if record:
        net.probe_spikes(exc)
        net.probe_spikes(inh)
    return net

