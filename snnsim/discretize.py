"""Discretisation: turn a model's parameters, ``dt`` and a scheme into per-step coefficients.

Every backend that steps time uses these coefficients, so the schemes are defined
once. For the linear models (LIF, CubaLIF, LI, IF) one step is

    v' = a * v + drive + c * i_syn (+ gext * i_ext)      i_syn' = ds * i_syn

with ``a, drive, c, ds, gext`` from :func:`linear_step_coefficients`; ``exact``
is the closed-form solution over one step for input current held constant over
the step, ``euler`` is forward Euler (what Norse and snnTorch do).

The conductance-based model (CobaLIF) is nonlinear in ``v`` and has no closed
form. ``euler`` is forward Euler; ``exact`` integrates the conductances exactly
and ``v`` by exponential Euler (conductances frozen over the step, ``v`` solved
exactly for them) -- Brian2's ``exponential_euler``, first order in ``dt``.
"""

from __future__ import annotations

import numpy as np

from snnsim.errors import NetworkError
from snnsim.models import CobaLIF, CubaLIF, IF, LI, LIF, NeuronModel

#: kernel families a backend must implement
LINEAR, COBA_EULER, COBA_EXP_EULER = "linear", "coba_euler", "coba_exp_euler"


def _euler_ratio(where, field, dt, tau):
    h = dt / tau
    if (h > 1).any():
        i = int(np.flatnonzero(h > 1)[0])
        raise NetworkError(where, field, f"euler integration needs dt <= {field}, got {field}={tau[i]!r} s "
                           f"with dt={dt!r} s; use a smaller dt or integration='exact'")
    return h


def synaptic_factor(dt: float, tau_mem, tau_syn, r, xp=np):
    """Exact weight of ``i_syn`` in ``v`` after one step (CubaLIF).

    ``r * tau_syn / (tau_syn - tau_mem) * (exp(-dt/tau_syn) - exp(-dt/tau_mem))``, written with
    ``expm1`` so it stays accurate when the two time constants are close, and its limit
    ``r * dt / tau_mem * exp(-dt/tau_mem)`` when they are equal. ``xp`` is ``numpy`` or ``torch``.
    """
    diff = tau_syn - tau_mem
    same = diff == 0
    safe = xp.where(same, xp.ones_like(diff), diff)
    general = r * tau_syn * xp.exp(-dt / tau_mem) * xp.expm1(dt * diff / (tau_mem * tau_syn)) / safe
    limit = r * (dt / tau_mem) * xp.exp(-dt / tau_mem)
    return xp.where(same, limit, general)


def linear_coefficients(dt: float, scheme: str, tau_mem, r, v_leak, i_bias, tau_syn=None, *,
                        leaky: bool = True, xp=np) -> dict:
    """The formulas of ``docs/models.md`` for one step of a linear model, on numpy or torch arrays.

    Returns ``a, drive, c, ds, gext`` shaped like ``tau_mem``; ``tau_syn=None`` means no synaptic
    current (``c = ds = 0``). Written once for every backend: the torch backend calls it with
    ``xp=torch`` so that time constants can be learned. Does not validate (see
    :func:`linear_step_coefficients`).
    """
    zero = xp.zeros_like(tau_mem)
    has_syn = tau_syn is not None
    if scheme == "exact":
        if leaky:
            a = xp.exp(-dt / tau_mem)
            gain = -xp.expm1(-dt / tau_mem)   # 1 - a, accurately
        else:
            a = xp.ones_like(tau_mem)
            gain = dt / tau_mem
        ds = xp.exp(-dt / tau_syn) if has_syn else zero
        c = synaptic_factor(dt, tau_mem, tau_syn, r, xp) if has_syn else zero
    elif scheme == "euler":
        h = dt / tau_mem
        a = 1.0 - h if leaky else xp.ones_like(tau_mem)
        gain = h
        ds = 1.0 - dt / tau_syn if has_syn else zero
        c = r * h if has_syn else zero
    else:
        raise ValueError(f"scheme must be 'exact' or 'euler', got {scheme!r}")
    drive = gain * (v_leak + r * i_bias) if leaky else gain * (r * i_bias)
    return {"a": a, "drive": drive, "c": c, "ds": ds, "gext": gain * r}


def has_synaptic_current(model: NeuronModel, params: dict[str, np.ndarray]) -> bool:
    """True if the model keeps an ``i_syn`` state (CubaLIF, LI with ``tau_syn > 0``)."""
    return isinstance(model, CubaLIF) or (isinstance(model, LI) and bool((params["tau_syn"] > 0).any()))


def linear_step_coefficients(model: NeuronModel, params: dict[str, np.ndarray], dt: float, scheme: str,
                             where: str) -> dict[str, np.ndarray]:
    """Coefficients ``a, drive, c, ds, gext`` (float64, shape (n,)) of one step of a linear model."""
    tau_mem = params["tau_mem"]
    zero = np.zeros_like(tau_mem)
    leaky = not isinstance(model, IF)
    has_syn = has_synaptic_current(model, params)
    if scheme == "euler":
        _euler_ratio(where, "tau_mem", dt, tau_mem)
        if has_syn:
            _euler_ratio(where, "tau_syn", dt, params["tau_syn"])
    elif scheme != "exact":
        raise NetworkError(where, "integration", f"must be 'exact' or 'euler', got {scheme!r}")
    coef = linear_coefficients(dt, scheme, tau_mem, params["r"], params.get("v_leak", zero), params["i_bias"],
                               params["tau_syn"] if has_syn else None, leaky=leaky)
    return {**coef, "ds2": zero, "e1": zero, "e2": zero}


def coba_step_coefficients(params: dict[str, np.ndarray], dt: float, scheme: str, where: str) -> dict[str, np.ndarray]:
    """Coefficients of one CobaLIF step; meaning depends on the scheme (see kernels)."""
    r = params["r"]
    if scheme == "euler":
        h = _euler_ratio(where, "tau_mem", dt, params["tau_mem"])
        return {"a": 1.0 - h, "drive": h * (params["v_leak"] + r * params["i_bias"]), "c": h,
                "ds": 1.0 - _euler_ratio(where, "tau_exc", dt, params["tau_exc"]),
                "ds2": 1.0 - _euler_ratio(where, "tau_inh", dt, params["tau_inh"]),
                "e1": params["e_exc"], "e2": params["e_inh"], "gext": h * r}
    if scheme == "exact":
        zero = np.zeros_like(r)
        return {"a": zero, "drive": params["v_leak"] + r * params["i_bias"], "c": dt / params["tau_mem"],
                "ds": np.exp(-dt / params["tau_exc"]), "ds2": np.exp(-dt / params["tau_inh"]),
                "e1": params["e_exc"], "e2": params["e_inh"], "gext": r}
    raise NetworkError(where, "integration", f"must be 'exact' or 'euler', got {scheme!r}")


def step_coefficients(model: NeuronModel, params: dict[str, np.ndarray], dt: float, scheme: str,
                      where: str) -> tuple[str, dict[str, np.ndarray]]:
    """Kernel family and all per-neuron coefficients of one step, including threshold and reset.

    Returns ``(family, coefficients)``; coefficients are float64 arrays of shape (n,) named
    ``a drive c ds ds2 e1 e2 gext v_th v_reset v_sub keep`` plus int64 ``ref_steps``.
    """
    if isinstance(model, CobaLIF):
        family = COBA_EULER if scheme == "euler" else COBA_EXP_EULER
        coef = coba_step_coefficients(params, dt, scheme, where)
    elif isinstance(model, (LIF, CubaLIF, LI, IF)):
        family = LINEAR
        coef = linear_step_coefficients(model, params, dt, scheme, where)
    else:
        raise NetworkError(where, "model", f"unsupported neuron model {model!r}")
    n = len(params["tau_mem"])
    if model.spiking:
        coef["v_th"] = params["v_th"]
        coef["v_reset"] = params["v_reset"]
        coef["v_sub"] = params["v_th"] - params["v_reset"]
        coef["keep"] = np.full(n, 1.0 if model.reset == "subtract" else 0.0)
        coef["ref_steps"] = np.rint(params["t_ref"] / dt).astype(np.int64)
    else:
        coef["v_th"] = np.full(n, np.inf)
        coef["v_reset"] = np.zeros(n)
        coef["v_sub"] = np.zeros(n)
        coef["keep"] = np.zeros(n)
        coef["ref_steps"] = np.zeros(n, np.int64)
    return family, coef


def steps_of(duration: float, dt: float, where: str, field: str) -> int:
    """``duration / dt`` as an integer; raises if it is not a whole number of steps (1e-9 relative)."""
    ratio = duration / dt
    n = int(round(ratio))
    if abs(ratio - n) > 1e-9 * max(1.0, abs(ratio)):
        raise NetworkError(where, field, f"{duration!r} s is not a whole number of steps of dt={dt!r} s "
                           f"({ratio:.6g} steps)")
    return n
