"""Each branch of the event engine's crossing-time formula against an independent closed form or root.

Branches of ``kernels.event.time_to_threshold``: IF (linear rise), LIF (``tau ln``),
LIF with drive exactly at threshold (never fires: the comparison is strict), and with a
synaptic current: the crossing before the peak of a kick, and the crossing after a dip
(monotone search). Expected times are computed here with scipy's brentq on the
equations of docs/models.md, not with the engine's code.
"""

import math

import numpy as np
import pytest
from scipy.optimize import brentq

import snnsim
from snnsim import IF, LIF, CubaLIF, Network

TAU_M, TAU_S = 20e-3, 5e-3


def _first_spike(model, kick=None, duration=0.1):
    net = Network(dt=1e-4, integration="exact", seed=1)
    pop = net.add_population("n", 1, model, initial={"v": 0.0})
    if kick is not None:
        src = net.add_spike_source("kick", 1, times=[1e-3], indices=[0])
        net.connect(src, pop, snnsim.OneToOne(), weight=kick, delay=1e-3)   # arrives at t = 2 ms
    net.probe_spikes(pop)
    times = snnsim.simulate(net, duration=duration, backend="event", arithmetic="float64").spikes["n"].times
    return times


def test_if_rises_linearly():
    # dv/dt = r i_bias / tau = 2 / 0.02 = 100 V/s: v_th = 1 V at 10 ms, then every 10 ms
    times = _first_spike(IF(tau_mem=TAU_M, i_bias=2.0, v_th=1.0), duration=0.035)
    assert times == pytest.approx([0.01, 0.02, 0.03], abs=1e-12)


def test_lif_log_formula():
    # v(t) = 2 (1 - exp(-t/tau)) = 1 at t = tau ln 2
    times = _first_spike(LIF(tau_mem=TAU_M, i_bias=2.0, v_th=1.0), duration=0.02)
    assert times[0] == pytest.approx(TAU_M * math.log(2.0), abs=1e-12)


def test_lif_with_drive_exactly_at_threshold_never_fires():
    # v -> 1 = v_th from below and never exceeds it
    assert len(_first_spike(LIF(tau_mem=TAU_M, i_bias=1.0, v_th=1.0), duration=0.5)) == 0


def _v_current(s, drive, a):
    """CubaLIF from v = 0 with r i_syn = a at s = 0 (docs/models.md)."""
    kernel = TAU_S / (TAU_S - TAU_M) * (math.exp(-s / TAU_S) - math.exp(-s / TAU_M))
    return drive * (1 - math.exp(-s / TAU_M)) + a * kernel


def test_current_kick_crosses_before_its_peak():
    # no bias; i_syn jumps by 10 A at 2 ms; the peak 10 K(9.24 ms) = 1.58 V is above 1 V: crossing before it
    times = _first_spike(CubaLIF(tau_mem=TAU_M, tau_syn=TAU_S, v_th=1.0), kick=10.0, duration=0.05)
    peak = math.log(TAU_M / TAU_S) * TAU_M * TAU_S / (TAU_M - TAU_S)
    s = brentq(lambda s: _v_current(s, 0.0, 10.0) - 1.0, 0.0, peak, xtol=1e-15)
    assert times[0] == pytest.approx(2e-3 + s, abs=1e-11)


def test_current_dip_then_monotone_rise_crosses_once():
    # bias drive 2 V, reaching v(2 ms) = 2 (1 - e^-0.1); then an inhibitory kick -5 A
    # (no extremum of the excess above the drive: the search doubles its bracket)
    times = _first_spike(CubaLIF(tau_mem=TAU_M, tau_syn=TAU_S, v_th=1.0, i_bias=2.0), kick=-5.0, duration=0.1)
    v0 = 2.0 * (1 - math.exp(-2e-3 / TAU_M))

    def v(s):  # from (v0, r i = -5) at s = 0
        kernel = TAU_S / (TAU_S - TAU_M) * (math.exp(-s / TAU_S) - math.exp(-s / TAU_M))
        return 2.0 + (v0 - 2.0) * math.exp(-s / TAU_M) - 5.0 * kernel

    s = brentq(lambda s: v(s) - 1.0, 1e-6, 1.0, xtol=1e-15)
    assert v(1e-3) < v0      # it does dip first
    assert times[0] == pytest.approx(2e-3 + s, abs=1e-11)
    assert np.all(np.diff(times) > 0)
