"""The two time loops of a trainable LIF layer (forward and backprop through time).

Pure functions over arrays of shape ``(T, B, N)`` (time, batch, neuron) and per-neuron
coefficient vectors ``(N,)``, in float32 or float64. The model, its order of operations
and the backward recurrences are written out in ``snnsim/core/sequence.py``; these loops
only run them without per-step Python or autograd overhead. One step ``k``::

    v_pre = a v + drive + c i + gext iext[k] (+ x[k] for instantaneous synapses)
    i'    = ds i + x[k]                           (current synapses)
    x[k]  = X[k] + W_rec z[k-1]                   (recurrent layers)
    z     = v_pre > v_th
    v'    = v_pre - z (v_th - v_reset)  (subtract)   or   v_reset where z  (value)
"""

import numpy as np
from numba import njit


@njit(cache=True)
def layer_forward(X, iext, w_rec_t, v0, i0, a, drive, c, ds, gext, vth, vreset,
                  has_iext, has_rec, delta, has_syn, spiking, subtract):
    """Run T steps. ``w_rec_t`` is the recurrent matrix transposed, ``(N_pre, N_post)``.

    Returns ``Z, V, I, VPRE`` (each ``(T, B, N)``): spikes, ``v`` and ``i`` after the step,
    and ``v`` before threshold and reset.
    """
    T, B, N = X.shape
    Z = np.zeros_like(X)
    V = np.empty_like(X)
    I = np.zeros_like(X)
    VPRE = np.empty_like(X)
    x = np.empty(N, X.dtype)
    for b in range(B):
        v = v0[b].copy()
        i = i0[b].copy()
        for k in range(T):
            for n in range(N):
                x[n] = X[k, b, n]
            if has_rec and k > 0:
                for p in range(N):
                    if Z[k - 1, b, p] != 0:
                        row = w_rec_t[p]
                        for n in range(N):
                            x[n] += row[n]
            for n in range(N):
                vn = a[n] * v[n] + drive[n] + c[n] * i[n]
                if has_iext:
                    vn = vn + gext[n] * iext[k, b, n]
                if delta:
                    vn = vn + x[n]
                if has_syn:
                    i[n] = ds[n] * i[n] + x[n]
                VPRE[k, b, n] = vn
                if spiking and vn > vth[n]:
                    Z[k, b, n] = 1
                    vn = vn - (vth[n] - vreset[n]) if subtract else vreset[n]
                v[n] = vn
                V[k, b, n] = vn
                I[k, b, n] = i[n]
    return Z, V, I, VPRE


@njit(cache=True)
def layer_backward(gZ, gV, SG, Z, V, I, VPRE, iext, w_rec, v0, i0, a, c, ds, gext, vth, vreset,
                   has_iext, has_rec, delta, has_syn, spiking, subtract):
    """Backprop through the T steps of :func:`layer_forward`.

    ``gZ``, ``gV``: gradients of the loss with respect to the spikes and to ``v`` after each
    step; ``SG``: the surrogate derivative at ``VPRE - v_th``; ``w_rec`` ``(N_post, N_pre)``.
    Returns ``gX (T, B, N)`` and per-neuron gradients ``(7, N)`` of
    ``a, drive, c, ds, gext, v_th, v_reset``.
    """
    T, B, N = gZ.shape
    gX = np.zeros_like(gZ)
    gcoef = np.zeros((7, N), gZ.dtype)
    gv = np.zeros((B, N), gZ.dtype)      # dL/dv after step k (carried back from step k + 1)
    gi = np.zeros((B, N), gZ.dtype)      # dL/di after step k
    gz_rec = np.zeros((B, N), gZ.dtype)  # dL/dz[k] through the recurrent input of step k + 1
    for k in range(T - 1, -1, -1):
        for b in range(B):
            for n in range(N):
                g_post = gV[k, b, n] + gv[b, n]
                vp = VPRE[k, b, n]
                if spiking:
                    z = Z[k, b, n]
                    gz = gZ[k, b, n] + gz_rec[b, n]
                    if subtract:
                        g_pre = g_post
                        gz -= g_post * (vth[n] - vreset[n])
                        gcoef[5, n] -= g_post * z
                        gcoef[6, n] += g_post * z
                    else:
                        g_pre = g_post * (1 - z)
                        gz += g_post * (vreset[n] - vp)
                        gcoef[6, n] += g_post * z
                    g_pre += gz * SG[k, b, n]
                    gcoef[5, n] -= gz * SG[k, b, n]
                else:
                    g_pre = g_post
                v_old = V[k - 1, b, n] if k > 0 else v0[b, n]
                i_old = I[k - 1, b, n] if k > 0 else i0[b, n]
                gcoef[0, n] += g_pre * v_old
                gcoef[1, n] += g_pre
                gcoef[2, n] += g_pre * i_old
                if has_iext:
                    gcoef[4, n] += g_pre * iext[k, b, n]
                gv[b, n] = g_pre * a[n]
                if has_syn:
                    g_in = gi[b, n]
                    gcoef[3, n] += g_in * i_old
                    gi[b, n] = g_in * ds[n] + g_pre * c[n]
                else:
                    g_in = g_pre
                gX[k, b, n] = g_in
        if has_rec and k > 0:
            gz_rec = np.dot(gX[k], w_rec)
    return gX, gcoef
