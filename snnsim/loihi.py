"""Loihi's neuron and synapse arithmetic, and the mapping of a float network onto it.

Loihi (and Lava's ``LIF``/``Dense`` process models) run one current-based LIF per neuron,
updated in this order every step (``docs/loihi.md``):

    u' = decay(u, du + 1) + (a << 6)        wrapped to 24 bits
    v' = decay(v, dv) + u' + (bias_mant << bias_exp)    saturated to 24 bits
    spike if v' > (vth << 6); then v' = 0

with ``decay(x, d) = sign(x * (4096 - d)) * (|x * (4096 - d)| >> 12)`` (truncation toward
zero) and ``a`` the sum of the weight mantissas of the spikes that arrived, shifted by the
projection's weight exponent. A ``Dense`` connection delays every spike by one step.

This module turns an :class:`snnsim.Network` into those parameters, in two flavours:

- :func:`float_parameters`: Loihi's update order in float64, with the decays and gains of
  the network's own discretisation (what Lava's ``floating_pt`` models compute);
- :func:`quantize`: the fixed-point registers (12-bit ``du``/``dv``, 17-bit ``vth``,
  13-bit bias mantissa with a 3-bit exponent, 8-bit weight mantissas with one exponent
  per projection), chosen per population to minimise the quantisation error, with a
  per-population :class:`QuantizationReport`.

Both return a :class:`LoihiNetwork`, which the clock engine (``arithmetic="loihi_fixed"`` /
``"loihi_float"``), the Lava backend and the netx exporter all read: one mapping, one place.

State units: in the float flavour ``v`` is in volts measured from ``v_reset`` (Loihi resets
to 0) and ``u`` in volts per step; in the fixed flavour both are integers, one unit being
``LoihiPopulation.scale`` volts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from snnsim.discretize import linear_coefficients
from snnsim.errors import NetworkError
from snnsim.models import IF, LI, LIF, CubaLIF
from snnsim.network import Network

DECAY_SHIFT = 12
DECAY_UNITY = 1 << DECAY_SHIFT           # decays are d / 4096
VTH_SHIFT = 6                            # threshold mantissa << 6
ACT_SHIFT = 6                            # synaptic input << 6
UV_LIMIT = 1 << 23                       # u wraps and v saturates at 24 bits
DECAY_MAX = 4095                         # du, dv: unsigned 12 bits
VTH_MAX = (1 << 17) - 1                  # vth: unsigned 17 bits
BIAS_MANT_MAX = 4095                     # bias mantissa: signed 13 bits (-4096 .. 4095)
BIAS_EXP_MAX = 7                         # bias exponent: 3 bits (0 .. 7)
WEIGHT_EXP_MAX = 7                       # weight exponent used here: 0 .. 7 (see docs/loihi.md)
#: weight mantissa range per sign mode of a projection (Lava's clip_weights/truncate_weights:
#: a mixed-sign projection keeps 8 bits with the last one dropped, so its mantissas are even)
WEIGHT_RANGE = {"excitatory": (0, 255), "inhibitory": (-255, 0), "mixed": (-256, 254)}
#: a readout (LI) has no threshold: it becomes a LIF whose threshold is the largest one,
#: and its scale keeps one input below this many state units (ample headroom below 2**23)
READOUT_INPUT_UNITS = 1 << 16

SUPPORTED = (LIF, CubaLIF, IF, LI)


@dataclass
class LoihiPopulation:
    """Loihi LIF parameters of one population (Lava's ``LIF`` process).

    ``du, dv, vth``: one value for the whole population (one register per process);
    ``bias_mant, bias_exp, u0, v0``: arrays of shape (size,). Integers (held in int64 arrays
    or Python ints) in the fixed flavour, floats in the float flavour (``bias_exp`` is then 0).
    ``scale``: volts per state unit (1.0 in the float flavour); ``v_reset``: the voltage that
    state 0 stands for (V). ``readout``: True for an LI population (never meant to spike).
    """

    name: str
    size: int
    du: float
    dv: float
    vth: float
    bias_mant: np.ndarray
    bias_exp: np.ndarray
    u0: np.ndarray
    v0: np.ndarray
    scale: float
    v_reset: float
    readout: bool = False

    @property
    def bias(self) -> np.ndarray:
        """The bias added to ``v`` every step, in state units."""
        if self.bias_mant.dtype.kind == "f":
            return self.bias_mant.astype(np.float64)
        return np.where(self.bias_exp >= 0, self.bias_mant << np.maximum(self.bias_exp, 0),
                        self.bias_mant >> np.maximum(-self.bias_exp, 0))

    def to_volts(self, v_state: np.ndarray) -> np.ndarray:
        """A ``v`` trace in state units, in volts."""
        return np.asarray(v_state, np.float64) * self.scale + self.v_reset


@dataclass
class LoihiProjection:
    """One projection: the network's CSR structure (``indptr`` over presynaptic neurons,
    ``indices`` postsynaptic) with ``mant`` per synapse and one exponent ``exp``.

    Fixed flavour: integer mantissas, and a spike adds ``mant << exp`` to ``a``.
    Float flavour: ``mant`` holds the float weight in state units (``exp`` 0).
    """

    name: str
    pre: str
    post: str
    indptr: np.ndarray
    indices: np.ndarray
    mant: np.ndarray
    exp: int
    sign_mode: str

    @property
    def weights(self) -> np.ndarray:
        """Per-synapse input in units of ``a`` (before Loihi's ``<< 6``): ``mant * 2**exp``."""
        if self.mant.dtype.kind == "f":
            return self.mant.astype(np.float64)
        return (self.mant.astype(np.int64) << self.exp).astype(np.float64)

    def csr(self, n_pre: int, n_post: int) -> sp.csr_matrix:
        """``scipy.sparse`` CSR ``(n_post, n_pre)`` matrix of ``mant`` (repeated pairs add up)."""
        pre = np.repeat(np.arange(n_pre), np.diff(self.indptr))
        m = sp.coo_matrix((self.mant, (self.indices.astype(np.int64), pre)), shape=(n_post, n_pre)).tocsr()
        m.sum_duplicates()
        return m

    def matrix(self, n_pre: int, n_post: int) -> np.ndarray:
        """Dense ``(n_post, n_pre)`` matrix of ``mant``; repeated pairs add up."""
        return self.csr(n_pre, n_post).toarray()


@dataclass
class PopulationError:
    """Quantisation error of one population (one row of the report).

    Relative errors: ``|quantised - float| / |float|`` for the threshold and decay factors,
    for weights the RMS error over the synapses divided by the largest |weight| of the
    projection, for biases the largest error divided by the largest |bias|.
    """

    population: str
    scale_v: float
    vth: int
    threshold_rel: float
    dv: int
    v_decay_rel: float
    du: int
    u_decay_rel: float
    bias_rel: float
    weights: dict = field(default_factory=dict)   # projection -> {exp, rms_rel, max_abs_v, zeroed}
    u_bound_units: float = 0.0    # |u| if every input fired every step (state units)
    headroom: bool = True         # u_bound_units (+ threshold) fits in 24 bits

    @property
    def worst_rel(self) -> float:
        w = [e["rms_rel"] for e in self.weights.values()]
        return float(max([self.threshold_rel, self.bias_rel, *w]))


@dataclass
class QuantizationReport:
    """Per-population quantisation errors of a :func:`quantize` call."""

    populations: list

    def rows(self) -> list[dict]:
        """One flat dict per population (for tables and JSON)."""
        out = []
        for p in self.populations:
            out.append({"population": p.population, "scale_v": p.scale_v, "vth": p.vth,
                        "threshold_rel_err": p.threshold_rel, "dv": p.dv, "v_decay_rel_err": p.v_decay_rel,
                        "du": p.du, "u_decay_rel_err": p.u_decay_rel, "bias_rel_err": p.bias_rel,
                        "weight_rms_rel_err": max([e["rms_rel"] for e in p.weights.values()], default=0.0),
                        "weights_zeroed": int(sum(e["zeroed"] for e in p.weights.values())),
                        "u_bound": p.u_bound_units, "headroom": p.headroom})
        return out

    def worst(self) -> float:
        return max((p.worst_rel for p in self.populations), default=0.0)


@dataclass
class LoihiNetwork:
    """A network mapped onto Loihi's LIF and Dense: what every Loihi-semantics engine runs.

    ``populations`` and ``projections`` follow the network's declaration order; ``network``
    is the description it came from (sources and probes are read from there).
    """

    network: Network
    dt: float
    fixed_point: bool
    populations: dict
    projections: dict
    report: QuantizationReport | None = None


# --------------------------------------------------------------------------- checks


def _uniform(where: str, name: str, values: np.ndarray) -> float:
    values = np.asarray(values, np.float64)
    if len(values) and not (values == values[0]).all():
        raise NetworkError(where, name, f"must be the same for every neuron on Loihi (one register per "
                           f"LIF process), got values from {values.min()!r} to {values.max()!r}")
    return float(values[0]) if len(values) else 0.0


def check_supported(net: Network, where_run: str = "loihi") -> None:
    """Raise a :class:`NetworkError` for anything Loihi's LIF and Dense cannot express."""
    for pop in net.populations.values():
        model = pop.model
        if not isinstance(model, SUPPORTED):
            raise NetworkError(pop.where, "model", f"{type(model).__name__} has no Loihi LIF equivalent "
                               f"(supported: LIF, CubaLIF, IF, LI); run it in arithmetic 'float32' or 'float64'")
        params = pop.parameters()
        if model.spiking:
            if model.reset != "value":
                raise NetworkError(pop.where, "reset", f"Loihi's LIF resets v to a value, got {model.reset!r}")
            if (params["t_ref"] > 0).any():
                raise NetworkError(pop.where, "t_ref", f"Lava's bit-accurate LIF has no refractory period, got "
                                   f"{float(params['t_ref'].max())!r} s; use t_ref=0")
            if _uniform(pop.where, "v_th", params["v_th"]) <= _uniform(pop.where, "v_reset", params["v_reset"]):
                raise NetworkError(pop.where, "v_th", f"must be above v_reset for Loihi (reset to 0, threshold "
                                   f"> 0), got v_th={float(params['v_th'][0])!r} V, "
                                   f"v_reset={float(params['v_reset'][0])!r} V")
        for name in ("tau_mem", "tau_syn", "r"):
            if name in params:
                _uniform(pop.where, name, params[name])
    for proj in net.projections.values():
        if proj.pre not in net.sources and proj.pre not in net.populations:
            raise NetworkError(proj.where, "pre", f"unknown node {proj.pre!r}")
        if proj.target != "current":
            raise NetworkError(proj.where, "target", f"Loihi's LIF has one current input, got {proj.target!r}")
    for cur in net.currents.values():
        raise NetworkError(cur.where, "current", "Loihi has no injected currents; give constant drive as the "
                           "population's i_bias (it becomes the Loihi bias)")


# --------------------------------------------------------------------------- float mapping


def _scheme(net: Network, integration: str | None) -> str:
    scheme = integration or net.integration
    if scheme not in ("exact", "euler"):
        raise NetworkError("loihi", "integration", f"the physics scheme is 'exact' or 'euler', got {scheme!r}")
    return scheme


def _float_population(pop, dt: float, scheme: str, seed: int) -> dict:
    """Loihi-order float parameters of one population, in volts (from v_reset) per step."""
    model, params = pop.model, pop.parameters()
    tau_mem = params["tau_mem"][:1]
    leaky = not isinstance(model, IF)
    tau_syn = params["tau_syn"][:1] if isinstance(model, CubaLIF) or (
        isinstance(model, LI) and (params["tau_syn"] > 0).any()) else None
    zero = np.zeros(1)
    coef = linear_coefficients(dt, scheme, tau_mem, params["r"][:1], zero, zero, tau_syn, leaky=leaky)
    a = float(coef["a"][0])
    gain = float(coef["gext"][0] / params["r"][0])       # what one volt of r*i adds to v per step
    v_reset = float(params["v_reset"][0]) if model.spiking else 0.0
    v_leak = params.get("v_leak", np.zeros(pop.size))
    drive = gain * (((v_leak - v_reset) if leaky else 0.0) + params["r"] * params["i_bias"])
    init = pop.initial_state(seed)
    r = float(params["r"][0])
    return {
        "dv": 1.0 - a,
        "du": 1.0 - float(coef["ds"][0]) if tau_syn is not None else 1.0,
        "vth": float(params["v_th"][0]) - v_reset if model.spiking else np.inf,
        "bias": drive.astype(np.float64),
        "v0": init["v"] - v_reset,
        "u0": gain * r * init["i_syn"] if "i_syn" in init and tau_syn is not None else np.zeros(pop.size),
        # weight (network units) -> input in volts per step: a jump of v, or gain * r per ampere
        "w_gain": gain * r if tau_syn is not None else 1.0,
        "v_reset": v_reset,
        "readout": not model.spiking,
    }


def float_parameters(net: Network, dt: float | None = None, integration: str | None = None) -> LoihiNetwork:
    """The network in Loihi's update order, float64 (Lava ``floating_pt``'s arithmetic).

    Decays and gains come from the physics scheme (``integration``, default the network's:
    ``exact`` or ``euler``): ``dv = 1 - a``, ``du = 1 - ds`` (1 for instantaneous synapses),
    bias ``= gain (v_leak - v_reset + r i_bias)``.
    """
    net.validate()
    dt = net.dt if dt is None else float(dt)
    check_supported(net)
    scheme = _scheme(net, integration)
    pops, gains = {}, {}
    for name, pop in net.populations.items():
        f = _float_population(pop, dt, scheme, net.seed)
        gains[name] = f["w_gain"]
        pops[name] = LoihiPopulation(name, pop.size, f["du"], f["dv"], f["vth"], f["bias"],
                                     np.zeros(pop.size, np.int64), f["u0"].astype(np.float64),
                                     f["v0"].astype(np.float64), 1.0, f["v_reset"], f["readout"])
    projs = {}
    for name, proj in net.projections.items():
        w = np.broadcast_to(np.asarray(proj.weights, np.float64), (proj.n_synapses,)) * gains[proj.post]
        projs[name] = LoihiProjection(name, proj.pre, proj.post, proj.indptr, proj.indices, np.array(w), 0,
                                      _sign_mode(w))
    return LoihiNetwork(net, dt, False, pops, projs)


def _sign_mode(w: np.ndarray) -> str:
    if len(w) == 0 or w.min() >= 0:
        return "excitatory"
    if w.max() <= 0:
        return "inhibitory"
    return "mixed"


# --------------------------------------------------------------------------- quantisation


def _quantize_weights(t: np.ndarray, sign_mode: str):
    """Mantissas and exponent for targets ``t`` (in units of ``a``); None if no exponent fits."""
    lo, hi = WEIGHT_RANGE[sign_mode]
    top = float(np.abs(t).max()) if len(t) else 0.0
    step = 2 if sign_mode == "mixed" else 1
    for e in range(WEIGHT_EXP_MAX + 1):
        m = np.rint(t / (step << e)) * step
        if top == 0 or (m.min() >= lo and m.max() <= hi):
            return m.astype(np.int64), e
    return None


def _quantize_bias(b: np.ndarray):
    """Bias mantissas and exponents (per neuron) for targets ``b`` in state units; None if out of range."""
    mant = np.zeros(len(b), np.int64)
    exp = np.zeros(len(b), np.int64)
    for e in range(BIAS_EXP_MAX, -1, -1):   # the smallest exponent that fits wins
        m = np.rint(b / (1 << e))
        ok = np.abs(m) <= BIAS_MANT_MAX
        mant[ok] = m[ok]
        exp[ok] = e
    if (np.abs(np.rint(b / (1 << BIAS_EXP_MAX))) > BIAS_MANT_MAX).any():
        return None
    return mant, exp


def _rel(err, ref) -> float:
    return float(err / ref) if ref > 0 else (0.0 if err == 0 else float("inf"))


def _evaluate(scale: float, f: dict, incoming: list, spiking: bool):
    """Quantise one population at ``scale``; returns (objective, parameters, error row) or None."""
    out = {}
    if spiking:
        vth = int(np.rint(f["vth"] / (scale * (1 << VTH_SHIFT))))
        if not 1 <= vth <= VTH_MAX:
            return None
        out["vth"] = vth
        threshold_rel = abs(vth * (1 << VTH_SHIFT) * scale - f["vth"]) / f["vth"]
    else:
        out["vth"] = VTH_MAX
        threshold_rel = 0.0
    bias = _quantize_bias(f["bias"] / scale)
    if bias is None:
        return None
    out["bias_mant"], out["bias_exp"] = bias
    b_q = (bias[0] << bias[1]) * scale
    bias_top = float(np.abs(f["bias"]).max())
    bias_rel = _rel(float(np.abs(b_q - f["bias"]).max()), bias_top)
    worst = max(threshold_rel, bias_rel)
    weights = {}
    for name, w, mode in incoming:
        q = _quantize_weights(w / (scale * (1 << ACT_SHIFT)), mode)
        if q is None:
            return None
        m, e = q
        w_q = (m << e) * float(scale * (1 << ACT_SHIFT))
        top = float(np.abs(w).max()) if len(w) else 0.0
        rms = float(np.sqrt(np.mean((w_q - w) ** 2))) if len(w) else 0.0
        weights[name] = {"mant": m, "exp": e, "rms_rel": _rel(rms, top),
                         "max_abs_v": float(np.abs(w_q - w).max()) if len(w) else 0.0,
                         "zeroed": int(((m == 0) & (w != 0)).sum())}
        worst = max(worst, weights[name]["rms_rel"])
    return worst, out, (threshold_rel, bias_rel, weights)


def _search(scales: np.ndarray, f: dict, incoming: list, spiking: bool) -> np.ndarray:
    """:func:`_evaluate`'s worst relative error at every candidate scale at once (``inf``
    where something does not fit): the same rounding, on a (scales x values) grid."""
    s = scales[:, None]
    worst = np.zeros(len(scales))
    if spiking:
        vth = np.rint(f["vth"] / (scales * (1 << VTH_SHIFT)))
        fits = (vth >= 1) & (vth <= VTH_MAX)
        worst = np.where(fits, np.abs(vth * (1 << VTH_SHIFT) * scales - f["vth"]) / f["vth"], np.inf)
    bias = np.asarray(f["bias"], np.float64)
    top = float(np.abs(bias).max()) if len(bias) else 0.0
    if top > 0:
        target = bias[None, :] / s
        q = np.zeros_like(target)
        done = np.zeros(target.shape, bool)
        for e in range(BIAS_EXP_MAX + 1):
            m = np.rint(target / (1 << e))
            ok = (np.abs(m) <= BIAS_MANT_MAX) & ~done
            q[ok] = m[ok] * (1 << e)
            done |= ok
        err = np.abs(q * s - bias[None, :]).max(axis=1) / top
        worst = np.maximum(worst, np.where(done.all(axis=1), err, np.inf))
    for _, w, mode in incoming:
        top = float(np.abs(w).max()) if len(w) else 0.0
        if top == 0:
            continue
        lo, hi = WEIGHT_RANGE[mode]
        step = 2 if mode == "mixed" else 1
        unit = s * (1 << ACT_SHIFT)
        # whether an exponent fits depends on the extreme weights only: pick it per scale first
        exp = np.full(len(scales), -1)
        for e in range(WEIGHT_EXP_MAX, -1, -1):    # the smallest exponent that fits wins
            m_lo = np.rint(w.min() / (unit[:, 0] * (step << e))) * step
            m_hi = np.rint(w.max() / (unit[:, 0] * (step << e))) * step
            exp = np.where((m_lo >= lo) & (m_hi <= hi), e, exp)
        quantum = (step * np.exp2(np.maximum(exp, 0)))[:, None] * unit
        rms = np.sqrt(np.mean((np.rint(w[None, :] / quantum) * quantum - w[None, :]) ** 2, axis=1)) / top
        worst = np.maximum(worst, np.where(exp >= 0, rms, np.inf))
    return worst


def _sample(w: np.ndarray, size: int) -> np.ndarray:
    """The largest and smallest weights and an even spread of the others (a fixed subset,
    so the scale search costs the same for any number of synapses)."""
    if len(w) <= size:
        return w
    order = np.argsort(w, kind="stable")
    return w[order[np.linspace(0, len(w) - 1, size).round().astype(np.int64)]]


def _candidate_scales(f: dict, incoming: list, spiking: bool) -> np.ndarray:
    """Scales (V per state unit) to try: thresholds from 1 to VTH_MAX on a log grid."""
    if spiking:
        ref = f["vth"] / (1 << VTH_SHIFT)
        return ref / np.unique(np.rint(np.geomspace(1, VTH_MAX, 120)))
    tops = [float(np.abs(w).max()) for _, w, _ in incoming if len(w)] + [float(np.abs(f["bias"]).max())]
    top = max(tops) if max(tops) > 0 else 1.0
    return top / np.geomspace(1, READOUT_INPUT_UNITS, 120)


def quantize(net: Network, dt: float | None = None, integration: str | None = None) -> LoihiNetwork:
    """Map ``net`` onto Loihi's fixed-point registers, minimising the quantisation error.

    Per population the state scale (volts per unit) is searched over a log grid of
    thresholds ``vth = 1 .. 2**17-1``; at each scale the threshold, the biases (13-bit
    mantissa, exponent 0..7) and the weights of every incoming projection (8-bit mantissa,
    one exponent 0..7 per projection, its sign mode's range) are rounded to nearest. Scales
    at which ``u`` could wrap (every input firing every step, ``u`` at its steady state) are
    dropped when any other fits; of the rest, the coarsest scale whose worst relative error
    is within 5 % of the smallest wins (the most headroom for the same accuracy). Decays round to the nearest
    12-bit value. Raises :class:`NetworkError` naming the population or projection when
    nothing fits.
    """
    fl = float_parameters(net, dt, integration)
    dt = fl.dt
    pops, projs, rows = {}, {}, []
    incoming = {name: [] for name in net.populations}
    for name, p in fl.projections.items():
        incoming[p.post].append((name, p.mant, p.sign_mode))
    for name, p in fl.populations.items():
        pop = net.populations[name]
        spiking = not p.readout
        f = {"vth": p.vth, "bias": p.bias_mant}
        # distinct values only, as for the biases: copies of a network (snnsim.replicate) then map alike
        sample = [(n, _sample(np.unique(w), 512), m) for n, w, m in incoming[name]]
        f_sample = {"vth": p.vth, "bias": _sample(np.unique(p.bias_mant), 256)}
        scales = _candidate_scales(f, incoming[name], spiking)
        errors = _search(scales, f_sample, sample, spiking)
        tried = [(float(e), float(sc)) for e, sc in zip(errors, scales) if np.isfinite(e)]
        if not tried:
            _raise_out_of_range(net, p, incoming[name], spiking)
        u_bound = _input_bound(fl, name) / max(p.du, 1.0 / DECAY_UNITY)
        roomy = [t for t in tried if max(u_bound, u_bound + (0 if p.readout else p.vth)) / t[1] < UV_LIMIT - 1]
        headroom = bool(roomy)
        pool = roomy or tried
        least = min(t[0] for t in pool)
        # nearly as accurate is as good: take the coarsest such scale, the most headroom below 2**23
        scale = max(t[1] for t in pool if t[0] <= least * 1.05 + 1e-9)
        _, q, (threshold_rel, bias_rel, weights) = _evaluate(scale, f, incoming[name], spiking)
        dv, v_decay_rel = _decay(p.dv, 0, pop.where, "tau_mem")
        du, u_decay_rel = _decay(p.du, 1, pop.where, "tau_syn")
        u0 = np.rint(p.u0 / scale).astype(np.int64)
        v0 = np.clip(np.rint(p.v0 / scale), -UV_LIMIT + 1, UV_LIMIT - 1).astype(np.int64)
        pops[name] = LoihiPopulation(name, p.size, du, dv, q["vth"], q["bias_mant"], q["bias_exp"], u0, v0,
                                     scale, p.v_reset, p.readout)
        for proj_name, e in weights.items():
            src = fl.projections[proj_name]
            projs[proj_name] = LoihiProjection(proj_name, src.pre, src.post, src.indptr, src.indices, e["mant"],
                                               e["exp"], src.sign_mode)
        rows.append(PopulationError(name, scale, q["vth"], threshold_rel, dv, v_decay_rel, du, u_decay_rel,
                                    bias_rel, {k: {kk: vv for kk, vv in e.items() if kk != "mant"}
                                               for k, e in weights.items()},
                                    u_bound_units=float(u_bound / scale), headroom=headroom))
    projs = {name: projs[name] for name in net.projections}
    return LoihiNetwork(net, dt, True, pops, projs, QuantizationReport(rows))


def _input_bound(fl: LoihiNetwork, post: str) -> float:
    """The largest input one neuron of ``post`` can get in one step (V per step): every
    presynaptic neuron firing, positive and negative weights taken apart."""
    n = fl.populations[post].size
    pos, neg = np.zeros(n), np.zeros(n)
    for p in fl.projections.values():
        if p.post == post and len(p.mant):
            np.add.at(pos, p.indices.astype(np.int64), np.maximum(p.mant, 0.0))
            np.add.at(neg, p.indices.astype(np.int64), np.minimum(p.mant, 0.0))
    return float(max(pos.max(initial=0.0), -neg.min(initial=0.0)))


def _decay(d: float, offset: int, where: str, field: str) -> tuple[int, float]:
    """12-bit decay register for a float decay ``d`` (fraction lost per step); ``offset`` is
    Loihi's built-in +1 of the current decay. Returns the register and the relative error of
    the kept fraction ``1 - d``."""
    reg = int(np.clip(np.rint(d * DECAY_UNITY) - offset, 0, DECAY_MAX))
    kept = (DECAY_UNITY - reg - offset) / DECAY_UNITY
    return reg, _rel(abs(kept - (1.0 - d)), abs(1.0 - d)) if d < 1 else float(abs(kept))


def _raise_out_of_range(net: Network, p: LoihiPopulation, incoming: list, spiking: bool) -> None:
    """Name the value that no scale can represent: the bias or an incoming projection's weights
    (checked at the coarsest scale, where the fewest bits are needed), else the combination."""
    pop = net.populations[p.name]
    scales = _candidate_scales({"vth": p.vth, "bias": p.bias_mant}, incoming, spiking)
    coarsest = float(scales.max())
    if _quantize_bias(p.bias_mant / coarsest) is None:
        top = float(np.abs(p.bias_mant).max())
        raise NetworkError(pop.where, "i_bias", f"the bias of {top!r} V per step needs more than Loihi's 13-bit "
                           f"mantissa with exponent 0..7 allows next to threshold {p.vth!r} V "
                           f"(at most {BIAS_MANT_MAX << BIAS_EXP_MAX} state units)")
    for name, w, mode in incoming:
        if _quantize_weights(w / (coarsest * (1 << ACT_SHIFT)), mode) is None:
            raise NetworkError(net.projections[name].where, "weights",
                               f"weights up to {float(np.abs(w).max())!r} V per step cannot be represented next to "
                               f"{p.name!r}'s threshold {p.vth!r} V: Loihi weights are 8-bit mantissas with "
                               f"exponent 0..{WEIGHT_EXP_MAX} (at most {255 << WEIGHT_EXP_MAX} x 64 state units)")
    raise NetworkError(pop.where, "v_th", f"no Loihi scale represents threshold {p.vth!r} V together with its "
                       f"biases and incoming weights (17-bit threshold, 13-bit bias mantissa, 8-bit weights)")
