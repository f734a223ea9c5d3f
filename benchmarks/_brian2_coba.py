"""Brian2 side of benchmarks/coba.py and benchmarks/scale.py: the COBA benchmark in C++ standalone mode.

Run inside Brian2's own virtual environment (``benchmarks/.venv-brian2``); prints one JSON line.
Same parameters as snnsim.examples.coba (forward Euler, dt 0.1 ms). Usage::

    python _brian2_coba.py DURATION_S N SEED [THREADS [P [WEIGHT_SCALE [RECORD]]]]

THREADS 1 (default) builds without OpenMP, as coba.py has always measured; THREADS > 1 sets
``openmp_threads``. P is the connection probability (default 0.02), WEIGHT_SCALE multiplies
both weights (default 1), RECORD 0 counts the spikes without storing them (default 1).

Figures (s): ``loop_s`` is ``device._last_run_time`` (the simulation loop), ``binary_s`` the
compiled program's whole run (synapse creation, loop and writing results), ``compile_s`` the
C++ compilation, ``total_in_process_s`` this process from start to result.
"""

import json
import sys
import tempfile
import time

t_process = time.perf_counter()
import brian2 as b2  # noqa: E402
from brian2 import ms, mV  # noqa: E402


def main(duration_s: float, n: int, seed: int, threads: int = 1, p: float = 0.02, weight_scale: float = 1.0,
         record: bool = True) -> dict:
    workdir = tempfile.mkdtemp(prefix="brian2_coba_")
    b2.set_device("cpp_standalone", directory=workdir)
    b2.prefs.devices.cpp_standalone.openmp_threads = threads if threads > 1 else 0
    b2.defaultclock.dt = 0.1 * ms
    b2.seed(seed)
    # Brian2 reads these names from this frame when it parses the equations below
    taum, taue, taui = 20 * ms, 5 * ms, 10 * ms  # noqa: F841
    Vt, Vr, El = -50 * mV, -60 * mV, -60 * mV  # noqa: F841
    Erev_exc, Erev_inh, I = 0 * mV, -80 * mV, 20 * mV  # noqa: F841, E741
    eqs = """
    dv/dt  = (ge*(Erev_exc-v)+gi*(Erev_inh-v)-(v-El) + I)*(1./taum) : volt (unless refractory)
    dge/dt = -ge/taue : 1
    dgi/dt = -gi/taui : 1
    """
    n_exc = int(round(0.8 * n))
    P = b2.NeuronGroup(n, eqs, threshold="v>Vt", reset="v = Vr", refractory=5 * ms, method="euler")
    P.v = "(randn() * 5 - 55) * mV"
    Ce = b2.Synapses(P[:n_exc], P, on_pre=f"ge += {0.6 * weight_scale!r}")
    Ci = b2.Synapses(P[n_exc:], P, on_pre=f"gi += {6.7 * weight_scale!r}")
    Ce.connect(p=p)
    Ci.connect(p=p)
    mon = b2.SpikeMonitor(P, record=record)
    b2.run(duration_s * b2.second)
    n_spikes = int(mon.num_spikes)
    timers = b2.device.timers
    return {"loop_s": float(b2.device._last_run_time), "spikes": n_spikes,
            "mean_rate_hz": n_spikes / (n * duration_s), "synapses": int(len(Ce) + len(Ci)),
            "binary_s": timers.get("run_binary"), "compile_s": (timers.get("compile") or {}).get("make"),
            "threads": threads, "total_in_process_s": time.perf_counter() - t_process,
            "brian2_version": b2.__version__}


if __name__ == "__main__":
    a = sys.argv[1:]
    opt = [int(a[3]) if len(a) > 3 else 1, float(a[4]) if len(a) > 4 else 0.02,
           float(a[5]) if len(a) > 5 else 1.0, bool(int(a[6])) if len(a) > 6 else True]
    print(json.dumps(main(float(a[0]), int(a[1]), int(a[2]), *opt)))
