"""Neuron models: what a neuron *is*, with parameters in SI units.

A model is a frozen dataclass of parameters. Each parameter is a scalar or a
1-D array with one value per neuron. The continuous-time equations are given in
``docs/models.md``; how each integration scheme discretises them is in
:mod:`snnsim.discretize`. Models know nothing about any backend.

Synaptic input (the ``target`` of a projection):

- ``LIF``, ``IF`` and ``LI`` with ``tau_syn == 0``: instantaneous (delta)
  synapses; a spike of weight ``w`` (volts) jumps ``v`` by ``w``.  target ``"current"``.
- ``CubaLIF`` and ``LI`` with ``tau_syn > 0``: exponential current synapses; a
  spike of weight ``w`` (amperes) jumps ``i_syn`` by ``w``.  target ``"current"``.
- ``CobaLIF``: conductance synapses, relative to the leak conductance
  (dimensionless); a spike of weight ``w >= 0`` jumps ``g_exc`` (target
  ``"exc"``) or ``g_inh`` (target ``"inh"``) by ``w``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar, Union

import numpy as np

from snnsim.errors import NetworkError

Param = Union[float, np.ndarray]

RESET_MODES = ("value", "subtract")


def as_param(where: str, field: str, value, n: int, *, positive: bool = False,
             nonnegative: bool = False, allow_inf: bool = False) -> np.ndarray:
    """Return ``value`` as a float64 array of shape ``(n,)``, or raise NetworkError."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise NetworkError(where, field, f"must be a number or an array of numbers, got {value!r}") from None
    if arr.ndim == 0:
        arr = np.full(n, float(arr))
    elif arr.shape != (n,):
        raise NetworkError(where, field, f"must be a scalar or have shape ({n},), got shape {arr.shape}")
    bad = np.isnan(arr) if allow_inf else ~np.isfinite(arr)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise NetworkError(where, field, f"must be finite, got {arr[i]!r} at neuron {i}")
    if positive and (arr <= 0).any():
        i = int(np.flatnonzero(arr <= 0)[0])
        raise NetworkError(where, field, f"must be > 0, got {arr[i]!r} at neuron {i}")
    if nonnegative and (arr < 0).any():
        i = int(np.flatnonzero(arr < 0)[0])
        raise NetworkError(where, field, f"must be >= 0, got {arr[i]!r} at neuron {i}")
    return arr


@dataclass(frozen=True)
class NeuronModel:
    """Common base: subclasses declare their parameters as dataclass fields."""

    #: names of the state variables, in the order backends store them
    state_variables: ClassVar[tuple[str, ...]] = ("v",)
    #: projection targets this model accepts
    targets: ClassVar[tuple[str, ...]] = ("current",)
    #: parameters that must be > 0
    positive: ClassVar[tuple[str, ...]] = ("tau_mem",)
    #: parameters that must be >= 0
    nonnegative: ClassVar[tuple[str, ...]] = ("t_ref",)
    #: whether the model emits spikes
    spiking: ClassVar[bool] = True

    def __post_init__(self):
        # array parameters are stored as read-only copies: a change is a new model
        # (dataclasses.replace), which every Simulator sees before its next run
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, np.ndarray) and value.flags.writeable:
                value = value.copy()
                value.flags.writeable = False
                object.__setattr__(self, f.name, value)

    @property
    def kind(self) -> str:
        return type(self).__name__

    def parameter_names(self) -> list[str]:
        return [f.name for f in dataclasses.fields(self) if f.name != "reset"]

    def parameters(self, n: int, where: str) -> dict[str, np.ndarray]:
        """Validated parameters broadcast to arrays of shape ``(n,)`` (float64)."""
        out = {}
        for name in self.parameter_names():
            out[name] = as_param(where, name, getattr(self, name), n,
                                 positive=name in self.positive,
                                 nonnegative=name in self.nonnegative or name == "r",  # ohm
                                 allow_inf=name == "v_th")
        reset = getattr(self, "reset", "value")
        if reset not in RESET_MODES:
            raise NetworkError(where, "reset", f"must be one of {RESET_MODES}, got {reset!r}")
        self._check_extra(out, where)
        return out

    def _check_extra(self, params: dict[str, np.ndarray], where: str) -> None:
        if "v_th" in params and "v_reset" in params:
            bad = params["v_reset"] >= params["v_th"]
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                if self._is_default("v_reset") and not self._is_default("v_th"):  # the threshold was changed
                    raise NetworkError(where, "v_th", f"must be above v_reset ({params['v_reset'][i]!r}), got "
                                       f"{params['v_th'][i]!r} at neuron {i}")
                raise NetworkError(where, "v_reset", f"must be below v_th ({params['v_th'][i]!r}), got "
                                   f"{params['v_reset'][i]!r} at neuron {i}")

    def _is_default(self, name: str) -> bool:
        """True if parameter ``name`` was left at the model's default."""
        default = next(f.default for f in dataclasses.fields(self) if f.name == name)
        value = getattr(self, name)
        return not isinstance(value, np.ndarray) and value == default

    def default_initial(self, params: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """State at t = 0 unless the population says otherwise."""
        init = {name: np.zeros_like(params[self.parameter_names()[0]]) for name in self.state_variables}
        init["v"] = params["v_leak"].copy() if "v_leak" in params else params["v_reset"].copy()
        return init

    @property
    def delta_synapses(self) -> bool:
        """True if a ``"current"`` spike jumps ``v`` directly (no synaptic state)."""
        return "i_syn" not in self.state_variables and self.targets == ("current",)


@dataclass(frozen=True)
class LIF(NeuronModel):
    """Leaky integrate-and-fire with instantaneous synapses (NIR ``LIF``).

    ``tau_mem dv/dt = (v_leak - v) + r (i_bias + i_ext)``; spikes of weight w add w to v.
    """

    tau_mem: Param = 20e-3   # s
    v_leak: Param = 0.0      # V
    v_th: Param = 1.0        # V
    v_reset: Param = 0.0     # V
    r: Param = 1.0           # ohm
    i_bias: Param = 0.0      # A
    t_ref: Param = 0.0       # s
    reset: str = "value"


@dataclass(frozen=True)
class CubaLIF(NeuronModel):
    """LIF with exponential current synapses (NIR ``CubaLIF``).

    ``tau_syn di/dt = -i``;  ``tau_mem dv/dt = (v_leak - v) + r (i + i_bias + i_ext)``.
    """

    state_variables: ClassVar[tuple[str, ...]] = ("v", "i_syn")
    positive: ClassVar[tuple[str, ...]] = ("tau_mem", "tau_syn")

    tau_mem: Param = 20e-3   # s
    tau_syn: Param = 5e-3    # s
    v_leak: Param = 0.0      # V
    v_th: Param = 1.0        # V
    v_reset: Param = 0.0     # V
    r: Param = 1.0           # ohm
    i_bias: Param = 0.0      # A
    t_ref: Param = 0.0       # s
    reset: str = "value"


@dataclass(frozen=True)
class LI(NeuronModel):
    """Leaky integrator readout (NIR ``LI``): never spikes.

    With ``tau_syn > 0`` the input passes through an exponential current
    ``i_syn`` first (like CubaLIF); with ``tau_syn == 0`` spikes jump ``v``.
    """

    spiking: ClassVar[bool] = False
    nonnegative: ClassVar[tuple[str, ...]] = ("tau_syn",)

    tau_mem: Param = 20e-3   # s
    tau_syn: Param = 0.0     # s, 0 = instantaneous input
    v_leak: Param = 0.0      # V
    r: Param = 1.0           # ohm
    i_bias: Param = 0.0      # A

    @property
    def state_variables(self) -> tuple[str, ...]:  # type: ignore[override]
        return ("v", "i_syn") if np.any(np.asarray(self.tau_syn) > 0) else ("v",)

    def _check_extra(self, params, where):
        tau_syn = params["tau_syn"]
        if (tau_syn > 0).any() and (tau_syn == 0).any():
            raise NetworkError(where, "tau_syn", "must be all zero (instantaneous input) or all > 0, got a mix")


@dataclass(frozen=True)
class IF(NeuronModel):
    """Non-leaky integrate-and-fire (NIR ``IF``): ``tau_mem dv/dt = r (i_bias + i_ext)``.

    ``tau_mem`` only scales the input (NIR's IF has ``tau_mem = 1 s``).
    """

    tau_mem: Param = 20e-3   # s
    v_th: Param = 1.0        # V
    v_reset: Param = 0.0     # V
    r: Param = 1.0           # ohm
    i_bias: Param = 0.0      # A
    t_ref: Param = 0.0       # s
    reset: str = "value"


@dataclass(frozen=True)
class CobaLIF(NeuronModel):
    """Conductance-based LIF (Vogels & Abbott 2005; the COBA benchmark).

    ``tau_mem dv/dt = (v_leak - v) + g_exc (e_exc - v) + g_inh (e_inh - v) + r (i_bias + i_ext)``,
    ``tau_exc dg_exc/dt = -g_exc``, ``tau_inh dg_inh/dt = -g_inh``; conductances are
    relative to the leak conductance (dimensionless).
    """

    state_variables: ClassVar[tuple[str, ...]] = ("v", "g_exc", "g_inh")
    targets: ClassVar[tuple[str, ...]] = ("exc", "inh")
    positive: ClassVar[tuple[str, ...]] = ("tau_mem", "tau_exc", "tau_inh")

    tau_mem: Param = 20e-3    # s
    tau_exc: Param = 5e-3     # s
    tau_inh: Param = 10e-3    # s
    e_exc: Param = 0.0        # V
    e_inh: Param = -80e-3     # V
    v_leak: Param = -60e-3    # V
    v_th: Param = -50e-3      # V
    v_reset: Param = -60e-3   # V
    r: Param = 1.0            # ohm
    i_bias: Param = 0.0       # A
    t_ref: Param = 5e-3       # s
    reset: str = "value"


#: every model snnsim knows, by class name (used by file readers)
MODELS: dict[str, type[NeuronModel]] = {m.__name__: m for m in (LIF, CubaLIF, LI, IF, CobaLIF)}
