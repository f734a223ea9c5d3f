"""Threads benchmark: the CPU clock engine's loop on 1 and 2 threads, and the speedup.

COBA-style networks (``snnsim.examples.coba``) with 80 synapses per neuron (``p = 80 / N``),
dt = 0.1 ms, forward Euler, float32. Each size is built once; each thread count runs once to
compile (or load) its loop, then ``--repeats`` times, best loop time kept (``Results``'
``loop_s``). The spikes of every thread count are checked equal to one thread's. Networks under
``2 x MIN_WINDOW`` neurons are not split (the engine runs them on one thread: waking threads
twice a step costs more than it saves there); ``windows`` says how many slices ran.

Prints a table, then one JSON object as the last line. Usage::

    python benchmarks/threads.py [--sizes 4000 32768] [--duration 0.1] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from datetime import date

import numba
import numpy as np

import snnsim
from snnsim.backends.cpu import engine
from snnsim.examples.coba import build_coba


def spikes_of(res) -> list[np.ndarray]:
    return [a for name in sorted(res.spikes) for a in (res.spikes[name].times, res.spikes[name].indices)]


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[4000, 32768])
    ap.add_argument("--duration", type=float, default=0.1)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args(argv)
    most = numba.config.NUMBA_NUM_THREADS
    counts = [1, 2] if most >= 2 else [1]
    rows = []
    for n in args.sizes:
        net = build_coba(n_neurons=n, p=min(1.0, 80 / n), seed=1)
        ref = None
        for threads in counts:
            snnsim.simulate(net, 1e-3, threads=threads)  # compile or load this loop
            runs = [snnsim.simulate(net, args.duration, threads=threads) for _ in range(args.repeats)]
            best = min(runs, key=lambda r: r.summary()["loop_s"])
            if ref is None:
                ref = spikes_of(best)
            same = all(np.array_equal(a, b) for a, b in zip(ref, spikes_of(best)))
            rows.append({"n_neurons": n, "n_synapses": net.n_synapses, "threads": threads,
                         "windows": len(engine.thread_windows(n, threads)) - 1,
                         "loop_s": best.summary()["loop_s"], "same_spikes_as_1": same})
    for row in rows:
        one = next(r for r in rows if r["n_neurons"] == row["n_neurons"] and r["threads"] == 1)
        row["speedup_vs_1"] = one["loop_s"] / row["loop_s"]
    print(f"{'neurons':>8}{'synapses':>11}{'threads':>8}{'windows':>8}{'loop (s)':>10}{'speedup':>9}{'same':>6}")
    for r in rows:
        print(f"{r['n_neurons']:>8}{r['n_synapses']:>11}{r['threads']:>8}{r['windows']:>8}{r['loop_s']:>10.4g}"
              f"{r['speedup_vs_1']:>8.3g}x{'yes' if r['same_spikes_as_1'] else 'NO':>6}")
    result = {"network": f"COBA, 80 synapses per neuron, dt=0.1 ms, euler, float32, {args.duration} s",
              "results": rows, "numba_threads": most, "threading_layer": numba.threading_layer(),
              "min_window": engine.MIN_WINDOW, "machine": f"{platform.processor() or platform.machine()}, "
              f"{os.cpu_count()} cores", "versions": {"snnsim": snnsim.__version__, "numba": numba.__version__},
              "date": date.today().isoformat()}
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
