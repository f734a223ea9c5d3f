"""One step of a trainable layer of LIF, CubaLIF, LI or IF neurons, as plain torch operations.

This is the reference for everything that trains: it follows ``docs/models.md`` operation
by operation (integrate with the old state, decay, receive the input arriving at the end
of the step, threshold ``v > v_th``, reset, refractoriness) and autograd differentiates it.
:func:`snnsim.core.sequence.lif_sequence` runs the same arithmetic for ``T`` steps as one
autograd node and is tested against this function.

Shapes: state and inputs ``(B, N)``; coefficients ``(N,)`` (or scalars).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Optional

import torch

from snnsim.core.surrogate import spike


@dataclass(frozen=True)
class Dynamics:
    """What kind of layer this is (fixed while training)."""

    has_syn: bool            #: keeps a synaptic current ``i`` (CubaLIF, LI with tau_syn)
    spiking: bool = True     #: LIF/CubaLIF/IF fire; LI does not
    subtract: bool = False   #: reset by subtraction instead of to ``v_reset``
    surrogate: str = "superspike"
    scale: float = 10.0      #: surrogate sharpness, 1/V

    @property
    def delta(self) -> bool:
        """Input jumps ``v`` directly (instantaneous synapses)."""
        return not self.has_syn


class Coefficients(NamedTuple):
    """Per-neuron coefficients of one step (``snnsim.discretize.linear_coefficients``)."""

    a: torch.Tensor
    drive: torch.Tensor
    c: torch.Tensor
    ds: torch.Tensor
    gext: torch.Tensor
    v_th: torch.Tensor
    v_reset: torch.Tensor


class State(NamedTuple):
    """``v`` and ``i`` ``(B, N)``; ``ref``: refractory steps left (int, ``None`` if never refractory)."""

    v: torch.Tensor
    i: torch.Tensor
    ref: Optional[torch.Tensor] = None


def lif_step(state: State, x: torch.Tensor, coef: Coefficients, dyn: Dynamics,
             iext: Optional[torch.Tensor] = None, ref_steps: Optional[torch.Tensor] = None
             ) -> tuple[torch.Tensor, torch.Tensor, State]:
    """Advance one step. ``x``: input arriving at the end of the step; ``iext``: injected current.

    Returns ``(z, v_pre, new_state)``: spikes (0/1, surrogate gradient), ``v`` before threshold
    and reset, and the state after the step.
    """
    v, i, ref = state
    v_new = coef.a * v + coef.drive + coef.c * i
    if iext is not None:
        v_new = v_new + coef.gext * iext
    if dyn.delta:
        v_new = v_new + x
        i_new = i
    else:
        i_new = coef.ds * i + x
    refractory = None
    if ref is not None:  # refractory neurons hold v (an instantaneous input is dropped)
        refractory = ref > 0
        v_new = torch.where(refractory, v, v_new)
    v_pre = v_new
    if not dyn.spiking:
        return torch.zeros_like(v_new), v_pre, State(v_new, i_new, ref)
    z = spike(v_new - coef.v_th, dyn.surrogate, dyn.scale)
    if refractory is not None:
        z = z * (~refractory).to(z.dtype)
    fired = z > 0
    if dyn.subtract:
        v_new = v_new - z * (coef.v_th - coef.v_reset)
    else:
        # exactly v_reset where fired; d/dz = v_reset - v_pre, d/dv_pre = 1 - z
        v_new = torch.where(fired, coef.v_reset.expand_as(v_new), v_new) + (z - z.detach()) * (coef.v_reset - v_pre)
    if ref is not None:
        ref = torch.where(refractory, ref - 1, torch.where(fired, ref_steps.expand_as(ref), ref))
    return z, v_pre, State(v_new, i_new, ref)
