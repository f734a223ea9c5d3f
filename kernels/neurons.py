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
def linear_update(lo, hi, v, syn, ref, inbox, coef, iext, use_ext, delta, flags):
    """LIF / CubaLIF / LI / IF: ``v' = a v + drive + c syn (+ gext iext)``, ``syn' = ds syn``.

    With ``delta`` the input jumps ``v`` (dropped while refractory), else it adds to ``syn``.
    """
    a = coef[A]
    drive = coef[DRIVE]
    c = coef[C]
    ds = coef[DS]
    gext = coef[GEXT]
    vth = coef[VTH]
    for j in range(lo, hi):
        vo = v[j]
        so = syn[j]
        vn = a[j] * vo + drive[j] + c[j] * so
        if use_ext:
            vn = vn + gext[j] * iext[j]
        sn = ds[j] * so
        x = inbox[j]
        inbox[j] = 0
        if delta:
            vn = vn + x
        else:
            sn = sn + x
        r = ref[j]
        refractory = r > 0
        vn = vo if refractory else vn
        ref[j] = r - 1 if refractory else r
        v[j] = vn
        syn[j] = sn
        flags[j] = (vn > vth[j]) & (not refractory)


@njit(cache=True)
def coba_euler_update(lo, hi, v, ge, gi, ref, inbox, inbox2, coef, iext, use_ext, flags):
    """CobaLIF, forward Euler: ``v' = a v + drive + c (ge (e1 - v) + gi (e2 - v))``."""
    a = coef[A]
    drive = coef[DRIVE]
    c = coef[C]
    de = coef[DS]
    di = coef[DS2]
    e1 = coef[E1]
    e2 = coef[E2]
    gext = coef[GEXT]
    vth = coef[VTH]
    for j in range(lo, hi):
        vo = v[j]
        geo = ge[j]
        gio = gi[j]
        vn = a[j] * vo + drive[j] + c[j] * (geo * (e1[j] - vo) + gio * (e2[j] - vo))
        if use_ext:
            vn = vn + gext[j] * iext[j]
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
def coba_exp_euler_update(lo, hi, v, ge, gi, ref, inbox, inbox2, coef, iext, use_ext, flags):
    """CobaLIF, exponential Euler: conductances frozen over the step, ``v`` solved exactly.

    ``g = 1 + ge + gi``; ``v_inf = (drive + ge e1 + gi e2 (+ gext iext)) / g``;
    ``v' = v_inf + (v - v_inf) exp(-c g)`` with ``c = dt / tau_mem``.
    """
    one = np.ones(1, dtype=v.dtype)[0]
    drive = coef[DRIVE]
    c = coef[C]
    de = coef[DS]
    di = coef[DS2]
    e1 = coef[E1]
    e2 = coef[E2]
    gext = coef[GEXT]
    vth = coef[VTH]
    for j in range(lo, hi):
        vo = v[j]
        geo = ge[j]
        gio = gi[j]
        g = one + geo + gio
        num = drive[j] + geo * e1[j] + gio * e2[j]
        if use_ext:
            num = num + gext[j] * iext[j]
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
