"""The cortical microcircuit of Potjans & Diesmann (2014, Cereb. Cortex 24:785), "PD14".

77,169 current-based LIF neurons (NEST's ``iaf_psc_exp``, here :class:`~snnsim.models.CubaLIF`)
in 8 populations (layers 2/3, 4, 5, 6, each excitatory and inhibitory), about 3 x 10^8
synapses at full scale. The numbers are those of the model's reference implementation
(NEST's ``pynest/examples/Potjans_2014`` and INM-6 ``microcircuit-PD14-model``), written here:

- neurons: tau_m 10 ms, C_m 250 pF (so r = tau_m / C_m = 40 MOhm), tau_syn 0.5 ms, t_ref 2 ms,
  E_L = V_reset = -65 mV, V_th = -50 mV;
- connectivity: for each (source, target) population pair the connection probability ``p`` of
  the published table gives ``K = log(1 - p) / log(1 - 1/(N_pre N_post))`` synapses of the full
  network, drawn as the model draws them (``fixed_total_number``: ``K`` random (pre, post) pairs,
  multapses and autapses allowed); scaled, the count is ``round(K scale k_scale)``;
- weights: Normal with mean 87.8 pA (the current whose PSP peaks at 0.15 mV), relative sd 0.1,
  redrawn while of the wrong sign; L4E -> L2/3E doubled; inhibitory ones g = -4 times;
- delays: Normal 1.5 +- 0.75 ms (excitatory) and 0.75 +- 0.375 ms (inhibitory), redrawn below
  dt/2 (so at least one step after rounding, as the reference does);
- background: ``K_ext`` (1600 ... 2900) inputs of 8 Hz per neuron, as one Poisson train per neuron
  at ``K_ext x 8 Hz`` with the excitatory weight and a 1.5 ms delay (``drive="poisson"``), or
  the DC current of the same mean ``8 Hz K_ext w tau_syn`` (``drive="dc"``, the reference
  model's default);
- scaling: ``scale`` of the neurons and ``k_scale`` of the in-degrees (default: ``scale`` with
  Poisson drive, 1 with DC drive); with ``k_scale`` < 1 weights are divided by
  ``sqrt(k_scale)``, and the mean input the smaller in-degrees miss (at the reference
  full-scale rates) is given back as DC, as the reference does;
- initial ``v``: Normal per population with the reference's "optimized" means and sds
  (``v0="optimized"``, the PD14 repository's default) or -58 +- 10 mV (``v0="original"``).

``dt`` is 0.1 ms and the integration ``exact`` (the same propagators as ``iaf_psc_exp``).
"""

from __future__ import annotations

import math

import numpy as np

from snnsim import connectivity as conn
from snnsim.distributions import Normal, child_rng
from snnsim.errors import NetworkError
from snnsim.models import CubaLIF
from snnsim.network import Network
from snnsim.units import ms, mV

POPULATIONS = ("L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I")
#: neurons per population at full scale
N_FULL = np.array([20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948])
#: connection probabilities, [target, source] in POPULATIONS order (PD14 Table 5)
CONN_PROBS = np.array([
    [0.1009, 0.1689, 0.0437, 0.0818, 0.0323, 0.0, 0.0076, 0.0],
    [0.1346, 0.1371, 0.0316, 0.0515, 0.0755, 0.0, 0.0042, 0.0],
    [0.0077, 0.0059, 0.0497, 0.135, 0.0067, 0.0003, 0.0453, 0.0],
    [0.0691, 0.0029, 0.0794, 0.1597, 0.0033, 0.0, 0.1057, 0.0],
    [0.1004, 0.0622, 0.0505, 0.0057, 0.0831, 0.3726, 0.0204, 0.0],
    [0.0548, 0.0269, 0.0257, 0.0022, 0.06, 0.3158, 0.0086, 0.0],
    [0.0156, 0.0066, 0.0211, 0.0166, 0.0572, 0.0197, 0.0396, 0.2252],
    [0.0364, 0.001, 0.0034, 0.0005, 0.0277, 0.008, 0.0658, 0.1443]])
#: external (cortico-cortical) in-degrees at full scale
K_EXT = np.array([1600, 1500, 2100, 1900, 2000, 1900, 2900, 2100])
BG_RATE = 8.0            # Hz per external input
#: mean population rates (Hz) of the full-scale reference network (INM-6 microcircuit-PD14-model,
#: ``full_mean_rates``); the scaled network's DC compensation uses them
REFERENCE_RATES_HZ = np.array([0.903, 2.965, 4.414, 5.876, 7.569, 8.633, 1.105, 7.829])
V0_OPTIMIZED = (np.array([-68.28, -63.16, -63.33, -63.45, -63.11, -61.66, -66.72, -61.43]),
                np.array([5.36, 4.57, 4.74, 4.94, 4.94, 4.55, 5.46, 4.48]))   # mV
V0_ORIGINAL = (-58.0, 10.0)   # mV

TAU_M, C_M, TAU_SYN, T_REF = 10.0, 250.0, 0.5, 2.0    # ms, pF, ms, ms
E_L, V_TH, V_RESET = -65.0, -50.0, -65.0              # mV
PSP_EXC = 0.15    # mV, peak PSP of the mean excitatory synapse
G = -4.0          # inhibitory / excitatory weight
WEIGHT_REL_SD = 0.1
DELAY_EXC, DELAY_INH, DELAY_REL_SD = 1.5, 0.75, 0.5   # ms
DELAY_POISSON = 1.5   # ms
DT = 0.1          # ms


def psc_over_psp(c_m: float = C_M, tau_m: float = TAU_M, tau_syn: float = TAU_SYN) -> float:
    """pA of exponential PSC per mV of PSP peak (the PSP ``(PSC * h)(t)``, ``h = e^{-t/tau_m}/C_m``,
    at its maximum)."""
    t_peak = tau_m * tau_syn / (tau_m - tau_syn) * math.log(tau_m / tau_syn)
    peak_per_pa = tau_m * tau_syn / (c_m * (tau_m - tau_syn)) * (math.exp(-t_peak / tau_m) - math.exp(-t_peak / tau_syn))
    return 1.0 / peak_per_pa


def full_synapse_numbers() -> np.ndarray:
    """Synapses per [target, source] pair of the full-scale network (float, before rounding)."""
    prod = np.outer(N_FULL, N_FULL).astype(np.float64)
    return np.log1p(-CONN_PROBS) / np.log1p(-1.0 / prod)


def parameters(scale: float = 1.0, drive: str = "dc", k_scale: float | None = None) -> dict:
    """Every derived number of the (scaled) model: ``sizes``, ``synapses`` [target, source],
    ``weight_pa`` [target, source] means, ``weight_ext_pa``, ``k_ext``, ``poisson_rate_hz`` and
    ``dc_pa`` per population. ``scale`` scales the neurons, ``k_scale`` the in-degrees (the
    reference's ``N_scaling`` and ``K_scaling``); default: ``scale`` with Poisson drive, 1 with DC
    drive (scaled in-degrees leave the DC below rheobase and the network falls silent after its
    initial transient, as the reference warns)."""
    if k_scale is None:
        k_scale = scale if drive == "poisson" else 1.0
    for field, value in (("scale", scale), ("k_scale", k_scale)):
        if not (isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value <= 1):
            raise NetworkError("microcircuit", field, f"must be in (0, 1], got {value!r}")
    if drive not in ("dc", "poisson"):
        raise NetworkError("microcircuit", "drive", f"must be 'dc' or 'poisson', got {drive!r}")
    k_full = full_synapse_numbers()
    w = PSP_EXC * psc_over_psp()
    weights = np.where(np.arange(8)[None, :] % 2 == 0, w, G * w) * np.ones((8, 1))
    weights[0, 2] *= 2.0    # L4E -> L2/3E
    w_ext = w
    dc = BG_RATE * K_EXT * w_ext * TAU_SYN * 1e-3 if drive == "dc" else np.zeros(8)   # pA
    if k_scale != 1:
        indegree = k_full / N_FULL[:, None]
        rec = np.sum(weights * indegree * REFERENCE_RATES_HZ[None, :], axis=1)   # pA/s, mean input rate
        missing = 1.0 - math.sqrt(k_scale)
        dc = dc + 1e-3 * TAU_SYN * missing * rec
        if drive == "poisson":
            dc = dc + 1e-3 * TAU_SYN * missing * w_ext * K_EXT * BG_RATE
        weights = weights / math.sqrt(k_scale)
        w_ext = w_ext / math.sqrt(k_scale)
    k_ext = np.round(K_EXT * k_scale).astype(np.int64)
    return {"sizes": np.round(N_FULL * scale).astype(np.int64),
            "synapses": np.round(k_full * scale * k_scale).astype(np.int64),
            "weight_pa": weights, "weight_ext_pa": float(w_ext), "k_ext": k_ext,
            "poisson_rate_hz": BG_RATE * k_ext.astype(np.float64), "dc_pa": dc}


class TotalNumberPairs:
    """``n`` synapses, each a uniformly random (pre, post) pair: NEST's ``fixed_total_number`` with
    multapses and autapses allowed, the rule of the PD14 model (its synapse count formula assumes
    pairs drawn with replacement)."""

    def __init__(self, n: int, seed: tuple | None = None):
        self.n = int(n)
        self.allow_self = True
        self.seed = seed   # (network seed, name...): draw from child_rng(*seed), not the engine's stream

    def expected_synapses(self, n_pre, n_post, same) -> float:
        return float(self.n)

    def build(self, n_pre, n_post, rng, same, where, block=None):
        if self.n < 0:
            raise NetworkError(where, "n", f"must be >= 0, got {self.n}")
        if self.seed is not None:    # the same synapses whichever stream Network.connect hands over
            rng = child_rng(*self.seed)
        elif not isinstance(rng, np.random.Generator):   # a counter-based stream key
            rng = np.random.default_rng(int(rng) % 2**64)
        pre = rng.integers(0, n_pre, self.n)
        post = rng.integers(0, n_post, self.n)
        indptr, indices, _ = conn._csr_from_pairs(pre, post, n_pre)
        return conn.Built(indptr, indices, None, None)


def redrawn_normal(rng: np.random.Generator, mean: float, std: float, n: int, low: float = -np.inf,
                   high: float = np.inf) -> np.ndarray:
    """``n`` draws of Normal(mean, std), each redrawn until it lies in ``(low, high)`` (NEST's
    ``nest.math.redraw``)."""
    out = rng.normal(mean, std, n)
    bad = np.flatnonzero((out <= low) | (out >= high))
    while len(bad):
        out[bad] = rng.normal(mean, std, len(bad))
        bad = bad[(out[bad] <= low) | (out[bad] >= high)]
    return out


def microcircuit(scale: float = 1.0, drive: str = "dc", seed: int = 55, *, k_scale: float | None = None,
                 record: bool = True, v0: str = "optimized", dt: float = DT * ms) -> Network:
    """The PD14 microcircuit at ``scale`` (fraction of neurons; ``k_scale``: fraction of in-degrees,
    default see :func:`parameters`) with background ``drive`` ``"dc"`` or ``"poisson"``; ``record`` adds a spike probe
    per population."""
    p = parameters(scale, drive, k_scale)
    if v0 not in ("optimized", "original"):
        raise NetworkError("microcircuit", "v0", f"must be 'optimized' or 'original', got {v0!r}")
    net = Network(dt=dt, integration="exact", seed=seed, name=f"microcircuit_{scale:g}_{drive}")  # noqa: E501
    r = TAU_M / C_M * 1e9    # ohm (ms / pF = 1e9 ohm)
    for i, name in enumerate(POPULATIONS):
        model = CubaLIF(tau_mem=TAU_M * ms, tau_syn=TAU_SYN * ms, v_leak=E_L * mV, v_th=V_TH * mV,
                        v_reset=V_RESET * mV, r=r, i_bias=float(p["dc_pa"][i]) * 1e-12, t_ref=T_REF * ms)
        mean, sd = (V0_OPTIMIZED[0][i], V0_OPTIMIZED[1][i]) if v0 == "optimized" else V0_ORIGINAL
        net.add_population(name, int(p["sizes"][i]), model, initial={"v": Normal(mean * mV, sd * mV)})
    for i, target in enumerate(POPULATIONS):          # target-major, as the reference connects
        for j, source in enumerate(POPULATIONS):
            n = int(p["synapses"][i, j])
            if n == 0:
                continue
            name = f"{source}->{target}"
            rng = child_rng(seed, "microcircuit", name)
            mean = float(p["weight_pa"][i, j])
            lo, hi = (0.0, np.inf) if mean > 0 else (-np.inf, 0.0)
            weight = redrawn_normal(rng, mean, abs(mean) * WEIGHT_REL_SD, n, lo, hi) * 1e-12
            d_mean = DELAY_EXC if j % 2 == 0 else DELAY_INH
            delay = redrawn_normal(rng, d_mean, d_mean * DELAY_REL_SD, n, 0.5 * dt / ms) * ms
            net.connect(source, target, TotalNumberPairs(n, (seed, "microcircuit", name, "pairs")), weight=weight,
                        delay=delay, name=name)
    if drive == "poisson":
        for i, target in enumerate(POPULATIONS):
            src = net.add_poisson(f"bg_{target}", int(p["sizes"][i]), float(p["poisson_rate_hz"][i]))
            net.connect(src, target, conn.OneToOne(), weight=p["weight_ext_pa"] * 1e-12,
                        delay=DELAY_POISSON * ms, name=f"bg->{target}")
    if record:
        for name in POPULATIONS:
            net.probe_spikes(name)
    return net


def population_rates(results, net: Network) -> dict[str, float]:
    """Mean rate (Hz) of each population over the results' duration."""
    counts = results.spike_counts
    return {name: counts[name] / (net.populations[name].size * results.duration) for name in POPULATIONS}


def effective_k_scale(scale: float, drive: str, k_scale: float | None) -> float:
    """The in-degree fraction :func:`parameters` uses for these arguments."""
    return k_scale if k_scale is not None else (scale if drive == "poisson" else 1.0)
