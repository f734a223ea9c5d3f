"""Encoders: feature vectors in ``[0, 1]`` ``(B, n)`` become input tensors ``(T, B, n)``.

- :func:`poisson_rate`: independent Bernoulli spikes with probability ``x max_rate dt`` per step
  (a Poisson train of rate ``x max_rate`` on the grid);
- :func:`latency`: one spike per feature, earlier for larger values: at step
  ``round((1 - x) (T - 1))``; features ``<= threshold`` stay silent;
- :func:`direct_current`: the constant current ``x gain`` (A) at every step, for injecting into a
  population (``TorchNetwork.forward(currents=...)``).

Randomness comes from an explicit ``torch.Generator`` so that a run is reproducible from its
seed (the trainer seeds one per batch).
"""

from __future__ import annotations

import torch

from snnsim.errors import NetworkError


def _check(x: torch.Tensor, steps: int, where: str) -> torch.Tensor:
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise NetworkError(where, "steps", f"must be a positive integer, got {steps!r}")
    if x.dim() != 2:
        raise NetworkError(where, "x", f"must have shape (batch, features), got {tuple(x.shape)}")
    if not torch.isfinite(x).all() or x.min() < 0 or x.max() > 1:
        raise NetworkError(where, "x", f"must lie in [0, 1], got values in [{float(x.min())!r}, {float(x.max())!r}]")
    return x


def poisson_rate(x: torch.Tensor, steps: int, dt: float, max_rate: float,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """Spikes ``(T, B, n)``: 1 with probability ``x * max_rate * dt`` at each step (``max_rate`` in Hz)."""
    x = _check(x, steps, "poisson_rate encoder")
    p = x * (max_rate * dt)
    if max_rate * dt > 1 or max_rate < 0:
        raise NetworkError("poisson_rate encoder", "max_rate", f"needs 0 <= max_rate * dt <= 1, got "
                           f"{max_rate!r} Hz * {dt!r} s")
    u = torch.rand((steps, *x.shape), generator=generator, dtype=torch.float64)
    return (u < p.double()).to(x.dtype)


def latency(x: torch.Tensor, steps: int, threshold: float = 0.0) -> torch.Tensor:
    """One spike per feature above ``threshold``, at step ``round((1 - x) * (steps - 1))``."""
    x = _check(x, steps, "latency encoder")
    k = torch.round((1 - x.double()) * (steps - 1)).long()
    out = torch.zeros((steps, *x.shape), dtype=x.dtype)
    fire = x > threshold
    b, n = torch.nonzero(fire, as_tuple=True)
    out[k[b, n], b, n] = 1
    return out


def direct_current(x: torch.Tensor, steps: int, gain: float) -> torch.Tensor:
    """The current ``x * gain`` (A), the same at every one of ``steps`` steps."""
    x = _check(x, steps, "direct_current encoder")
    return (x * gain).unsqueeze(0).expand(steps, *x.shape).contiguous()


ENCODERS = {"poisson": poisson_rate, "latency": latency, "current": direct_current}
