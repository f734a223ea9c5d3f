"""One time step of each neuron family, and threshold/reset.

Coefficients come as ``coef``: either a matrix of shape ``(N_ROWS, n_neurons)``
(one column per neuron) or, for a population whose neurons all share them, a
vector of shape ``(N_ROWS,)``; the row constants below name them (the backend
fills them from ``snnsim.discretize``). Numba compiles each kernel for both, so
homogeneous populations read scalars instead of streaming per-neuron arrays.
``v``, ``syn``, ``syn2`` are the state (volts, synaptic current or conductances),
``ref`` the remaining refractory steps, ``inbox`` and ``inbox2`` this step's
arriving synaptic input (zeroed as read), ``flags`` receives 1 where a neuron
crossed threshold this step.

Order inside one step (``docs/models.md``): integrate over ``dt`` from the old
state (refractory neurons hold ``v``), decay the synaptic state, add arriving
input, compare ``v > v_th`` (never while refractory).

Arithmetic is written in the order a numpy reference evaluates it, without
fast-math, so float64 results are bit-identical to that reference.
"""

import numpy as np
from numba import njit, types
from numba.extending import overload

A, DRIVE, C, DS, DS2, E1, E2, GEXT, VTH, VRESET, VSUB, KEEP = range(12)
N_ROWS = 12


def row(coef, r, lo, hi):
    """Coefficient ``r`` of neurons ``lo:hi``: a 1-D view, or one scalar for all."""


def at(x, j):
    """``x[j]`` for an array, ``x`` for a scalar."""


@overload(row, inline="always")
def _row(coef, r, lo, hi):
    if coef.ndim == 2:
        return lambda coef, r, lo, hi: coef[r, lo:hi]
    return lambda coef, r, lo, hi: coef[r]


@overload(at, inline="always")
def _at(x, j):
    if isinstance(x, types.Array):
        return lambda x, j: x[j]
    return lambda x, j: x


@njit(inline="always")
def _hold_or_commit(j, vo, vn, v, ref, flags, vth):
    """Refractory neurons keep ``vo`` (one refractory step used up); the others take
    ``vn`` and are flagged if ``vn > v_th``."""
    r = ref[j]
    refractory = r > 0
    vn = vo if refractory else vn
    ref[j] = r - 1 if refractory else r
    v[j] = vn
    flags[j] = (vn > at(vth, j)) & (not refractory)


@njit(inline="always")
def _conductances(j, geo, gio, ge, gi, de, di, inbox, inbox2):
    """Decay both conductances over the step and add the input arriving at its end."""
    ge[j] = at(de, j) * geo + inbox[j]
    gi[j] = at(di, j) * gio + inbox2[j]
    inbox[j] = 0
    inbox2[j] = 0


@njit(cache=True)
def linear_update(lo, hi, v, syn, ref, inbox, coef, iext, to_v, to_syn, flags):
    """LIF / CubaLIF / LI / IF: ``v' = a v + drive + c syn + gext iext + to_v x``, ``syn' = ds syn + to_syn x``.

    ``x`` is the arriving input; ``(to_v, to_syn)`` is (1, 0) for instantaneous synapses
    (the jump of ``v`` is dropped while refractory) and (0, 1) for current synapses.
    Routing by multiplication keeps the loop free of branches, so it vectorises.
    """
    # work on views from 0 so indices are provably >= 0 (no negative-index fix-ups: SIMD)
    v, syn, ref, inbox, iext, flags = v[lo:hi], syn[lo:hi], ref[lo:hi], inbox[lo:hi], iext[lo:hi], flags[lo:hi]
    a, drive, c = row(coef, A, lo, hi), row(coef, DRIVE, lo, hi), row(coef, C, lo, hi)
    ds, gext, vth = row(coef, DS, lo, hi), row(coef, GEXT, lo, hi), row(coef, VTH, lo, hi)
    for j in range(hi - lo):
        vo = v[j]
        so = syn[j]
        x = inbox[j]
        inbox[j] = 0
        vn = at(a, j) * vo + at(drive, j) + at(c, j) * so + at(gext, j) * iext[j] + to_v * x
        sn = at(ds, j) * so + to_syn * x
        syn[j] = sn
        _hold_or_commit(j, vo, vn, v, ref, flags, vth)


@njit(cache=True)
def coba_euler_update(lo, hi, v, ge, gi, ref, inbox, inbox2, coef, iext, flags):
    """CobaLIF, forward Euler: ``v' = a v + drive + c (ge (e1 - v) + gi (e2 - v)) + gext iext``."""
    v, ge, gi, ref, inbox, inbox2 = v[lo:hi], ge[lo:hi], gi[lo:hi], ref[lo:hi], inbox[lo:hi], inbox2[lo:hi]
    iext, flags = iext[lo:hi], flags[lo:hi]

    a = row(coef, A, lo, hi)
    drive = row(coef, DRIVE, lo, hi)
    c = row(coef, C, lo, hi)
    de = row(coef, DS, lo, hi)
    di = row(coef, DS2, lo, hi)
    e1 = row(coef, E1, lo, hi)
    e2 = row(coef, E2, lo, hi)
    gext = row(coef, GEXT, lo, hi)
    vth = row(coef, VTH, lo, hi)
    for j in range(hi - lo):
        vo = v[j]
        geo = ge[j]
        gio = gi[j]
        vn = (at(a, j) * vo + at(drive, j) + at(c, j) * (geo * (at(e1, j) - vo) + gio * (at(e2, j) - vo))
              + at(gext, j) * iext[j])
        _conductances(j, geo, gio, ge, gi, de, di, inbox, inbox2)
        _hold_or_commit(j, vo, vn, v, ref, flags, vth)


@njit(cache=True)
def coba_exp_euler_update(lo, hi, v, ge, gi, ref, inbox, inbox2, coef, iext, flags):
    """CobaLIF, exponential Euler: conductances frozen over the step, ``v`` solved exactly.

    ``g = 1 + ge + gi``; ``v_inf = (drive + ge e1 + gi e2 + gext iext) / g``;
    ``v' = v_inf + (v - v_inf) exp(-c g)`` with ``c = dt / tau_mem``.
    """
    v, ge, gi, ref, inbox, inbox2 = v[lo:hi], ge[lo:hi], gi[lo:hi], ref[lo:hi], inbox[lo:hi], inbox2[lo:hi]
    iext, flags = iext[lo:hi], flags[lo:hi]

    one = np.ones(1, dtype=v.dtype)[0]
    drive = row(coef, DRIVE, lo, hi)
    c = row(coef, C, lo, hi)
    de = row(coef, DS, lo, hi)
    di = row(coef, DS2, lo, hi)
    e1 = row(coef, E1, lo, hi)
    e2 = row(coef, E2, lo, hi)
    gext = row(coef, GEXT, lo, hi)
    vth = row(coef, VTH, lo, hi)
    for j in range(hi - lo):
        vo = v[j]
        geo = ge[j]
        gio = gi[j]
        g = one + geo + gio
        num = at(drive, j) + geo * at(e1, j) + gio * at(e2, j) + at(gext, j) * iext[j]
        vinf = num / g
        vn = vinf + (vo - vinf) * np.exp(-(at(c, j) * g))
        _conductances(j, geo, gio, ge, gi, de, di, inbox, inbox2)
        _hold_or_commit(j, vo, vn, v, ref, flags, vth)


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
