"""``T`` steps of one trainable layer as a single autograd node (BPTT written out).

Forward, for steps ``k = 0 .. T-1`` (the arithmetic of :func:`snnsim.core.neurons.lif_step`)::

    x[k]     = X[k] + W_rec z[k-1]                       (W_rec only for recurrent layers)
    v_pre[k] = a v[k-1] + drive + c i[k-1] + gext iext[k] (+ x[k] if instantaneous synapses)
    i[k]     = ds i[k-1] + x[k]                          (current synapses)
    z[k]     = H(v_pre[k] - v_th)
    v[k]     = v_pre[k] - z[k] (v_th - v_reset)   (subtract)   |   v_reset if z[k] else v_pre[k]

Backward, for ``k = T-1 .. 0``, with ``gv``/``gi`` the gradients reaching ``v[k]``/``i[k]``
from later steps and ``sg[k]`` the surrogate derivative at ``v_pre[k] - v_th``::

    gz      = dL/dz[k] + (dL/dx[k+1]) W_rec
    value:     g_pre = gv (1 - z) + (gz + gv (v_reset - v_pre)) sg
    subtract:  g_pre = gv + (gz - gv (v_th - v_reset)) sg
    dL/dx[k] = gi (current synapses) or g_pre (instantaneous)
    gv <- a g_pre ;  gi <- ds gi + c g_pre

On CPU tensors both loops run in Numba (``snnsim.kernels.training``); elsewhere (CUDA) the
layer is stepped with :func:`lif_step` under autograd. Refractory layers always take the step
path (the refractory counter is not differentiable and is rare in trained networks).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Optional

import numpy as np
import torch

from snnsim.core.neurons import Coefficients, Dynamics, State, lif_step
from snnsim.core.surrogate import derivative


#: weight gradients are summed in this many fixed slices of the batch (at most), so that their
#: rounding does not depend on the number of threads. 1: batch item after batch item, the order
#: of the one-thread sums before (8 slices moved the default digits run, seed 0, from 97.2 % to
#: 88.9 % test accuracy: the trajectory is that sensitive to rounding)
WEIGHT_GRAD_SLICES = 1

_POOL: Optional[ThreadPoolExecutor] = None
_POOL_LOCK = threading.Lock()


def batch_slices(B: int) -> list[tuple[int, int]]:
    """Split ``B`` batch items into one contiguous slice per torch thread (at most ``B``)."""
    parts = max(1, min(B, torch.get_num_threads()))
    edges = np.linspace(0, B, parts + 1).round().astype(int)
    return [(int(lo), int(hi)) for lo, hi in zip(edges[:-1], edges[1:]) if hi > lo]


def run_parallel(calls: list) -> None:
    """Run ``fn(*args)`` for every ``(fn, args)`` in ``calls``: all but the last in pool threads,
    the last in the calling thread.

    The Numba kernels release the GIL; the pool threads wait passively (no spinning), so a
    busy machine slows them down without the collapse of two OpenMP runtimes fighting for cores.
    """
    global _POOL
    futures = []
    if len(calls) > 1:
        with _POOL_LOCK:
            if _POOL is None or _POOL._max_workers < len(calls) - 1:
                _POOL = ThreadPoolExecutor(max_workers=len(calls) - 1, thread_name_prefix="snnsim-kernel")
            pool = _POOL
        futures = [pool.submit(fn, *args) for fn, args in calls[:-1]]
    fn, args = calls[-1]
    fn(*args)
    for future in futures:
        future.result()


def over_batch(kernel, B: int, *args) -> None:
    """Run ``kernel(*args, b0, b1)`` on one slice of the batch per thread (:func:`batch_slices`)."""
    run_parallel([(kernel, (*args, lo, hi)) for lo, hi in batch_slices(B)])


def _per_neuron(t: torch.Tensor, N: int):
    """A coefficient (scalar or ``(N,)``) as a contiguous numpy vector of length ``N``."""
    return t.detach().expand(N).contiguous().numpy()


def _np(t: Optional[torch.Tensor], like: torch.Tensor):
    """A contiguous numpy view of ``t``; for ``None`` a zero array shaped like one row of ``like``
    (``(1, ..., 1, N)``), which the kernels read in its place."""
    if t is None:
        dtype = np.float32 if like.dtype == torch.float32 else np.float64
        return np.zeros((1,) * (like.dim() - 1) + (like.shape[-1],), dtype=dtype)
    return t.detach().contiguous().numpy()


class _LayerFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, X, iext, w_rec, v0, i0, a, drive, c, ds, gext, v_th, v_reset, dyn):
        from snnsim.kernels.training import layer_forward
        N = X.shape[-1]
        w_rec_t = None if w_rec is None else w_rec.detach().t().contiguous()
        Z, V, I, VPRE = (torch.empty(X.shape, dtype=X.dtype) for _ in range(4))
        over_batch(layer_forward,
                   X.shape[1], _np(X, X), _np(iext, X), _np(w_rec_t, X[0]), _np(v0, X), _np(i0, X),
                   *(_per_neuron(t, N) for t in (a, drive, c, ds, gext, v_th, v_reset)),
                   iext is not None, w_rec is not None, dyn.delta, dyn.has_syn, dyn.spiking, dyn.subtract,
                   Z.numpy(), V.numpy(), I.numpy(), VPRE.numpy())
        ctx.dyn = dyn
        ctx.save_for_backward(Z, V, I, VPRE, iext, w_rec, v0, i0, a, c, ds, gext, v_th, v_reset)
        ctx.shapes = [t.shape for t in (a, drive, c, ds, gext, v_th, v_reset)]
        ctx.mark_non_differentiable(VPRE, I)
        return Z, V, VPRE, I

    @staticmethod
    def backward(ctx, gZ, gV, _gVPRE, _gI):
        from snnsim.kernels.training import layer_backward
        Z, V, I, VPRE, iext, w_rec, v0, i0, a, c, ds, gext, v_th, v_reset = ctx.saved_tensors
        dyn = ctx.dyn
        N = Z.shape[-1]
        if dyn.spiking:
            sg = derivative(VPRE - v_th.detach(), dyn.surrogate, dyn.scale)
        else:
            sg = torch.zeros_like(Z)
        gZ = torch.zeros_like(Z) if gZ is None else gZ
        gV = torch.zeros_like(V) if gV is None else gV
        B = Z.shape[1]
        gX = torch.empty_like(Z)
        partial = torch.empty((B, 7, N), dtype=Z.dtype)
        args = (_np(gZ, Z), _np(gV, Z), _np(sg, Z), Z.numpy(), V.numpy(), I.numpy(), VPRE.numpy(),
                _np(iext, Z), _np(w_rec, Z[0]), _np(v0, Z), _np(i0, Z),
                *(_per_neuron(t, N) for t in (a, c, ds, gext, v_th, v_reset)),
                iext is not None, w_rec is not None, dyn.delta, dyn.has_syn, dyn.spiking, dyn.subtract,
                gX.numpy(), partial.numpy())
        if w_rec is None:
            over_batch(layer_backward, B, *args)
        else:
            # the recurrent gradient is a BLAS product per step inside the kernel; one BLAS thread
            # per batch slice (our threads already share the cores; BLAS's own would fight them)
            from threadpoolctl import threadpool_limits
            with threadpool_limits(limits=1, user_api="blas"):
                over_batch(layer_backward, B, *args)
        gcoef = partial[0].clone()
        for b in range(1, B):       # in batch order, whatever the number of threads
            gcoef += partial[b]
        g_w_rec = None
        if w_rec is not None and ctx.needs_input_grad[2]:
            g_w_rec = weight_grad(Z, gX, 1)   # sum_k gX[k]^T Z[k-1], the same with any number of threads
        # per-neuron sums back to each coefficient's own shape (scalars were expanded)
        g = [gcoef[j].sum().reshape(shape) if tuple(shape) != (N,) else gcoef[j]
             for j, shape in enumerate(ctx.shapes)]
        return (gX, None, g_w_rec, None, None, *g, None)


def lif_sequence(X: torch.Tensor, coef: Coefficients, dyn: Dynamics, state: State, *,
                 w_rec: Optional[torch.Tensor] = None, iext: Optional[torch.Tensor] = None,
                 ref_steps: Optional[torch.Tensor] = None, fused: Optional[bool] = None,
                 return_state: bool = False):
    """Run a layer for ``T`` steps. Returns spikes ``Z`` and membrane ``V`` after each step, ``(T, B, N)``;
    with ``return_state`` also the synaptic current ``I`` after each step and the final :class:`State`
    (to continue with the next ``T`` steps).

    ``X``: feed-forward input arriving at the end of each step ``(T, B, N)``; ``w_rec``: recurrent
    weights ``(N, N)`` (post, pre) with a one-step delay; ``iext``: injected current ``(T, B, N)``;
    ``state``: initial ``v``, ``i`` ``(B, N)`` (``ref`` and ``ref_steps`` for refractory layers).
    ``fused=None`` takes the Numba loop when the tensors are on the CPU and nothing is refractory.
    """
    refractory = state.ref is not None
    if fused is None:
        fused = X.device.type == "cpu" and not refractory
    if fused:
        if refractory:
            raise ValueError("the fused layer has no refractoriness; use fused=False")
        Z, V, _, I = _LayerFunction.apply(X, iext, w_rec, state.v, state.i, *coef, dyn)
        if return_state:
            end = State(V[-1], I[-1]) if len(X) else state
            return Z, V, I, end
        return Z, V
    zs, vs, is_ = [], [], []
    z = None
    for k in range(X.shape[0]):
        x = X[k]
        if w_rec is not None and z is not None:
            x = x + z @ w_rec.t()
        z, _, state = lif_step(state, x, coef, dyn, None if iext is None else iext[k], ref_steps)
        zs.append(z)
        vs.append(state.v)
        is_.append(state.i)
    empty = X[:0]
    Z, V = (torch.stack(zs), torch.stack(vs)) if zs else (empty, empty)
    if return_state:
        return Z, V, (torch.stack(is_) if is_ else empty), state
    return Z, V


class _SparseProjection(torch.autograd.Function):
    @staticmethod
    def forward(ctx, s, w, shift):
        from snnsim.kernels.training import sparse_project
        s_np = s.detach().to(w.dtype).contiguous()
        ctx.save_for_backward(s_np)
        ctx.shift = shift
        T, B, _ = s.shape
        X = torch.empty((T, B, w.shape[0]), dtype=w.dtype)
        over_batch(sparse_project, B, s_np.numpy(), w.detach().t().contiguous().numpy(), shift, X.numpy())
        return X

    @staticmethod
    def backward(ctx, gX):
        (s,) = ctx.saved_tensors
        return None, weight_grad(s, gX, ctx.shift), None


def weight_grad(s: torch.Tensor, gX: torch.Tensor, shift: int) -> torch.Tensor:
    """``sum_k gX[k]^T s[k - shift]`` ``(n_post, n_pre)``, the same bit for bit with any number of threads.

    One partial sum per fixed slice of the batch (at most ``WEIGHT_GRAD_SLICES``, whatever the
    number of threads), the slices shared out among the threads, the sums added in slice order.
    (A BLAS product over ``T B`` rows splits its sum differently with 1 and 2 threads.)
    """
    from snnsim.kernels.training import sparse_project_weight_grad
    B = s.shape[1]
    edges = np.linspace(0, B, min(B, WEIGHT_GRAD_SLICES) + 1).round().astype(int)
    slices = [(int(lo), int(hi)) for lo, hi in zip(edges[:-1], edges[1:]) if hi > lo]
    parts = torch.zeros((max(1, len(slices)), s.shape[2], gX.shape[2]), dtype=gX.dtype)
    gx = gX.contiguous().numpy()
    s_np = s.detach().to(gX.dtype).contiguous().numpy()

    def some(mine):
        for j in mine:
            sparse_project_weight_grad(s_np, gx, shift, parts[j].numpy(), *slices[j])
    n_threads = max(1, min(len(slices), torch.get_num_threads()))
    if slices:
        run_parallel([(some, (range(t, len(slices), n_threads),)) for t in range(n_threads)])
    g = parts[0].clone()
    for j in range(1, len(slices)):
        g += parts[j]
    return g.t()


class _DenseProjection(torch.autograd.Function):
    """:func:`project`'s dense product on the CPU, with a weight gradient that does not depend on
    the number of threads (:func:`weight_grad`)."""

    @staticmethod
    def forward(ctx, s, w, shift):
        T, B, n_pre = s.shape
        sw = s.detach().to(w.dtype)
        ctx.save_for_backward(sw, w.detach())
        ctx.shift = shift
        part = (sw[:T - shift].reshape(-1, n_pre) @ w.detach().t()).reshape(T - shift, B, w.shape[0])
        if shift == 0:
            return part
        return torch.cat([torch.zeros((shift, B, w.shape[0]), dtype=w.dtype), part])

    @staticmethod
    def backward(ctx, gX):
        s, w = ctx.saved_tensors
        T, B, n_pre = s.shape
        shift = ctx.shift
        gs = None
        if ctx.needs_input_grad[0]:
            gs = torch.zeros((T, B, n_pre), dtype=gX.dtype)
            gs[:T - shift] = (gX[shift:].reshape(-1, gX.shape[2]) @ w).reshape(T - shift, B, n_pre)
        gw = weight_grad(s, gX, shift) if ctx.needs_input_grad[1] else None
        return gs, gw, None


def _density(s: torch.Tensor) -> float:
    """Fraction of non-zero entries, estimated on at most ~64k evenly spaced entries."""
    flat = s.reshape(-1)
    step = max(1, flat.numel() // 65536)
    sample = flat[::step]
    return float(torch.count_nonzero(sample)) / max(1, sample.numel())


def project(s: torch.Tensor, w: torch.Tensor, shift: int, sparse_below: float = 0.2) -> torch.Tensor:
    """Synaptic input ``X[k] = s[k - shift] @ w.T`` (zero for ``k < shift``), ``(T, B, n_post)``.

    ``s`` ``(T, B, n_pre)`` are spikes (0/1, or graded), ``w`` ``(n_post, n_pre)``. Input that needs
    no gradient (a network input) and is sparse (fewer than ``sparse_below`` non-zero) takes an
    event-driven path on the CPU: only the rows of inputs that spiked are added, in ascending
    input order; otherwise one dense matmul over all steps. On the CPU both paths take their
    weight gradient from :func:`weight_grad` (the same bit for bit with any number of threads).
    """
    T, B, n_pre = s.shape
    n_post = w.shape[0]
    if (s.device.type == "cpu" and not s.requires_grad and w.dtype in (torch.float32, torch.float64)
            and T > shift and _density(s) < sparse_below):
        return _SparseProjection.apply(s, w, shift)
    if shift >= T:
        return torch.zeros((T, B, n_post), dtype=w.dtype, device=w.device) + 0 * w.sum()  # w stays in the graph
    if s.device.type == "cpu" and w.dtype in (torch.float32, torch.float64) and s.dtype.is_floating_point:
        return _DenseProjection.apply(s, w, shift)
    part = (s[:T - shift].to(w.dtype).reshape(-1, n_pre) @ w.t()).reshape(T - shift, B, n_post)
    if shift == 0:
        return part
    return torch.cat([torch.zeros((shift, B, n_post), dtype=w.dtype, device=w.device), part])
