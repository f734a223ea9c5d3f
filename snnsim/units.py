"""SI unit constants, so scripts read like the papers: ``tau_mem=20 * ms``.

snnsim stores every quantity in SI base units (seconds, volts, amperes, hertz);
these constants only scale numbers, they carry no unit checking.
"""

second = 1.0
ms = 1e-3
us = 1e-6
volt = 1.0
mV = 1e-3
amp = 1.0
nA = 1e-9
pA = 1e-12
ohm = 1.0
Mohm = 1e6
Hz = 1.0

__all__ = ["second", "ms", "us", "volt", "mV", "amp", "nA", "pA", "ohm", "Mohm", "Hz"]
