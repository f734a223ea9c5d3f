"""Brian2 side of benchmarks/coba.py: the COBA benchmark in C++ standalone mode, one thread.

Run by coba.py inside Brian2's own virtual environment; prints one JSON line.
Same parameters as snnsim.examples.coba (forward Euler, dt 0.1 ms, p 0.02).
"""

import json
import sys
import tempfile
import time

t_process = time.perf_counter()
import brian2 as b2  # noqa: E402
from brian2 import ms, mV  # noqa: E402


def main(duration_s: float, n: int, seed: int) -> dict:
    workdir = tempfile.mkdtemp(prefix="brian2_coba_")
    b2.set_device("cpp_standalone", directory=workdir)
    b2.prefs.devices.cpp_standalone.openmp_threads = 0
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
    Ce = b2.Synapses(P[:n_exc], P, on_pre="ge += 0.6")
    Ci = b2.Synapses(P[n_exc:], P, on_pre="gi += 6.7")
    Ce.connect(p=0.02)
    Ci.connect(p=0.02)
    mon = b2.SpikeMonitor(P)
    b2.run(duration_s * b2.second)
    n_spikes = int(mon.num_spikes)
    return {"loop_s": float(b2.device._last_run_time), "spikes": n_spikes,
            "mean_rate_hz": n_spikes / (n * duration_s), "synapses": int(len(Ce) + len(Ci)),
            "total_in_process_s": time.perf_counter() - t_process, "brian2_version": b2.__version__}


if __name__ == "__main__":
    print(json.dumps(main(float(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))))
