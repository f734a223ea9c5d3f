"""Memory-network ops (torch): embedding bags, position and temporal encoding, attention over memories.

Shapes: ``ids (..., J)`` word indices with ``pad`` (default 0) for no word; ``table (V, d)``;
memories ``(B, M, d)``; attention scores ``(B, M)``. Pure functions, differentiable in the tables.
"""

from __future__ import annotations

import torch


def position_encoding(lengths: torch.Tensor, n_words: int, dim: int) -> torch.Tensor:
    """Weights ``l (..., n_words, dim)`` of Sukhbaatar et al. (2015) eq. (PE):
    ``l_kj = (1 - j/J) - (k/d) (1 - 2 j/J)`` for word ``j = 1..J`` of a sentence of ``J = lengths``
    words and embedding component ``k = 1..d``; 0 beyond the sentence's last word."""
    lengths = torch.as_tensor(lengths)
    j = torch.arange(1, n_words + 1, dtype=torch.float32, device=lengths.device)
    k = torch.arange(1, dim + 1, dtype=torch.float32, device=lengths.device)
    J = lengths.clamp(min=1).to(torch.float32)[..., None, None]
    jj, kk = j[:, None], k[None, :]
    weights = (1 - jj / J) - (kk / dim) * (1 - 2 * jj / J)
    return weights * (j[:, None] <= lengths[..., None, None]).to(weights.dtype)


def embedding_bag(table: torch.Tensor, ids: torch.Tensor, weights: torch.Tensor | None = None,
                  pad: int = 0) -> torch.Tensor:
    """``sum_j w_j * table[ids_j]`` over the last axis of ``ids (..., J)``, skipping ``pad`` words;
    ``weights (..., J, d)`` (position encoding) or None (bag of words). Returns ``(..., d)``."""
    vectors = table[ids] * (ids != pad)[..., None].to(table.dtype)
    if weights is not None:
        vectors = vectors * weights.to(table.dtype)
    return vectors.sum(-2)


def temporal_encoding(memories: torch.Tensor, table: torch.Tensor, time_index: torch.Tensor) -> torch.Tensor:
    """``memories (B, M, d) + table[time_index]``: the temporal encoding ``m_i + T(i)``;
    ``time_index (B, M)`` or ``(M,)`` integer rows of ``table (T, d)``."""
    return memories + table[time_index]


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Softmax of ``scores`` over ``dim`` among the entries where ``mask`` is true; 0 elsewhere
    (an all-false row gives all zeros)."""
    mask = mask.to(torch.bool)
    filled = scores.masked_fill(~mask, float("-inf"))
    top = filled.amax(dim, keepdim=True).masked_fill(~mask.any(dim, keepdim=True), 0.0)
    e = torch.exp(filled - top) * mask.to(scores.dtype)
    total = e.sum(dim, keepdim=True)
    return e / torch.where(total > 0, total, torch.ones_like(total))


def memory_attention(query: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, mask: torch.Tensor,
                     linear: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """One memory hop: ``p = softmax(keys @ query)`` over the memories where ``mask (B, M)`` holds
    (``linear``: the raw masked scores, as in linear start), ``o = sum_i p_i values_i``.
    ``query (B, d)``, ``keys, values (B, M, d)``; returns ``(o (B, d), p (B, M))``."""
    scores = torch.einsum("bmd,bd->bm", keys, query)
    p = scores * mask.to(scores.dtype) if linear else masked_softmax(scores, mask)
    return torch.einsum("bm,bmd->bd", p, values), p
