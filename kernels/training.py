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


@njit(cache=True, nogil=True)
def layer_forward(X, iext, w_rec_t, v0, i0, a, drive, c, ds, gext, vth, vreset,
                  has_iext, has_rec, delta, has_syn, spiking, subtract, Z, V, I, VPRE, b0, b1):
    """Run T steps. ``w_rec_t`` is the recurrent matrix transposed, ``(N_pre, N_post)``;
    ``iext`` is ``(T, B, N)`` or, when ``has_iext`` is false, any ``(1, 1, N)`` array.

    Fills batch items ``b0 .. b1-1`` of ``Z, V, I, VPRE`` (each ``(T, B, N)``): spikes, ``v`` and
    ``i`` after the step, and ``v`` before threshold and reset. Batch items are independent, so
    slices of the batch can run in parallel threads (the kernels release the GIL). The inner loops are
    branch-free (inputs are routed by multiplying with 0 or 1, exactly as the clock engine
    does), so they vectorise.
    """
    T, B, N = X.shape
    to_v = 1.0 if delta else 0.0
    to_i = 1.0 if has_syn else 0.0
    thresholds = vth.copy()
    if not spiking:
        thresholds[:] = np.inf
    for b in range(b0, b1):
        x = np.empty(N, X.dtype)
        for k in range(T):
            v_old = V[k - 1, b] if k > 0 else v0[b]
            i_old = I[k - 1, b] if k > 0 else i0[b]
            ie = iext[k, b] if has_iext else iext[0, 0]
            x[:] = X[k, b]
            if has_rec and k > 0:
                z_prev = Z[k - 1, b]
                for p in range(N):
                    if z_prev[p] != 0:
                        row = w_rec_t[p]
                        for n in range(N):
                            x[n] += row[n]
            z_row, v_row, i_row, vp_row = Z[k, b], V[k, b], I[k, b], VPRE[k, b]
            for n in range(N):
                vn = a[n] * v_old[n] + drive[n] + c[n] * i_old[n]
                if has_iext:
                    vn = vn + gext[n] * ie[n]
                vn = vn + to_v * x[n]
                i_row[n] = ds[n] * i_old[n] + to_i * x[n]
                vp_row[n] = vn
                fired = vn > thresholds[n]
                z_row[n] = 1.0 if fired else 0.0
                if subtract:
                    v_row[n] = vn - z_row[n] * (vth[n] - vreset[n])
                else:
                    v_row[n] = vreset[n] if fired else vn


@njit(cache=True, nogil=True)
def layer_backward(gZ, gV, SG, Z, V, I, VPRE, iext, w_rec, v0, i0, a, c, ds, gext, vth, vreset,
                   has_iext, has_rec, delta, has_syn, spiking, subtract, gX, partial, b0, b1):
    """Backprop through the T steps of :func:`layer_forward`.

    ``gZ``, ``gV``: gradients of the loss with respect to the spikes and to ``v`` after each
    step; ``SG``: the surrogate derivative at ``VPRE - v_th`` (zeros for a layer that never
    spikes); ``w_rec`` ``(N_post, N_pre)``. Fills batch items ``b0 .. b1-1`` of ``gX (T, B, N)``
    and of ``partial (B, 7, N)``, each item's gradients of ``a, drive, c, ds, gext, v_th,
    v_reset`` (summed over the batch by the caller, in batch order).
    """
    T, B, N = gZ.shape
    to_v = 1.0 if delta else 0.0
    to_i = 1.0 if has_syn else 0.0
    gv = np.zeros((b1 - b0, N), gZ.dtype)     # dL/dv after step k (carried back from step k + 1)
    gi = np.zeros((b1 - b0, N), gZ.dtype)     # dL/di after step k
    gz_rec = np.zeros((b1 - b0, N), gZ.dtype)  # dL/dz[k] through the recurrent input of step k + 1
    partial[b0:b1] = 0
    for k in range(T - 1, -1, -1):
        for b in range(b0, b1):
            ga, gdrive, gc, gds = partial[b, 0], partial[b, 1], partial[b, 2], partial[b, 3]
            ggext, gth, gvr = partial[b, 4], partial[b, 5], partial[b, 6]
            gvb, gib, gzr = gv[b - b0], gi[b - b0], gz_rec[b - b0]
            v_old = V[k - 1, b] if k > 0 else v0[b]
            i_old = I[k - 1, b] if k > 0 else i0[b]
            ie = iext[k, b] if has_iext else iext[0, 0]   # a row of zeros without injected current
            z_row, vp_row, sg_row = Z[k, b], VPRE[k, b], SG[k, b]
            gz_row, gv_row, gx_row = gZ[k, b], gV[k, b], gX[k, b]
            # two copies of the loop, so that neither carries a branch (they vectorise)
            if subtract:
                for n in range(N):
                    g_post = gv_row[n] + gvb[n]
                    z = z_row[n]
                    gz = gz_row[n] + gzr[n] - g_post * (vth[n] - vreset[n])
                    gth[n] -= g_post * z + gz * sg_row[n]
                    gvr[n] += g_post * z
                    g_pre = g_post + gz * sg_row[n]
                    ga[n] += g_pre * v_old[n]
                    gdrive[n] += g_pre
                    gc[n] += g_pre * i_old[n]
                    ggext[n] += g_pre * ie[n]
                    g_i = gib[n]
                    gds[n] += g_i * i_old[n]
                    gx_row[n] = to_i * g_i + to_v * g_pre
                    gvb[n] = g_pre * a[n]
                    gib[n] = g_i * ds[n] + g_pre * c[n]
            else:
                for n in range(N):
                    g_post = gv_row[n] + gvb[n]
                    z = z_row[n]
                    gz = gz_row[n] + gzr[n] + g_post * (vreset[n] - vp_row[n])
                    gth[n] -= gz * sg_row[n]
                    gvr[n] += g_post * z
                    g_pre = g_post * (1 - z) + gz * sg_row[n]
                    ga[n] += g_pre * v_old[n]
                    gdrive[n] += g_pre
                    gc[n] += g_pre * i_old[n]
                    ggext[n] += g_pre * ie[n]
                    g_i = gib[n]
                    gds[n] += g_i * i_old[n]
                    gx_row[n] = to_i * g_i + to_v * g_pre
                    gvb[n] = g_pre * a[n]
                    gib[n] = g_i * ds[n] + g_pre * c[n]
        if has_rec and k > 0:
            # dL/dz[k-1] through x[k] = ... + W z[k-1], for the whole slice at once (BLAS gemm)
            np.dot(gX[k, b0:b1], w_rec, gz_rec)


@njit(cache=True, nogil=True)
def sparse_project(S, w_t, shift, X, b0, b1):
    """``X[k] = S[k - shift] @ w_t`` for mostly-zero ``S`` ``(T, B, n_pre)``; ``w_t`` ``(n_pre, n_post)``.

    Fills batch items ``b0 .. b1-1`` of ``X (T, B, n_post)`` (rows ``k < shift`` are zero). Only
    the rows of inputs that are non-zero are added, in ascending input order (the order in
    which the clock engine sums synaptic input).
    """
    T, B, n_pre = S.shape
    n_post = w_t.shape[1]
    acc = np.empty(n_post, w_t.dtype)
    active = np.empty(n_pre, np.int64)
    for b in range(b0, b1):
        for k in range(min(shift, T)):
            X[k, b, :] = 0
        for k in range(shift, T):
            s_row = S[k - shift, b]
            m = 0
            for p in range(n_pre):
                if s_row[p] != 0:
                    active[m] = p
                    m += 1
            acc[:] = 0
            for j in range(m):
                p = active[j]
                s = s_row[p]
                for n in range(n_post):
                    acc[n] += s * w_t[p, n]
            X[k, b, :] = acc


@njit(cache=True, nogil=True)
def sparse_project_weight_grad(S, gX, shift, g, b0, b1):
    """Add ``sum_k S[k - shift]^T gX[k]`` over batch items ``b0 .. b1-1`` into ``g (n_pre, n_post)``:
    the gradient of :func:`sparse_project` with respect to ``w_t``."""
    T, B, n_pre = S.shape
    n_post = gX.shape[2]
    for b in range(b0, b1):
        for k in range(shift, T):
            s_row = S[k - shift, b]
            gx = gX[k, b]
            for p in range(n_pre):
                s = s_row[p]
                if s != 0:
                    for n in range(n_post):
                        g[p, n] += s * gx[n]
