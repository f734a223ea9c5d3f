"""Surrogate gradients: a Heaviside step forward, the derivative of a smooth step backward.

Each surrogate is a smooth function ``smooth(x, scale)`` rising from 0 to 1 around ``x = 0``
(``x = v - v_th``, volts); the spike is ``x > 0`` and its gradient is ``d smooth / dx``.
``scale`` (1/V) sets the width: larger is sharper. The table is the whole list.

================  =====================================  ===========================================
name              smooth(x)                              derivative
================  =====================================  ===========================================
superspike        (s x / (1 + s |x|) + 1) / 2            s / (2 (1 + s |x|)^2)   (fast sigmoid, Zenke & Ganguli 2018)
arctan            arctan(pi s x / 2) / pi + 1 / 2        (s / 2) / (1 + (pi s x / 2)^2)
triangle          piecewise quadratic on |x| < 1/s       s max(0, 1 - s |x|)
straight_through  clamp(s x + 1/2, 0, 1)                 s on |x| < 1/(2 s), else 0
================  =====================================  ===========================================
"""

from __future__ import annotations

import math

import torch

from snnsim.errors import NetworkError

SURROGATES = ("superspike", "arctan", "triangle", "straight_through")


def check_surrogate(where: str, name: str, scale) -> tuple[str, float]:
    """Validate a surrogate name and scale; returns them."""
    if name not in SURROGATES:
        raise NetworkError(where, "surrogate", f"must be one of {SURROGATES}, got {name!r}")
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not math.isfinite(scale) or scale <= 0:
        raise NetworkError(where, "surrogate_scale", f"must be a finite number > 0, got {scale!r}")
    return name, float(scale)


def smooth(x: torch.Tensor, name: str, scale: float) -> torch.Tensor:
    """The smooth step whose derivative is the surrogate gradient."""
    s = scale
    if name == "superspike":
        return 0.5 * (s * x / (1 + s * x.abs()) + 1)
    if name == "arctan":
        return torch.atan(0.5 * math.pi * s * x) / math.pi + 0.5
    if name == "triangle":
        u = (s * x).clamp(-1, 1)
        return 0.5 + u - 0.5 * u * u.abs()
    if name == "straight_through":
        return (s * x + 0.5).clamp(0, 1)
    raise ValueError(name)


def derivative(x: torch.Tensor, name: str, scale: float) -> torch.Tensor:
    """``d smooth(x) / dx``, the gradient a spike passes back (a new tensor; in-place steps
    keep it to one allocation, as it runs over every neuron and step in training)."""
    s = scale
    if name == "superspike":        # s / (2 (1 + s|x|)^2)
        return x.abs().mul_(s).add_(1).square_().reciprocal_().mul_(0.5 * s)
    if name == "arctan":            # (s/2) / (1 + (pi s x / 2)^2)
        return x.mul(0.5 * math.pi * s).square_().add_(1).reciprocal_().mul_(0.5 * s)
    if name == "triangle":          # s max(0, 1 - s|x|)
        return x.abs().mul_(-s).add_(1).clamp_(min=0).mul_(s)
    if name == "straight_through":  # s on |x| < 1/(2s)
        return (x.abs() < 0.5 / s).to(x.dtype).mul_(s)
    raise ValueError(name)


class _Spike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, name, scale):
        ctx.save_for_backward(x)
        ctx.name, ctx.scale = name, scale
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * derivative(x, ctx.name, ctx.scale), None, None


def spike(x: torch.Tensor, name: str = "superspike", scale: float = 10.0) -> torch.Tensor:
    """``1.0`` where ``x > 0`` else ``0.0``; backward passes ``derivative(x, name, scale)``."""
    return _Spike.apply(x, name, scale)
