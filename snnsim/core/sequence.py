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

from typing import Optional

import torch

from snnsim.core.neurons import Coefficients, Dynamics, State, lif_step
from snnsim.core.surrogate import derivative


def _np(t: Optional[torch.Tensor], like: torch.Tensor):
    """A contiguous numpy view of ``t`` (a 1-element dummy for ``None``)."""
    if t is None:
        return torch.zeros((1,) * max(like.dim(), 1), dtype=like.dtype).numpy()
    return t.detach().contiguous().numpy()


class _LayerFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, X, iext, w_rec, v0, i0, a, drive, c, ds, gext, v_th, v_reset, dyn):
        from snnsim.kernels.training import layer_forward
        N = X.shape[-1]
        full = lambda t: t.detach().expand(N).contiguous().numpy()  # noqa: E731
        w_rec_t = None if w_rec is None else w_rec.detach().t().contiguous()
        Z, V, I, VPRE = layer_forward(
            _np(X, X), _np(iext, X), _np(w_rec_t, X[0]), _np(v0, X), _np(i0, X),
            full(a), full(drive), full(c), full(ds), full(gext), full(v_th), full(v_reset),
            iext is not None, w_rec is not None, dyn.delta, dyn.has_syn, dyn.spiking, dyn.subtract)
        Z, V, I, VPRE = (torch.from_numpy(t) for t in (Z, V, I, VPRE))
        ctx.dyn = dyn
        ctx.save_for_backward(Z, V, I, VPRE, iext, w_rec, v0, i0, a, c, ds, gext, v_th, v_reset)
        ctx.shapes = [t.shape for t in (a, drive, c, ds, gext, v_th, v_reset)]
        ctx.mark_non_differentiable(VPRE)
        return Z, V, VPRE

    @staticmethod
    def backward(ctx, gZ, gV, _gVPRE):
        from snnsim.kernels.training import layer_backward
        Z, V, I, VPRE, iext, w_rec, v0, i0, a, c, ds, gext, v_th, v_reset = ctx.saved_tensors
        dyn = ctx.dyn
        N = Z.shape[-1]
        full = lambda t: t.detach().expand(N).contiguous().numpy()  # noqa: E731
        if dyn.spiking:
            sg = derivative(VPRE - v_th.detach(), dyn.surrogate, dyn.scale)
        else:
            sg = torch.zeros_like(Z)
        gZ = torch.zeros_like(Z) if gZ is None else gZ
        gV = torch.zeros_like(V) if gV is None else gV
        gX, gcoef = layer_backward(
            _np(gZ, Z), _np(gV, Z), _np(sg, Z), Z.numpy(), V.numpy(), I.numpy(), VPRE.numpy(),
            _np(iext, Z), _np(w_rec, Z[0]), _np(v0, Z), _np(i0, Z),
            full(a), full(c), full(ds), full(gext), full(v_th), full(v_reset),
            iext is not None, w_rec is not None, dyn.delta, dyn.has_syn, dyn.spiking, dyn.subtract)
        gX = torch.from_numpy(gX)
        gcoef = torch.from_numpy(gcoef)
        g_w_rec = None
        if w_rec is not None and ctx.needs_input_grad[2]:
            T = Z.shape[0]
            g_w_rec = gX[1:].reshape(-1, N).t() @ Z[:-1].reshape(-1, N)
        # per-neuron sums back to each coefficient's own shape (scalars were expanded)
        g = [gcoef[j].sum().reshape(shape) if tuple(shape) != (N,) else gcoef[j]
             for j, shape in enumerate(ctx.shapes)]
        return (gX, None, g_w_rec, None, None, *g, None)


def lif_sequence(X: torch.Tensor, coef: Coefficients, dyn: Dynamics, state: State, *,
                 w_rec: Optional[torch.Tensor] = None, iext: Optional[torch.Tensor] = None,
                 ref_steps: Optional[torch.Tensor] = None, fused: Optional[bool] = None
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """Run a layer for ``T`` steps. Returns spikes ``Z`` and membrane ``V`` after each step, ``(T, B, N)``.

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
        Z, V, _ = _LayerFunction.apply(X, iext, w_rec, state.v, state.i, *coef, dyn)
        return Z, V
    zs, vs = [], []
    z = None
    for k in range(X.shape[0]):
        x = X[k]
        if w_rec is not None and z is not None:
            x = x + z @ w_rec.t()
        z, _, state = lif_step(state, x, coef, dyn, None if iext is None else iext[k], ref_steps)
        zs.append(z)
        vs.append(state.v)
    return torch.stack(zs), torch.stack(vs)


class _SparseProjection(torch.autograd.Function):
    @staticmethod
    def forward(ctx, s, w, shift):
        from snnsim.kernels.training import sparse_project
        s_np = s.detach().to(w.dtype).contiguous()
        ctx.save_for_backward(s_np)
        ctx.shift = shift
        return torch.from_numpy(sparse_project(s_np.numpy(), w.detach().t().contiguous().numpy(), shift))

    @staticmethod
    def backward(ctx, gX):
        from snnsim.kernels.training import sparse_project_weight_grad
        (s,) = ctx.saved_tensors
        g_t = sparse_project_weight_grad(s.numpy(), gX.contiguous().numpy(), ctx.shift)
        return None, torch.from_numpy(g_t).t(), None


def project(s: torch.Tensor, w: torch.Tensor, shift: int, sparse_below: float = 0.2) -> torch.Tensor:
    """Synaptic input ``X[k] = s[k - shift] @ w.T`` (zero for ``k < shift``), ``(T, B, n_post)``.

    ``s`` ``(T, B, n_pre)`` are spikes (0/1, or graded), ``w`` ``(n_post, n_pre)``. Input that needs
    no gradient (a network input) and is sparse (fewer than ``sparse_below`` non-zero) takes an
    event-driven path on the CPU: only the rows of inputs that spiked are added, in ascending
    input order; otherwise one dense matmul over all steps.
    """
    T, B, n_pre = s.shape
    n_post = w.shape[0]
    if (s.device.type == "cpu" and not s.requires_grad and w.dtype in (torch.float32, torch.float64)
            and T > shift and float(torch.count_nonzero(s)) < sparse_below * s.numel()):
        return _SparseProjection.apply(s, w, shift)
    out = torch.zeros((T, B, n_post), dtype=w.dtype, device=w.device)
    if shift >= T:
        return out + 0 * w.sum()  # keeps the weight in the graph
    part = (s[:T - shift].to(w.dtype).reshape(-1, n_pre) @ w.t()).reshape(T - shift, B, n_post)
    return part if shift == 0 else torch.cat([out[:shift], part])
