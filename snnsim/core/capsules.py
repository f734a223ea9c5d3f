"""Capsule operations (Sabour, Frosst & Hinton 2017): squash, routing by agreement, margin loss.

Pure functions over torch tensors; they run on whatever device their inputs live on.
"""

from __future__ import annotations

import torch

EPS = 1e-8  #: keeps the norm's square root differentiable at the zero vector


def squash(s: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """``v = |s|^2 / (1 + |s|^2) * s / |s|`` along ``dim``: same direction, norm in ``[0, 1)``."""
    sq = (s * s).sum(dim, keepdim=True)
    return s * (sq / (1.0 + sq)) / torch.sqrt(sq + EPS)


def route(u_hat: torch.Tensor, iterations: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    """Routing by agreement (Procedure 1 of the paper).

    ``u_hat (B, n_in, n_out, d_out)``: the predictions of every child capsule for every parent.
    Returns ``v (B, n_out, d_out)``, the parent capsules, and ``c (B, n_in, n_out)``, the final
    coupling coefficients (a softmax over the parents, so each child's row sums to 1).
    Logits start at 0 and grow by the agreement ``u_hat . v`` after each iteration but the last.
    """
    if iterations < 1:
        raise ValueError(f"route: iterations must be >= 1, got {iterations}")
    b = u_hat.new_zeros(u_hat.shape[:3])
    for it in range(iterations):
        c = torch.softmax(b, dim=2)
        v = squash((c.unsqueeze(-1) * u_hat).sum(1))
        if it + 1 < iterations:
            b = b + (u_hat * v.unsqueeze(1)).sum(-1)
    return v, c


def margin_loss(lengths: torch.Tensor, y: torch.Tensor, m_plus: float = 0.9, m_minus: float = 0.1,
                lam: float = 0.5) -> torch.Tensor:
    """Mean over the batch of ``sum_k T_k max(0, m+ - |v_k|)^2 + lam (1 - T_k) max(0, |v_k| - m-)^2``.

    ``lengths (B, n_classes)``: capsule norms; ``y (B,)``: class indices.
    """
    t = torch.nn.functional.one_hot(y, lengths.shape[1]).to(lengths.dtype)
    present = torch.clamp(m_plus - lengths, min=0) ** 2
    absent = torch.clamp(lengths - m_minus, min=0) ** 2
    return (t * present + lam * (1 - t) * absent).sum(1).mean()
