"""Connectivity build benchmark: time and memory of drawing ``N x 80`` synapses.

For each size one fresh process builds a population of ``N`` LIF neurons connected to itself
with ``FixedInDegree(80)`` (counter-based streams, ``snnsim.kernels.connect``), weights drawn
per synapse from ``Normal(w, w / 10)``, and delays either shared by the projection (one
scalar) or drawn per synapse from ``Uniform(1 ms, 2 ms)`` (11 distinct steps at dt = 0.1 ms).
It reports the build time (``connect``), the bytes per synapse of the description
(``Projection`` arrays) and of the CPU engine's packed synapses (``pack_synapses``), and the
process's peak RSS. No anchor simulator is run: the figure of interest is the bytes per
synapse against the issue's bar (<= 10 in all), printed beside it as a ratio.

Prints a table, then one JSON object as the last line. Usage::

    python benchmarks/connect.py [--sizes 4000,16000,64000,256000,1000000] [--k 80]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
BAR_BYTES = 10.0

CHILD = """
import json, resource, time
import numpy as np
import numba
import snnsim
from snnsim import LIF, FixedInDegree, Network, Normal, Uniform
from snnsim.plan import make_plan
from snnsim.backends.cpu.packing import pack_synapses
n, k, per_synapse_delay = {n}, {k}, {per_synapse_delay}
net = Network(dt=1e-4, seed=1)
net.add_population("a", n, LIF())
# compile (cached) on a tiny network first so that the timing is the build, not Numba
warm = Network(dt=1e-4); warm.add_population("b", 10, LIF())
warm.connect("b", "b", FixedInDegree(3), weight=Normal(1.0, 0.1), delay=Uniform(1e-3, 2e-3))
t0 = time.perf_counter()
proj = net.connect("a", "a", FixedInDegree(k), weight=Normal(1e-4, 1e-5),
                   delay=Uniform(1e-3, 2e-3) if per_synapse_delay else 1.5e-3)
build_s = time.perf_counter() - t0
n_syn = proj.n_synapses
desc = sum(a.nbytes for a in (proj.indptr, proj.indices, proj.weights, proj.delays) if isinstance(a, np.ndarray))
t0 = time.perf_counter()
syn = pack_synapses(make_plan(net), np.float32)
pack_s = time.perf_counter() - t0
engine = syn.indptr.nbytes + syn.post.nbytes + syn.weight.nbytes + syn.delay.nbytes
print(json.dumps(dict(n_neurons=n, n_synapses=n_syn, per_synapse_delay=per_synapse_delay, build_s=build_s,
                      pack_s=pack_s, description_bytes_per_synapse=desc / n_syn,
                      engine_bytes_per_synapse=engine / n_syn,
                      bytes_per_synapse=(desc + engine) / n_syn,
                      peak_rss_bytes=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                      threads=numba.get_num_threads(), delay_dtype=str(syn.delay.dtype),
                      snnsim_version=snnsim.__version__, numba_version=numba.__version__)))
"""


def run(n: int, k: int, per_synapse_delay: bool) -> dict:
    env = dict(os.environ, PYTHONPATH=str(HERE.parent) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    code = CHILD.format(n=n, k=k, per_synapse_delay=per_synapse_delay)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="4000,16000,64000,256000,1000000", help="comma-separated neuron counts")
    ap.add_argument("--k", type=int, default=80, help="synapses per neuron (in-degree)")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = []
    header = (f"{'neurons':>9} {'synapses':>11} {'delays':>8} {'build s':>8} {'pack s':>7} {'desc B':>7} "
              f"{'engine B':>8} {'total B':>8} {'vs bar':>7} {'peak RSS MiB':>12}")
    print(header)
    for n in sizes:
        for per_synapse_delay in (False, True):
            r = run(n, args.k, per_synapse_delay)
            r["ratio_to_bar"] = r["bytes_per_synapse"] / BAR_BYTES
            rows.append(r)
            print(f"{n:>9} {r['n_synapses']:>11} {'per syn' if per_synapse_delay else 'shared':>8} "
                  f"{r['build_s']:>8.2f} {r['pack_s']:>7.2f} {r['description_bytes_per_synapse']:>7.2f} "
                  f"{r['engine_bytes_per_synapse']:>8.2f} {r['bytes_per_synapse']:>8.2f} "
                  f"{r['ratio_to_bar']:>7.2f} {r['peak_rss_bytes'] / 2**20:>12.0f}", flush=True)
    print(json.dumps(dict(benchmark="connect", date=str(date.today()), machine=platform.processor() or platform.machine(),
                          python=platform.python_version(), bar_bytes_per_synapse=BAR_BYTES, results=rows)))


if __name__ == "__main__":
    main()
