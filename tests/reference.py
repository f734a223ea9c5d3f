"""A plain numpy implementation of one clock step, written from docs/models.md.

It shares nothing with the engine's arithmetic: the per-step coefficients are computed
here from the closed forms of docs/models.md (not imported from ``snnsim.discretize``, so
a bug there shows), and the stepping, spike handling, delays, Poisson numbers and summation order are
re-implemented here with whole-array numpy operations, so the Numba kernels can be
checked against it bit for bit (float64, same order of accumulation).
"""

from __future__ import annotations

import math
import zlib

import numpy as np
import scipy.stats

from snnsim.models import CobaLIF, CubaLIF, IF, LI
from snnsim.network import Network, PoissonSource, SpikeSource, StateProbe


LINEAR, COBA_EULER, COBA_EXP_EULER = "linear", "coba_euler", "coba_exp_euler"


def step_coefficients(model, p: dict, dt: float, scheme: str, where: str = ""):
    """Kernel family and per-neuron coefficients of one step, from docs/models.md's formulas.

    Linear models: ``v' = a v + drive + c i_syn + gext i_ext``, ``i_syn' = ds i_syn``.
    exact: ``a = exp(-dt/tau_mem)``, ``gain = 1 - a``, ``ds = exp(-dt/tau_syn)``,
    ``c = r tau_syn/(tau_syn - tau_mem) (exp(-dt/tau_syn) - exp(-dt/tau_mem))`` (limit
    ``r dt/tau_mem exp(-dt/tau_mem)``); IF: ``a = 1``, ``gain = dt/tau_mem``. euler: ``a = 1 - dt/tau_mem``,
    ``gain = dt/tau_mem``, ``ds = 1 - dt/tau_syn``, ``c = r dt/tau_mem``. ``drive = gain (v_leak + r i_bias)``
    (IF: ``gain r i_bias``), ``gext = gain r``. expm1 is used where the engine documents it
    (``1 - a`` and the synaptic factor) so float64 results can be compared bit for bit.
    """
    tau, r, n = p["tau_mem"], p["r"], len(p["tau_mem"])
    zero = np.zeros(n)
    if isinstance(model, CobaLIF):
        if scheme == "euler":
            h = dt / tau
            family, c = COBA_EULER, {"a": 1.0 - h, "drive": h * (p["v_leak"] + r * p["i_bias"]), "c": h,
                                     "ds": 1.0 - dt / p["tau_exc"], "ds2": 1.0 - dt / p["tau_inh"], "gext": h * r}
        else:
            family, c = COBA_EXP_EULER, {"a": zero, "drive": p["v_leak"] + r * p["i_bias"], "c": dt / tau,
                                         "ds": np.exp(-dt / p["tau_exc"]), "ds2": np.exp(-dt / p["tau_inh"]),
                                         "gext": r}
        c.update(e1=p["e_exc"], e2=p["e_inh"])
    else:
        family = LINEAR
        leaky = not isinstance(model, IF)
        syn = isinstance(model, CubaLIF) or (isinstance(model, LI) and bool((p["tau_syn"] > 0).any()))
        ts = p["tau_syn"] if syn else None
        if scheme == "exact":
            a, gain = (np.exp(-dt / tau), -np.expm1(-dt / tau)) if leaky else (np.ones(n), dt / tau)
            ds = np.exp(-dt / ts) if syn else zero
            if syn:
                diff = ts - tau
                same = diff == 0
                general = r * ts * np.exp(-dt / tau) * np.expm1(dt * diff / (tau * ts)) / np.where(same, 1.0, diff)
                cs = np.where(same, r * (dt / tau) * np.exp(-dt / tau), general)
            else:
                cs = zero
        else:
            a, gain = (1.0 - dt / tau if leaky else np.ones(n)), dt / tau
            ds = 1.0 - dt / ts if syn else zero
            cs = r * (dt / tau) if syn else zero
        drive = gain * (p.get("v_leak", zero) + r * p["i_bias"]) if leaky else gain * (r * p["i_bias"])
        c = {"a": a, "drive": drive, "c": cs, "ds": ds, "ds2": zero, "e1": zero, "e2": zero, "gext": gain * r}
    if model.spiking:
        c.update(v_th=p["v_th"], v_reset=p["v_reset"], v_sub=p["v_th"] - p["v_reset"],
                 keep=np.full(n, 1.0 if model.reset == "subtract" else 0.0),
                 ref_steps=np.rint(p["t_ref"] / dt).astype(np.int64))
    else:
        c.update(v_th=np.full(n, np.inf), v_reset=zero, v_sub=zero, keep=zero, ref_steps=np.zeros(n, np.int64))
    return family, c


def _mix(z: np.ndarray) -> np.ndarray:
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def uniform(seed: int, stream: str, step: int, index: np.ndarray) -> np.ndarray:
    """The documented counter-based uniform numbers, in numpy uint64 arithmetic."""
    golden = np.uint64(0x9E3779B97F4A7C15)
    with np.errstate(over="ignore"):
        key = _mix(_mix(np.array([seed], np.uint64) + golden) ^ np.uint64(zlib.crc32(stream.encode())))[0]
        z = (np.uint64(step) << np.uint64(32)) | index.astype(np.uint64)
        z = _mix(_mix(z ^ key) + golden)
    return (z >> np.uint64(11)).astype(np.float64) / 2.0 ** 53


def simulate(net: Network, duration: float, dtype=np.float64):
    """Spikes ``{name: (times, indices)}`` and traces ``{probe: values}`` of ``net``."""
    dt, scheme = net.dt, net.integration
    n_steps = int(round(duration / dt))
    f = np.dtype(dtype).type
    pops = []
    for name, pop in net.populations.items():
        family, c = step_coefficients(pop.model, pop.parameters(), dt, scheme, pop.where)
        c = {key: np.asarray(val).astype(dtype) if key != "ref_steps" else val for key, val in c.items()}
        init = pop.initial_state(net.seed)
        state = {"v": init["v"].astype(dtype),
                 "s1": init.get("i_syn", init.get("g_exc", np.zeros(pop.size))).astype(dtype),
                 "s2": init.get("g_inh", np.zeros(pop.size)).astype(dtype),
                 "ref": np.zeros(pop.size, np.int64)}
        pops.append(dict(name=name, pop=pop, family=family, c=c, state=state,
                         delta=pop.model.delta_synapses, ext=np.zeros(pop.size, dtype)))
    by_name = {p["name"]: p for p in pops}
    # ring buffers: input arriving during step s is ring[channel][name][s]
    inbox = {(p["name"], ch): {} for p in pops for ch in (0, 1)}
    projections = []
    for proj in net.projections.values():
        steps = 1 if proj.delays is None else np.rint(np.asarray(proj.delays) / dt).astype(np.int64)
        delays = np.broadcast_to(steps, (proj.n_synapses,))
        projections.append((proj, delays, 1 if proj.target == "inh" else 0))
    spikes = {name: ([], []) for name in [*net.populations, *net.sources]}
    traces = {}
    probes = [p for p in net.probes.values() if isinstance(p, StateProbe)]
    slot_of = {"v": "v", "i_syn": "s1", "g_exc": "s1", "g_inh": "s2"}

    def sample(k):
        for probe in probes:
            every = probe.every
            if k % every == 0:
                st = by_name[probe.target]["state"][slot_of[probe.variable]]
                traces.setdefault(probe.name, []).append(st[probe.neurons].astype(np.float64))

    def take(name, ch, step, size):
        return inbox[(name, ch)].pop(step, np.zeros(size, dtype))

    def emit_sources(n, k, include_poisson):
        fired = {}
        for name, src in net.sources.items():
            if isinstance(src, PoissonSource):
                if not include_poisson:
                    continue
                row = 0 if src.rate_dt is None else min(n // int(round(src.rate_dt / dt)), src.rate.shape[0] - 1)
                rate = src.rate if src.rate_dt is None else np.broadcast_to(src.rate[row], (src.size,))
                idx = np.arange(src.size)
                u = uniform(net.seed, name, k, idx)
                lam = np.asarray(rate * dt, np.float64)
                assert lam.max(initial=0.0) <= 256, "the reference draws one part (docs/models.md)"
                # the count is the Poisson quantile at 1 - u: the smallest c with CDF(c) >= 1 - u
                count = np.where(lam > 0, scipy.stats.poisson.ppf(1.0 - u, np.maximum(lam, 1e-300)), 0)
                fired[name] = np.repeat(idx, count.astype(np.int64))
            elif isinstance(src, SpikeSource):
                ks = np.rint(src.times / dt).astype(np.int64)
                fired[name] = np.sort(src.indices[ks == k])
        return fired

    def deliver(n, k, fired):
        for name, idx in fired.items():
            spikes[name][0].extend([k] * len(idx))
            spikes[name][1].extend(idx.tolist())
        for proj, delays, ch in projections:
            idx = fired.get(proj.pre, np.zeros(0, np.int64))
            post = by_name[proj.post]
            for i in idx:  # spike by spike, synapses in row order
                lo, hi = proj.indptr[i], proj.indptr[i + 1]
                for d in np.unique(delays[lo:hi]):
                    sel = np.arange(lo, hi)[delays[lo:hi] == d]
                    buf = inbox[(proj.post, ch)].setdefault(n + int(d), np.zeros(post["pop"].size, dtype))
                    # accumulate in row order; np.add.at is unbuffered and sequential
                    weights = np.broadcast_to(np.asarray(proj.weights, dtype=np.float64), (proj.n_synapses,))
                    np.add.at(buf, proj.indices[sel], weights[sel].astype(dtype))

    sample(0)
    deliver(-1, 0, emit_sources(-1, 0, False))
    for n in range(n_steps):
        k = n + 1
        for p in pops:
            p["ext"][:] = 0
        for cur in net.currents.values():
            p = by_name[cur.target]
            table = cur.amplitude[None, :] if cur.sample_dt is None else cur.amplitude
            row = 0 if cur.sample_dt is None else min(n // int(round(cur.sample_dt / dt)), table.shape[0] - 1)
            p["ext"] += np.broadcast_to(table[row].astype(dtype), (p["pop"].size,))
        fired = {}
        for p in pops:
            c, st, size = p["c"], p["state"], p["pop"].size
            x1, x2 = take(p["name"], 0, n, size), take(p["name"], 1, n, size)
            v, s1, s2 = st["v"], st["s1"], st["s2"]
            if p["family"] == LINEAR:
                vn = c["a"] * v + c["drive"] + c["c"] * s1 + c["gext"] * p["ext"]
                s1n = c["ds"] * s1
                if p["delta"]:
                    vn = vn + x1
                else:
                    s1n = s1n + x1
                s2n = s2
            elif p["family"] == COBA_EULER:
                vn = c["a"] * v + c["drive"] + c["c"] * (s1 * (c["e1"] - v) + s2 * (c["e2"] - v)) + c["gext"] * p["ext"]
                s1n, s2n = c["ds"] * s1 + x1, c["ds2"] * s2 + x2
            else:
                assert p["family"] == COBA_EXP_EULER
                g = f(1) + s1 + s2
                vinf = (c["drive"] + s1 * c["e1"] + s2 * c["e2"] + c["gext"] * p["ext"]) / g
                decay = np.array([math.exp(z) for z in -(c["c"] * g)], dtype)
                vn = vinf + (v - vinf) * decay
                s1n, s2n = c["ds"] * s1 + x1, c["ds2"] * s2 + x2
            refractory = st["ref"] > 0
            vn = np.where(refractory, v, vn)
            st["ref"] = np.where(refractory, st["ref"] - 1, st["ref"])
            crossed = (vn > c["v_th"]) & ~refractory
            idx = np.flatnonzero(crossed)
            vn[idx] = np.where(c["keep"][idx] != 0, vn[idx] - c["v_sub"][idx], c["v_reset"][idx])
            st["ref"][idx] = c["ref_steps"][idx]
            st["v"], st["s1"], st["s2"] = vn.astype(dtype), s1n.astype(dtype), s2n.astype(dtype)
            fired[p["name"]] = idx
        fired.update(emit_sources(n, k, True))
        deliver(n, k, fired)
        sample(k)
    out_spikes = {}
    for name, (ks, idx) in spikes.items():
        ks, idx = np.array(ks, np.int64), np.array(idx, np.int64)
        order = np.lexsort((idx, ks))
        out_spikes[name] = (ks[order] * dt, idx[order])
    return out_spikes, {name: np.array(vals) for name, vals in traces.items()}
