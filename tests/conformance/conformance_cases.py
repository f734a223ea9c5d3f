"""The networks of the conformance suite: small, deterministic, each exercising one part of the
shared semantics (docs/models.md). A case is a function returning a fresh Network (built anew so
that two calls give equal, independent networks) and flags saying how engines compare on it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from snnsim import IF, LI, LIF, CobaLIF, CubaLIF, FixedProbability, Network, Sparse, Uniform
from snnsim.units import Hz, ms

DT = 0.1 * ms


@dataclass(frozen=True)
class Case:
    name: str
    build: object
    duration: float
    #: spikes can only happen when an input arrives, on the grid: the event engine must give the
    #: clock engine's spikes exactly (to 1e-12 s)
    grid_exact: bool = False


def delta_chain() -> Network:
    """Spike-time inputs on the grid into LIF (instantaneous synapses, refractory, reset to a value)
    and on to LIF (reset by subtraction, v_reset != 0) through a 3-step delay; no drive, so
    spikes can only happen when an input arrives. No input lifts ``v`` more than ``v_th - v_reset``
    above threshold: one spike per arrival in both engines."""
    net = Network(dt=DT, seed=11, name="delta_chain")
    times = np.array([1.0, 1.0, 2.3, 4.0, 4.0, 6.1, 9.0, 12.2, 15.0]) * ms
    net.add_spike_source("in", 5, times, [0, 1, 2, 3, 4, 0, 1, 2, 3])
    net.add_population("a", 8, LIF(tau_mem=10 * ms, v_th=1.0, v_reset=0.0, t_ref=0.55 * ms))
    net.add_population("b", 4, LIF(tau_mem=15 * ms, v_th=1.0, v_reset=0.1, reset="subtract"))
    w = np.array([1.3, 0.7, 1.6, 0.45, 1.2, 0.8, 1.1, 0.65])
    net.connect("in", "a", Sparse(np.array([0, 0, 1, 1, 2, 3, 3, 4]), np.arange(8)), weight=w)
    net.connect("a", "b", Sparse(np.repeat(np.arange(8), 2), np.tile([0, 1, 2, 3], 4)),
                weight=np.linspace(0.3, 0.9, 16), delay=0.3 * ms)
    net.probe_spikes("a")
    net.probe_spikes("b")
    net.probe_state("a", "v", every=3)
    return net


def cuba_feedforward() -> Network:
    """Poisson and spike-time inputs into CubaLIF (refractory) with self-recurrence, then into two
    leaky-integrator readouts (with and without a synaptic current)."""
    net = Network(dt=DT, seed=5, name="cuba_feedforward")
    net.add_poisson("noise", 30, rate=60 * Hz)
    net.add_spike_source("kick", 4, np.array([2.0, 5.0, 5.0, 11.0]) * ms, [0, 1, 2, 3])
    net.add_population("h", 20, CubaLIF(tau_mem=10 * ms, tau_syn=4 * ms, t_ref=1 * ms),
                       initial={"v": Uniform(0.0, 0.6)})
    net.add_population("ro", 3, LI(tau_mem=20 * ms, tau_syn=5 * ms))
    net.add_population("rd", 2, LI(tau_mem=8 * ms))
    net.connect("noise", "h", FixedProbability(0.3), weight=Uniform(1.0, 4.0))
    net.connect("kick", "h", FixedProbability(0.5), weight=6.0, delay=0.5 * ms)
    net.connect("h", "h", FixedProbability(0.2, allow_self=False), weight=-0.8)
    net.connect("h", "ro", FixedProbability(0.6), weight=0.3, delay=0.2 * ms)
    net.connect("h", "rd", FixedProbability(0.6), weight=0.05)
    net.probe_spikes("h")
    net.probe_spikes("noise")
    net.probe_state("h", "i_syn", [0, 3, 7])
    net.probe_state("ro", "v", every=2)
    net.probe_state("rd", "v")
    return net


def recurrent_poisson() -> Network:
    """Excitatory and inhibitory LIF populations in a loop, per-synapse random delays, refractory."""
    net = Network(dt=DT, seed=3, name="recurrent_poisson")
    net.add_poisson("ext", 40, rate=50 * Hz)
    net.add_population("e", 40, LIF(tau_mem=20 * ms, t_ref=2 * ms, v_th=1.0), initial={"v": Uniform(0, 0.9)})
    net.add_population("i", 10, LIF(tau_mem=10 * ms, t_ref=1 * ms, reset="subtract"))
    net.connect("ext", "e", FixedProbability(0.2), weight=0.5, delay=Uniform(0.1 * ms, 1.5 * ms))
    net.connect("e", "i", FixedProbability(0.3), weight=0.4, delay=Uniform(0.5 * ms, 2 * ms))
    net.connect("i", "e", FixedProbability(0.3), weight=-0.6, delay=0.8 * ms)
    net.connect("e", "e", FixedProbability(0.1, allow_self=False), weight=0.2, delay=1.2 * ms)
    net.probe_spikes("e")
    net.probe_spikes("i")
    net.probe_state("i", "v", [0, 5])
    return net


def if_constant_current() -> Network:
    """IF and LIF under constant injected currents and a bias, plus spike-time input."""
    net = Network(dt=DT, seed=2, name="if_constant_current")
    net.add_population("if", 4, IF(tau_mem=10 * ms, i_bias=0.0))
    net.add_population("lif", 3, LIF(tau_mem=12 * ms, i_bias=np.array([0.0, 0.5, 1.4])))
    net.add_current("drive", "if", np.array([0.53, 1.07, 1.61, 2.37]))   # no crossing on a step edge
    net.add_current("push", "lif", 0.3)
    net.add_spike_source("s", 1, np.array([3.0, 8.0]) * ms)
    net.connect("s", "lif", [[0.6], [0.6], [0.6]])
    net.probe_spikes("if")
    net.probe_spikes("lif")
    net.probe_state("lif", "v")
    return net


def series_inputs() -> Network:
    """A Poisson source with a time-varying rate and a time-series injected current."""
    net = Network(dt=DT, seed=8, name="series_inputs")
    net.add_poisson("p", 20, rate=np.array([10.0, 120.0, 0.0, 60.0]), rate_dt=4 * ms)
    net.add_population("c", 10, CubaLIF(tau_mem=10 * ms, tau_syn=3 * ms))
    net.add_current("wave", "c", np.array([0.0, 1.5, 0.5, 2.0, 0.0]), sample_dt=3 * ms)
    net.connect("p", "c", FixedProbability(0.4), weight=2.0)
    net.probe_spikes("c")
    net.probe_state("c", "v", [1, 4])
    return net


def coba() -> Network:
    """Conductance-based LIF with excitatory and inhibitory synapses (the COBA model)."""
    net = Network(dt=DT, seed=4, name="coba")
    net.add_poisson("drive", 20, rate=200 * Hz)
    net.add_population("ex", 16, CobaLIF(), initial={"v": Uniform(-60e-3, -50e-3)})
    net.add_population("in", 4, CobaLIF())
    net.connect("drive", "ex", FixedProbability(0.5), weight=0.3, target="exc")
    net.connect("ex", "in", FixedProbability(0.5), weight=0.2, target="exc")
    net.connect("in", "ex", FixedProbability(0.5), weight=0.6, target="inh")
    net.probe_spikes("ex")
    net.probe_state("ex", "g_exc", [0, 1])
    return net


def euler_physics() -> Network:
    """The forward-Euler scheme (what Norse and snnTorch step)."""
    net = Network(dt=DT, integration="euler", seed=6, name="euler_physics")
    net.add_poisson("p", 15, rate=80 * Hz)
    net.add_population("h", 12, CubaLIF(tau_mem=8 * ms, tau_syn=2 * ms))
    net.add_population("o", 3, LI(tau_mem=10 * ms, tau_syn=2 * ms))
    net.connect("p", "h", FixedProbability(0.5), weight=3.0)
    net.connect("h", "o", FixedProbability(0.5), weight=0.2)
    net.probe_spikes("h")
    net.probe_state("o", "v")
    return net


def loihi_compatible() -> Network:
    """What Loihi's CUBA LIF expresses: one value per population, no refractoriness, reset to a
    value, one-step delays, no injected current (the Lava engine's whole domain)."""
    net = Network(dt=1e-3, seed=9, name="loihi_compatible")
    net.add_poisson("p", 20, rate=150 * Hz)
    net.add_spike_source("s", 2, np.array([3e-3, 7e-3, 7e-3]), [0, 1, 0])
    net.add_population("h", 15, CubaLIF(tau_mem=20e-3, tau_syn=5e-3, i_bias=10.0))
    net.add_population("o", 5, LIF(tau_mem=10e-3))
    rng = np.random.default_rng(0)
    net.connect("p", "h", rng.normal(1.5, 1.0, (15, 20)))
    net.connect("s", "h", rng.normal(3.0, 0.5, (15, 2)))
    net.connect("h", "o", rng.normal(0.4, 0.3, (5, 15)))
    net.probe_spikes("h")
    net.probe_spikes("o")
    net.probe_state("h", "v")
    net.probe_state("o", "v", every=2)
    return net


def counted_by_hand() -> Network:
    """Spikes and synaptic events countable by hand (see ``HAND_COUNTS``): every input spike fires
    each of its targets once (weight 1.5 > v_th = 1), a's spikes never add up to fire b."""
    net = Network(dt=DT, seed=0, name="counted_by_hand")
    net.add_spike_source("in", 3, np.array([1.0, 3.0, 2.0]) * ms, [0, 0, 1])
    net.add_population("a", 4, LIF(tau_mem=10 * ms))
    net.add_population("b", 2, LIF(tau_mem=10 * ms))
    net.connect("in", "a", Sparse(np.array([0, 0, 1, 1, 2]), np.array([0, 1, 2, 3, 3])), weight=1.5)
    net.connect("a", "b", Sparse(np.repeat(np.arange(4), 2), np.tile([0, 1], 4)), weight=0.1)
    net.probe_spikes("a")
    return net


#: by hand: in0 fires twice and in1 once (in2 never); in0 -> a0, a1; in1 -> a2, a3; in2 -> a3
#: a: a0, a1 twice, a2, a3 once = 6 spikes; in->a: 2*2 + 1*2 = 6 events; a->b: 6 spikes x 2 = 12
HAND_COUNTS = {"spikes": {"in": 3, "a": 6, "b": 0}, "syn_events": {"in->a": 6, "a->b": 12}}
HAND_DURATION = 5 * ms

CASES = [
    Case("delta_chain", delta_chain, 20 * ms, grid_exact=True),
    Case("cuba_feedforward", cuba_feedforward, 20 * ms),
    Case("recurrent_poisson", recurrent_poisson, 30 * ms),
    Case("if_constant_current", if_constant_current, 20 * ms),
    Case("series_inputs", series_inputs, 20 * ms),
    Case("coba", coba, 20 * ms),
    Case("euler_physics", euler_physics, 20 * ms),
    Case("loihi_compatible", loihi_compatible, 20e-3),
    Case("counted_by_hand", counted_by_hand, HAND_DURATION, grid_exact=True),
]
