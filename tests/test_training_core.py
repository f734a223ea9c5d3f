"""The tensor core: surrogate gradients, the LIF step against Norse, the fused BPTT layer."""

import math

import pytest
import torch

from snnsim.core import Coefficients, Dynamics, State, derivative, lif_sequence, lif_step, smooth, spike
from snnsim.core.surrogate import SURROGATES
from snnsim.discretize import linear_coefficients
from snnsim.errors import NetworkError

D = torch.float64


def coefficients(n, dt=1e-3, scheme="euler", tau_mem=10e-3, tau_syn=5e-3, v_th=1.0, v_reset=0.0, v_leak=0.0,
                 i_bias=0.0, has_syn=True, leaky=True, requires_grad=False):
    t = lambda x: torch.full((n,), float(x), dtype=D, requires_grad=requires_grad)  # noqa: E731
    tm, ts, th = t(tau_mem), (t(tau_syn) if has_syn else None), t(v_th)
    cf = linear_coefficients(dt, scheme, tm, torch.ones(n, dtype=D), torch.full((n,), v_leak, dtype=D),
                             torch.full((n,), i_bias, dtype=D), ts, leaky=leaky, xp=torch)
    coef = Coefficients(cf["a"], cf["drive"], cf["c"], cf["ds"], cf["gext"], th, torch.full((n,), v_reset, dtype=D))
    return coef, (tm, ts, th)


# ----------------------------------------------------------------- surrogates
@pytest.mark.parametrize("name", SURROGATES)
@pytest.mark.parametrize("scale", [0.5, 3.0, 10.0])
def test_surrogate_gradient_is_the_derivative_of_its_smooth_function(name, scale):
    # points away from the kinks of the piecewise surrogates
    x = torch.linspace(-2.0, 2.0, 801, dtype=D)
    kinks = torch.tensor([0.0, 1 / scale, -1 / scale, 0.5 / scale, -0.5 / scale], dtype=D)
    x = x[(x[:, None] - kinks).abs().min(1).values > 1e-3]
    xg = x.clone().requires_grad_()
    spike(xg, name, scale).sum().backward()
    h = 1e-6
    fd = (smooth(x + h, name, scale) - smooth(x - h, name, scale)) / (2 * h)
    assert torch.allclose(xg.grad, fd, rtol=1e-6, atol=1e-8)
    # and the forward pass is the Heaviside step with v > v_th (strict)
    assert torch.equal(spike(torch.tensor([-1e-12, 0.0, 1e-12], dtype=D), name, scale),
                       torch.tensor([0.0, 0.0, 1.0], dtype=D))


def test_surrogate_closed_forms_at_hand_picked_points():
    s = 4.0
    assert float(derivative(torch.tensor(0.0, dtype=D), "superspike", s)) == pytest.approx(s / 2)
    assert float(derivative(torch.tensor(0.5, dtype=D), "superspike", s)) == pytest.approx(s / (2 * 9))
    assert float(derivative(torch.tensor(0.0, dtype=D), "arctan", s)) == pytest.approx(s / 2)
    assert float(derivative(torch.tensor(1 / (math.pi * s / 2), dtype=D), "arctan", s)) == pytest.approx(s / 4)
    assert float(derivative(torch.tensor(0.125, dtype=D), "triangle", s)) == pytest.approx(s * 0.5)
    assert float(derivative(torch.tensor(0.3, dtype=D), "triangle", s)) == 0.0
    assert float(derivative(torch.tensor(0.1, dtype=D), "straight_through", s)) == s
    assert float(derivative(torch.tensor(0.2, dtype=D), "straight_through", s)) == 0.0
    # each smooth function rises from 0 to 1
    for name in SURROGATES:
        lo, hi = smooth(torch.tensor([-1e6, 1e6], dtype=D), name, s)
        assert float(lo) == pytest.approx(0, abs=1e-6) and float(hi) == pytest.approx(1, abs=1e-6)


def test_bad_surrogate_names_the_field():
    from snnsim.core.surrogate import check_surrogate
    with pytest.raises(NetworkError, match="surrogate.*'sigmoidish'"):
        check_surrogate("population 'h'", "sigmoidish", 1.0)
    with pytest.raises(NetworkError, match="surrogate_scale.*-1"):
        check_surrogate("population 'h'", "arctan", -1.0)


# --------------------------------------------------------------- Norse oracle
def test_euler_cubalif_step_equals_norse_lifcell_over_1000_steps():
    pytest.importorskip("norse.torch")
    from norse.torch.functional.lif import LIFFeedForwardState, LIFParameters, lif_feed_forward_step
    torch.manual_seed(3)
    n, B, T, dt = 50, 4, 1000, 1e-3
    tau_mem, tau_syn, v_leak, v_th, v_reset = 20e-3, 5e-3, 0.1, 1.0, -0.2
    x = torch.rand(T, B, n, dtype=D) * 0.6
    p = LIFParameters(tau_syn_inv=torch.tensor(1 / tau_syn, dtype=D), tau_mem_inv=torch.tensor(1 / tau_mem, dtype=D),
                      v_leak=torch.tensor(v_leak, dtype=D), v_th=torch.tensor(v_th, dtype=D),
                      v_reset=torch.tensor(v_reset, dtype=D), method="super", alpha=torch.tensor(100.0, dtype=D))
    s_norse = LIFFeedForwardState(v=torch.full((B, n), v_leak, dtype=D), i=torch.zeros(B, n, dtype=D))
    coef, _ = coefficients(n, dt, "euler", tau_mem, tau_syn, v_th, v_reset, v_leak)
    dyn = Dynamics(has_syn=True)
    ours = State(torch.full((B, n), v_leak, dtype=D), torch.zeros(B, n, dtype=D))
    # Norse adds the input of step k to i before using it for v; in snnsim the input of step k
    # arrives at the end of the step (docs/models.md), so Norse sees ours one step later
    zs_n, zs_o, vs_n, vs_o = [], [], [], []
    for k in range(T):
        z_n, s_norse = lif_feed_forward_step(x[k - 1] if k else torch.zeros(B, n, dtype=D), s_norse, p, dt)
        z_o, _, ours = lif_step(ours, x[k], coef, dyn)
        zs_n.append(z_n), zs_o.append(z_o), vs_n.append(s_norse.v), vs_o.append(ours.v)
    zs_n, zs_o = torch.stack(zs_n), torch.stack(zs_o)
    assert zs_n.sum() > 500                               # the neurons really fire
    assert torch.equal(zs_n, zs_o)
    assert torch.allclose(torch.stack(vs_n), torch.stack(vs_o), atol=1e-6, rtol=0)
    # the fused layer is the same computation
    Z, V = lif_sequence(x, coef, dyn, State(torch.full((B, n), v_leak, dtype=D), torch.zeros(B, n, dtype=D)))
    assert torch.equal(Z, zs_o)
    assert torch.allclose(V, torch.stack(vs_n), atol=1e-6, rtol=0)


# ------------------------------------------------------------- fused vs steps
CASES = [dict(has_syn=s, subtract=r, rec=c, iext=i) for s in (True, False) for r in (False, True)
         for c in (False, True) for i in (False, True)]


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(k for k, v in c.items() if v) or "plain")
def test_fused_layer_equals_autograd_through_steps(case):
    torch.manual_seed(11)
    T, B, n = 40, 3, 12
    dyn = Dynamics(has_syn=case["has_syn"], subtract=case["subtract"], surrogate="arctan", scale=5.0)
    X = (torch.randn(T, B, n, dtype=D) * (3.0 if case["has_syn"] else 0.6)).requires_grad_()
    W = (torch.randn(n, n, dtype=D) * 0.3).requires_grad_() if case["rec"] else None
    iext = torch.rand(T, B, n, dtype=D) if case["iext"] else None
    weights = torch.linspace(-1, 1, n, dtype=D)
    v0 = torch.rand(B, n, dtype=D) * 0.5
    results = []
    for fused in (True, False):
        coef, (tm, ts, th) = coefficients(n, scheme="exact", has_syn=case["has_syn"], v_reset=-0.1,
                                          requires_grad=True)
        Z, V = lif_sequence(X, coef, dyn, State(v0, torch.zeros(B, n, dtype=D)), w_rec=W, iext=iext, fused=fused)
        loss = (Z * weights).sum() + (V ** 2).mean() * 10
        params = [X, tm, th] + ([ts] if case["has_syn"] else []) + ([W] if case["rec"] else [])
        results.append((Z, V, torch.autograd.grad(loss, params)))
    (Z1, V1, g1), (Z2, V2, g2) = results
    assert Z1.sum() > 10
    assert torch.equal(Z1, Z2)
    assert torch.allclose(V1, V2, rtol=0, atol=1e-12)
    for a, b in zip(g1, g2):
        assert b.abs().max() > 0
        assert torch.allclose(a, b, rtol=1e-9, atol=1e-12 * float(b.abs().max()))


def test_fused_backward_passes_gradcheck_for_a_leaky_integrator():
    # a readout never spikes, so its true gradient exists: check the written-out BPTT numerically
    torch.manual_seed(2)
    T, B, n = 12, 2, 5
    X = torch.randn(T, B, n, dtype=D, requires_grad=True)
    from snnsim.core.sequence import _LayerFunction
    dyn = Dynamics(has_syn=True, spiking=False)
    a, drive, c, ds, gext = (torch.rand(n, dtype=D, requires_grad=True) for _ in range(5))
    v_th = torch.full((n,), math.inf, dtype=D)
    v_reset = torch.zeros(n, dtype=D)
    v0, i0 = torch.rand(B, n, dtype=D), torch.rand(B, n, dtype=D)
    iext = torch.rand(T, B, n, dtype=D)

    def f(X, a, drive, c, ds, gext):
        return _LayerFunction.apply(X, iext, None, v0, i0, a, drive, c, ds, gext, v_th, v_reset, dyn)[1]
    assert torch.autograd.gradcheck(f, (X, a, drive, c, ds, gext))
    dyn_delta = Dynamics(has_syn=False, spiking=False)

    def g(X, a, drive):
        zero = torch.zeros(n, dtype=D)
        return _LayerFunction.apply(X, None, None, v0, i0, a, drive, zero, zero, zero, v_th, v_reset, dyn_delta)[1]
    assert torch.autograd.gradcheck(g, (X, a, drive))


def test_refractory_step_holds_v_and_blocks_spikes():
    # LIF with instantaneous synapses, t_ref = 2 steps: a kick of 2 fires; the next two steps hold v
    coef, _ = coefficients(1, has_syn=False, scheme="euler", tau_mem=10e-3)
    dyn = Dynamics(has_syn=False)
    state = State(torch.zeros(1, 1, dtype=D), torch.zeros(1, 1, dtype=D), torch.zeros(1, 1, dtype=torch.int64))
    ref_steps = torch.tensor([2])
    kicks = [2.0, 5.0, 5.0, 0.5]
    out = []
    for x in kicks:
        z, _, state = lif_step(state, torch.tensor([[x]], dtype=D), coef, dyn, ref_steps=ref_steps)
        out.append((float(z), float(state.v)))
    assert out[0] == (1.0, 0.0)                 # fired, reset to 0
    assert out[1] == (0.0, 0.0) and out[2] == (0.0, 0.0)   # refractory: kicks dropped, v held
    assert out[3] == (0.0, pytest.approx(0.5))  # free again: 0.9 * 0 + 0.5
    with pytest.raises(ValueError, match="refractoriness"):
        lif_sequence(torch.zeros(2, 1, 1, dtype=D), coef, dyn, state, fused=True)


@pytest.mark.parametrize("shift", [0, 1, 3])
def test_event_driven_input_projection_equals_the_dense_matmul(shift):
    from snnsim.core.sequence import project
    torch.manual_seed(4)
    T, B, n_pre, n_post = 20, 3, 30, 7
    s = (torch.rand(T, B, n_pre, dtype=D) < 0.05).to(D) * torch.rand(T, B, n_pre, dtype=D)   # sparse, graded
    w1 = torch.randn(n_post, n_pre, dtype=D, requires_grad=True)
    w2 = w1.detach().clone().requires_grad_()
    sparse = project(s, w1, shift)                        # event-driven path (s needs no gradient)
    dense = project(s, w2, shift, sparse_below=0.0)       # forced dense matmul
    expected = torch.zeros(T, B, n_post, dtype=D)
    for k in range(shift, T):                             # by hand
        expected[k] = s[k - shift] @ w1.detach().t()
    assert torch.allclose(sparse, expected, atol=1e-12) and torch.allclose(dense, expected, atol=1e-12)
    g = torch.randn(T, B, n_post, dtype=D)
    (sparse * g).sum().backward()
    (dense * g).sum().backward()
    assert torch.allclose(w1.grad, w2.grad, atol=1e-12) and w1.grad.abs().sum() > 0
