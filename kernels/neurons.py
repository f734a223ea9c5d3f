"""One time step of each neuron family, and threshold/reset.

Per-neuron coefficients live in one matrix ``coef`` of shape ``(N_ROWS, n)``;
the row constants below name them (the backend fills them from
``snnsim.discretize``). ``v``, ``syn``, ``syn2`` are the state (volts, synaptic
current or conductances), ``ref`` the remaining refractory steps, ``inbox`` and
``inbox2`` this step's arriving synaptic input (zeroed as read), ``flags``
receives 1 where a neuron crossed threshold this step.

Order inside one step (``docs/models.md``): integrate over ``dt`` from the old
state (refractory neurons hold ``v``), decay the synaptic state, add arriving
input, compare ``v > v_th`` (never while refractory).

Arithmetic is written in the order a numpy reference evaluates it, without
fast-math, so float64 results are bit-identical to that reference.
"""

import numpy as np
from numba import njit

A, DRIVE, C, DS, DS2, E1, E2, GEXT, VTH, VRESET, VSUB, KEEP = range(12)
N_ROWS = 12


@njit(cache=True)
def linear_update(lo, hi, v, syn, ref, inbox, coef, iext, to_v, to_syn, flags):
    """LIF / CubaLIF / LI / IF: ``v' = a v + drive + c syn + gext iext + to_v x``, ``syn' = ds syn + to_syn x``.

    ``x`` is the arriving input; ``(to_v, to_syn)`` is (1, 0) for instantaneous synapses
    (the jump of ``v`` is dropped while refractory) and (0, 1) for current synapses.
    Routing by multiplication keeps the loop free of branches, so it vectorises.
    """
    # work on views from 0 so indices are provably >= 0 (no negative-index fix-ups: SIMD)
    v, syn, ref, inbox, iext, flags = v[lo:hi], syn[lo:hi], ref[lo:hi], inbox[lo:hi], iext[lo:hi], flags[lo:hi]
    a, drive, c, ds, gext, vth = (coef[A, lo:hi], coef[DRIVE, lo:hi], coef[C, lo:hi], coef[DS, lo:hi],
                                  coef[GEXT, lo:hi], coef[VTH, lo:hi])
    for j in range(hi - lo):
        vo = v[j]
        so = syn[j]
        x = inbox[j]
        inbox[j] = 0
        vn = a[j] * vo + drive[j] + c[j] * so + gext[j] * iext[j] + to_v * x
        sn = ds[j] * so + to_syn * x
        r = ref[j]
        refractory = r > 0
        vn = vo if refractory else vn
        ref[j] = r - 1 if refractory else r
        v[j] = vn
        syn[j] = sn
        flags[j] = (vn > vth[j]) & (not refractory)


@njit(cache=True)
def coba_euler_update(lo, hi, v, ge, gi, ref, inbox, inbox2, coef, iext, flags):
    """CobaLIF, forward Euler: ``v' = a v + drive + c (ge (e1 - v) + gi (e2 - v)) + gext iext``."""
    v, ge, gi, ref, inbox, inbox2 = v[lo:hi], ge[lo:hi], gi[lo:hi], ref[lo:hi], inbox[lo:hi], inbox2[lo:hi]
    iext, flags = iext[lo:hi], flags[lo:hi]

    a = coef[A, lo:hi]
    drive = coef[DRIVE, lo:hi]
    c = coef[C, lo:hi]
    de = coef[DS, lo:hi]
    di = coef[DS2, lo:hi]
    e1 = coef[E1, lo:hi]
    e2 = coef[E2, lo:hi]
    gext = coef[GEXT, lo:hi]
    vth = coef[VTH, lo:hi]
    for j in range(hi - lo):
        vo = v[j]
        geo = ge[j]
        gio = gi[j]
        vn = a[j] * vo + drive[j] + c[j] * (geo * (e1[j] - vo) + gio * (e2[j] - vo)) + gext[j] * iext[j]
        ge[j] = de[j] * geo + inbox[j]
        gi[j] = di[j] * gio + inbox2[j]
        inbox[j] = 0
        inbox2[j] = 0
        r = ref[j]
        refractory = r > 0
        vn = vo if refractory else vn
        ref[j] = r - 1 if refractory else r
        v[j] = vn
        flags[j] = (vn > vth[j]) & (not refractory)


@njit(cache=True)
def coba_exp_euler_update(lo, hi, v, ge, gi, ref, inbox, inbox2, coef, iext, flags):
    """CobaLIF, exponential Euler: conductances frozen over the step, ``v`` solved exactly.

    ``g = 1 + ge + gi``; ``v_inf = (drive + ge e1 + gi e2 + gext iext) / g``;
    ``v' = v_inf + (v - v_inf) exp(-c g)`` with ``c = dt / tau_mem``.
    """
    v, ge, gi, ref, inbox, inbox2 = v[lo:hi], ge[lo:hi], gi[lo:hi], ref[lo:hi], inbox[lo:hi], inbox2[lo:hi]
    iext, flags = iext[lo:hi], flags[lo:hi]

    one = np.ones(1, dtype=v.dtype)[0]
    drive = coef[DRIVE, lo:hi]
    c = coef[C, lo:hi]
    de = coef[DS, lo:hi]
    di = coef[DS2, lo:hi]
    e1 = coef[E1, lo:hi]
    e2 = coef[E2, lo:hi]
    gext = coef[GEXT, lo:hi]
    vth = coef[VTH, lo:hi]
    for j in range(hi - lo):
        vo = v[j]
        geo = ge[j]
        gio = gi[j]
        g = one + geo + gio
        num = drive[j] + geo * e1[j] + gio * e2[j] + gext[j] * iext[j]
        vinf = num / g
        vn = vinf + (vo - vinf) * np.exp(-(c[j] * g))
        ge[j] = de[j] * geo + inbox[j]
        gi[j] = di[j] * gio + inbox2[j]
        inbox[j] = 0
        inbox2[j] = 0
        r = ref[j]
        refractory = r > 0
        vn = vo if refractory else vn
        ref[j] = r - 1 if refractory else r
        v[j] = vn
        flags[j] = (vn > vth[j]) & (not refractory)


@njit(cache=True)
def fire_and_reset(n, flags, v, ref, coef, ref_steps, out, n_out):
    """Reset every flagged neuron in ``[0, n)`` and append its index to ``out``.

    ``flags`` is padded to a multiple of 8 bytes and scanned a word at a time, so
    quiet neurons cost one load per eight. Returns the new length of ``out``
    (ascending neuron order).
    """
    vreset = coef[VRESET]
    vsub = coef[VSUB]
    keep = coef[KEEP]
    words = flags.view(np.uint64)
    for w in range(words.shape[0]):
        if words[w] != 0:
            for j in range(w * 8, min(w * 8 + 8, n)):
                if flags[j]:
                    v[j] = v[j] - vsub[j] if keep[j] != 0 else vreset[j]
                    ref[j] = ref_steps[j]
                    out[n_out] = j
                    n_out += 1
    return n_out
