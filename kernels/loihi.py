"""One step of Loihi's current-based LIF, in fixed point (bit-accurate) and in float.

Coefficient rows (see :mod:`.neurons`): ``A`` holds ``dv``, ``DS`` holds ``du``, ``DRIVE``
the bias (state units, already ``mant << exp``), ``VTH`` the threshold in state units
(already ``vth << 6``). ``v`` and ``u`` (the ``syn`` slot) are float64 arrays; in fixed
point they hold integers, which float64 represents exactly (|x| < 2**53). ``inbox`` is
the summed weight mantissas (``mant << exp``) that arrive this step.

Fixed point, in the order of Lava's ``PyLifModelBitAcc`` (``docs/loihi.md``):

1. ``u = trunc(u * (4096 - du - 1) / 2**12)`` (toward zero), in int64, then int32;
2. ``u += a << 6`` in int32 arithmetic (wraps at 32 bits like numpy's int32);
3. one 24-bit wrap: above 2**23 subtract 2**24; at or below -2**23 add 2**24 to the
   value of step 2 (a single correction, as in Lava);
4. ``v = clip(trunc(v * (4096 - dv) / 2**12) + u + bias, -(2**23 - 1), 2**23 - 1)``;
5. spike if ``v > vth << 6`` (the reset to 0 is :func:`.neurons.fire_and_reset`'s).

Float (Lava's ``floating_pt``): ``u = u (1 - du) + a``, ``v = v (1 - dv) + u + bias``.
No refractory period (Lava's LIF has none).
"""

import numpy as np
from numba import njit

from .neurons import A, DRIVE, DS, VTH, at, row

_UNITY = 4096
_LIMIT = 1 << 23


@njit(cache=True, inline="always")
def _decay(x, keep):
    """``sign(x * keep) * (|x * keep| >> 12)`` on int64: truncation toward zero."""
    p = x * keep
    return -((-p) >> 12) if p < 0 else p >> 12


@njit(cache=True, inline="always")
def _int32(x):
    """Wrap an int64 to int32 (two's complement), as numpy's int32 arithmetic does."""
    return ((x + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


@njit(cache=True)
def loihi_fixed_update(lo, hi, v, u, inbox, coef, flags):
    """Fixed-point Loihi LIF for neurons ``lo:hi`` (see the module docstring)."""
    v, u, inbox, flags = v[lo:hi], u[lo:hi], inbox[lo:hi], flags[lo:hi]
    dv, du, bias, vth = row(coef, A, lo, hi), row(coef, DS, lo, hi), row(coef, DRIVE, lo, hi), row(coef, VTH, lo, hi)
    for j in range(hi - lo):
        a = np.int64(inbox[j])
        inbox[j] = 0
        cur = _int32(_decay(np.int64(u[j]), _UNITY - np.int64(at(du, j)) - 1))
        cur = _int32(cur + _int32(a << 6))
        wrapped = cur - 2 * _LIMIT if cur > _LIMIT else cur
        if wrapped <= -_LIMIT:
            wrapped = cur + 2 * _LIMIT
        u[j] = wrapped
        vn = _int32(_decay(np.int64(v[j]), _UNITY - np.int64(at(dv, j))))
        vn = vn + wrapped + np.int64(at(bias, j))
        vn = min(max(vn, -_LIMIT + 1), _LIMIT - 1)
        v[j] = vn
        flags[j] = vn > at(vth, j)


@njit(cache=True)
def loihi_float_update(lo, hi, v, u, inbox, coef, flags):
    """Float Loihi LIF for neurons ``lo:hi``: ``u = u (1 - du) + a``; ``v = v (1 - dv) + u + bias``."""
    v, u, inbox, flags = v[lo:hi], u[lo:hi], inbox[lo:hi], flags[lo:hi]
    dv, du, bias, vth = row(coef, A, lo, hi), row(coef, DS, lo, hi), row(coef, DRIVE, lo, hi), row(coef, VTH, lo, hi)
    for j in range(hi - lo):
        a = inbox[j]
        inbox[j] = 0
        un = u[j] * (1 - at(du, j)) + a
        u[j] = un
        vn = v[j] * (1 - at(dv, j)) + un + at(bias, j)
        v[j] = vn
        flags[j] = vn > at(vth, j)
