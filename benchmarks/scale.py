"""Scale benchmark: COBA-style networks from 4k to 1M neurons, snnsim beside Brian2 and NEST, same run.

The network is ``snnsim.examples.coba`` with ``k`` synapses per neuron: connection probability
``p = k / N`` (COBA itself is N = 4000, p = 0.02, k = 80) and both weights scaled by ``80 / k``
so that the mean input, and with it the activity, stays COBA's (no scaling at k = 80). Forward
Euler, dt = 0.1 ms, ``--duration`` s simulated (default 1), no spike recording (counters only).
Sizes (``--sizes``): N = 4k, 16k, 64k, 256k, 1M at k = 80, and 1M at k = 100 (10^8 synapses);
each with every thread count of ``--threads``. A procedural-connectivity row (1M x 1000, 10^9
synapses: no stored layout fits in 24 GiB) runs when ``Network.connect`` has a ``procedural``
option, else it is reported as skipped.

Every side runs in its own child process (so peak RSS is that side's: ``os.wait4``'s
``ru_maxrss``, the child and its own children), alternating sides, best of ``--repeats``
(NEST: ``--nest-repeats``, default 1):

- snnsim: CPU clock engine with ``threads=T`` (``NUMBA_NUM_THREADS=T`` in the child, so the
  connectivity build also uses T threads), on Numba's OpenMP pool (``--threading-layer``; the
  engine's own default is workqueue, chosen for processes that also hold torch's or NEST's
  OpenMP; these children hold neither, and on an idle 2-core machine workqueue ran 64k neurons
  3.4x slower on 2 threads than on 1, OpenMP 1.17x faster). Loop time from ``Results`` (JIT excluded, reported
  apart); build time = ``build_coba`` (connectivity) + the engine's packing; bytes per synapse
  = the bytes of every array of the description's projections and the engine's synapse record
  (delay rings included) over the synapses; ``rss_bytes_per_synapse`` = (peak RSS - RSS before
  the build) over the synapses.
- Brian2 2.9.0 C++ standalone (``benchmarks/_brian2_coba.py``, its venv ``benchmarks/.venv-brian2``
  as in coba.py): ``connect(p=...)`` on the same p; T > 1 sets ``openmp_threads``, T = 1 builds
  without OpenMP. Loop time ``device._last_run_time``; build = the binary's run minus the loop
  (synapse creation and output), compile apart.
- NEST 3.10 (``iaf_cond_exp``, the same equations with C_m = 200 pF, g_L = 10 nS, weights
  0.6 and 6.7 g_L, I_e = 20 mV g_L; NEST integrates with GSL's adaptive RKF45, not Euler;
  ``fixed_indegree`` with k_exc = round(0.8 k), k_inh = k - k_exc, as ``pairwise_bernoulli``
  visits all N^2 pairs; delay 0.1 ms; ``local_num_threads=T``). A child of this script
  (``--nest-child``): NEST is never imported beside numba's or torch's OpenMP.

Synaptic events: snnsim's counter (exact); Brian2 and NEST spikes x the mean out-degree of the
sender's population (expected value). ``syn_events_per_s`` = events / loop wall time on every
side. A side that times out (``--timeout`` s per child) or fails at one size is not run at the
larger sizes of the same thread count. Anchor: Auryn (Zenke & Gerstner 2014), 51.9 s per
simulated second for 1M neurons / 82M synapses on one thread of an i7-4770K, published (not run
here), printed beside the 1M x 80 one-thread row.

Prints a table, then one JSON object as the last line (``results``: one row per size, synapses
per neuron and thread count). Usage::

    python benchmarks/scale.py [--sizes 4000,16000,64000,256000,1000000,1000000x100]
        [--threads 1,2] [--duration 1.0] [--repeats 2] [--nest-repeats 1] [--timeout 3600]
        [--threading-layer omp|workqueue|engine] [--quick] [--skip-brian2] [--skip-nest] [--no-procedural]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SIZES = "4000,16000,64000,256000,1000000,1000000x100"
QUICK_SIZES = "4000,33000"     # 33000: above 2 x the engine's MIN_WINDOW, so 2 threads split it
PROCEDURAL = (1_000_000, 1000)
QUICK_PROCEDURAL = (4000, 80)   # beside the stored 4000 x 80 row: the same spikes
AURYN_S_PER_SIM_S = 51.9        # Zenke & Gerstner 2014: 1M neurons, 82M synapses, 1 thread, i7-4770K
AURYN = {"simulator": "Auryn (published, not run here)", "n_neurons": 1_000_000, "n_synapses": 82_000_000,
         "threads": 1, "wall_s_per_sim_s": AURYN_S_PER_SIM_S, "cpu": "Intel i7-4770K",
         "source": "Zenke & Gerstner, Front. Neuroinform. 8:76 (2014)"}
K_REF = 80                      # COBA's synapses per neuron (0.02 x 4000)
#: NEST's peak RSS per neuron at 80 synapses each (iaf_cond_exp + static_synapse), measured from
#: 16k to 64k neurons here (749 -> 2695 MiB); scaled by k / 80 as a bound for larger k
NEST_BYTES_PER_NEURON = 42_500


def mem_available() -> int | None:
    try:
        return int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                        if line.startswith("MemAvailable:"))) * 1024
    except (OSError, StopIteration):
        return None


def parse_size(text: str) -> tuple[int, int]:
    """``"64000"`` -> (64000, 80); ``"1000000x100"`` -> (1000000, 100)."""
    n, _, k = text.strip().lower().partition("x")
    try:
        size = (int(float(n)), int(k) if k else K_REF)
    except ValueError:
        raise SystemExit(f"scale.py: --sizes entry {text!r} is not N or NxK (integers)") from None
    if size[0] < 10 or not 1 <= size[1] <= size[0]:
        raise SystemExit(f"scale.py: --sizes entry {text!r}: need N >= 10 and 1 <= K <= N")
    return size


def procedural_available() -> bool:
    """Whether ``Network.connect`` takes ``procedural=`` (checked in a child: no numba here)."""
    code = ("import inspect; from snnsim.network import Network; "
            "print(int('procedural' in inspect.signature(Network.connect).parameters))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=child_env(1), cwd=ROOT)
    return out.returncode == 0 and out.stdout.strip() == "1"


# ---------------------------------------------------------------------------------- children
def vm_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def ours_child(spec: dict) -> dict:
    """Build and run the network on snnsim's CPU engine (this process); returns the figures."""
    import numpy as np

    import snnsim
    from snnsim.examples.coba import build_coba
    from snnsim.simulate import simulator

    n, k, threads, seed = spec["n"], spec["k"], spec["threads"], spec["seed"]
    options = {"procedural": True} if spec["procedural"] else None
    kw = dict(p=min(1.0, k / n), seed=seed, record=False, weight_scale=K_REF / k, connect_options=options)
    small = build_coba(n_neurons=200, **{**kw, "p": 0.1})     # compiles (or loads) the connectivity kernels
    snnsim.simulate(small, 1e-3, threads=1)
    rss0 = vm_kib("VmRSS") * 1024
    t0 = time.perf_counter()
    net = build_coba(n_neurons=n, **kw)
    connect_s = time.perf_counter() - t0
    with simulator(net, "cpu", threads=threads) as sim:
        res = sim.run(spec["duration"])
        arrays = [a for proj in net.projections.values() for a in vars(proj).values() if isinstance(a, np.ndarray)]
        engine_arrays = [a for a in getattr(sim, "synapses", ()) if isinstance(a, np.ndarray)]
        from snnsim.backends.cpu.engine import thread_windows
        windows = len(thread_windows(n, sim.threads)) - 1   # slices the loop ran on
    s = res.summary()
    n_syn = int(net.n_synapses)
    import numba
    try:
        layer = numba.threading_layer()
    except ValueError:       # no parallel region ran (one window)
        layer = None
    stored = sum(a.nbytes for a in arrays) + sum(a.nbytes for a in engine_arrays)
    return {"n_neurons": n, "n_synapses": n_syn, "threads": threads, "windows": windows,
            "loop_s": s["loop_s"], "jit_s": s["jit_s"], "connect_s": connect_s, "engine_build_s": sim.build_s,
            "build_s": connect_s + sim.build_s, "spikes": s["spikes"], "syn_events": s["syn_events"],
            "mean_rate_hz": s["mean_rate_hz"], "stored_bytes": stored,
            "description_bytes": sum(a.nbytes for a in arrays), "engine_bytes": sum(a.nbytes for a in engine_arrays),
            "rss_before_build_bytes": rss0, "vm_hwm_bytes": vm_kib("VmHWM") * 1024,
            "threading_layer": layer, "snnsim_version": snnsim.__version__}


def nest_child(spec: dict) -> dict:
    """Build and run the network in NEST (this process); returns the figures."""
    import nest

    n, k, threads, duration = spec["n"], spec["k"], spec["threads"], spec["duration"]
    nest.ResetKernel()
    if hasattr(nest, "VerbosityLevel"):
        nest.verbosity = nest.VerbosityLevel.ERROR
    else:
        nest.set_verbosity("M_ERROR")
    nest.local_num_threads = threads
    nest.resolution = 0.1
    nest.rng_seed = spec["seed"] + 1
    rss0 = vm_kib("VmRSS") * 1024
    t0 = time.perf_counter()
    n_exc = int(round(0.8 * n))
    g_l, ws = 10.0, K_REF / k                     # nS; weights relative to g_L, as in snnsim's CobaLIF
    params = {"C_m": 200.0, "g_L": g_l, "E_L": -60.0, "V_th": -50.0, "V_reset": -60.0, "t_ref": 5.0,
              "E_ex": 0.0, "E_in": -80.0, "tau_syn_ex": 5.0, "tau_syn_in": 10.0, "I_e": 20.0 * g_l}
    pop = nest.Create("iaf_cond_exp", n, params=params)
    pop.V_m = nest.random.normal(mean=-55.0, std=5.0)
    exc, inh = pop[:n_exc], pop[n_exc:]
    k_exc = int(round(0.8 * k))
    k_inh = k - k_exc
    nest.Connect(exc, pop, {"rule": "fixed_indegree", "indegree": k_exc},
                 {"synapse_model": "static_synapse", "weight": 0.6 * ws * g_l, "delay": 0.1})
    if k_inh:
        nest.Connect(inh, pop, {"rule": "fixed_indegree", "indegree": k_inh},
                     {"synapse_model": "static_synapse", "weight": -6.7 * ws * g_l, "delay": 0.1})
    rec_e = nest.Create("spike_recorder", params={"record_to": "memory"})
    rec_i = nest.Create("spike_recorder", params={"record_to": "memory"})
    nest.Connect(exc, rec_e)
    nest.Connect(inh, rec_i)
    nest.Prepare()
    nest.Cleanup()
    build_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    nest.Simulate(duration * 1e3)
    wall = time.perf_counter() - t1
    spikes_e, spikes_i = int(rec_e.n_events), int(rec_i.n_events)
    events = spikes_e * k_exc * n / n_exc + (spikes_i * k_inh * n / (n - n_exc) if n > n_exc else 0.0)
    return {"n_neurons": n, "n_synapses": n * k, "threads": threads, "loop_s": wall, "build_s": build_s,
            "spikes": spikes_e + spikes_i, "syn_events": events, "mean_rate_hz": (spikes_e + spikes_i) / (n * duration),
            "rss_before_build_bytes": rss0, "vm_hwm_bytes": vm_kib("VmHWM") * 1024, "nest_version": nest.__version__,
            "model": "iaf_cond_exp"}


# ---------------------------------------------------------------------------------- parent
def child_env(threads: int, threading_layer: str | None = None) -> dict:
    env = dict(os.environ, NUMBA_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads),
               PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    if threading_layer and threading_layer != "engine":
        env["NUMBA_THREADING_LAYER"] = threading_layer
    return env


def run_child(cmd: list[str], env: dict, timeout: float) -> dict:
    """Run ``cmd`` in its own process group; its last-line JSON plus ``wall_process_s`` and
    ``peak_rss_bytes`` (``os.wait4``: the child and its reaped children), or ``{"error": why}``."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, text=True, cwd=ROOT, start_new_session=True)
        deadline = t0 + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                os.killpg(proc.pid, signal.SIGKILL)
                os.wait4(proc.pid, 0)
                return {"error": f"timed out after {timeout:g} s"}
            time.sleep(0.2)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        text = out.read()
        if proc.returncode != 0:
            tail = err.read().strip().splitlines()[-3:]
            return {"error": f"exit status {proc.returncode}: {' | '.join(tail)[-600:]}"}
    try:
        result = json.loads(text.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return {"error": f"no JSON on the last line of its output: {text[-300:]!r}"}
    return {**result, "wall_process_s": wall, "peak_rss_bytes": usage.ru_maxrss * 1024}


def run_side(side: str, spec: dict, args, brian2_python: Path | None) -> dict:
    env = child_env(spec["threads"], args.threading_layer if side == "ours" else None)
    if side == "brian2":
        cmd = [str(brian2_python), str(HERE / "_brian2_coba.py"), str(spec["duration"]), str(spec["n"]),
               str(spec["seed"]), str(spec["threads"]), repr(min(1.0, spec["k"] / spec["n"])),
               repr(K_REF / spec["k"]), "0"]
        env.pop("PYTHONPATH")
    else:
        cmd = [sys.executable, __file__, f"--{side}-child", json.dumps(spec)]
    r = run_child(cmd, env, args.timeout)
    if "error" not in r and side == "brian2":
        r.update(n_neurons=spec["n"], n_synapses=r["synapses"], syn_events=r["spikes"] * r["synapses"] / spec["n"],
                 build_s=(r["binary_s"] or 0.0) - r["loop_s"])
    return r


def warm_caches(thread_counts: list[int], args) -> None:
    """One short snnsim run per thread count before timing (fills Numba's cache, so no timed child
    compiles, and compilation's memory is not in a child's peak RSS); 33000 neurons: above
    2 x the engine's MIN_WINDOW, so the multi-thread loop is compiled too."""
    for t in thread_counts:
        r = run_child([sys.executable, __file__, "--ours-child", json.dumps(
            {"n": 33000, "k": K_REF, "threads": t, "duration": 1e-3, "seed": 0, "procedural": False})],
            child_env(t, args.threading_layer), args.timeout)
        if "error" in r:
            print(f"  warm-up run ({t} threads) failed: {r['error']}", file=sys.stderr)


def best(runs: list[dict]) -> dict | None:
    ok = [r for r in runs if "error" not in r]
    return min(ok, key=lambda r: r["loop_s"]) if ok else None


def side_fields(prefix: str, r: dict | None, duration: float) -> dict:
    if r is None:
        return {f"{prefix}_{f}": None for f in ("wall_s_per_sim_s", "syn_events_per_s", "build_s", "peak_rss_bytes",
                                                   "mean_rate_hz", "n_synapses")}
    return {f"{prefix}_wall_s_per_sim_s": r["loop_s"] / duration, f"{prefix}_syn_events_per_s": r["syn_events"] / r["loop_s"],
            f"{prefix}_build_s": r["build_s"], f"{prefix}_peak_rss_bytes": r["peak_rss_bytes"],
            f"{prefix}_mean_rate_hz": r["mean_rate_hz"], f"{prefix}_n_synapses": r["n_synapses"]}


def make_row(n, k, threads, procedural, ours, brian2, nest, notes, duration) -> dict:
    row = {"n_neurons": n, "synapses_per_neuron": k, "threads": threads, "procedural": procedural,
           "duration_s": duration, "n_synapses": None, "wall_s_per_sim_s": None, "syn_events": None,
           "syn_events_per_s": None, "spikes": None, "mean_rate_hz": None, "build_s": None, "jit_s": None,
           "peak_rss_bytes": None, "bytes_per_synapse": None, "rss_bytes_per_synapse": None}
    if ours is not None:
        row.update(n_synapses=ours["n_synapses"], wall_s_per_sim_s=ours["loop_s"] / duration,
                   syn_events=ours["syn_events"], syn_events_per_s=ours["syn_events"] / ours["loop_s"],
                   spikes=ours["spikes"], windows=ours["windows"], threading_layer=ours["threading_layer"],
                   mean_rate_hz=ours["mean_rate_hz"], build_s=ours["build_s"],
                   connect_s=ours["connect_s"], engine_build_s=ours["engine_build_s"], jit_s=ours["jit_s"],
                   peak_rss_bytes=ours["peak_rss_bytes"],
                   bytes_per_synapse=ours["stored_bytes"] / max(1, ours["n_synapses"]),
                   description_bytes_per_synapse=ours["description_bytes"] / max(1, ours["n_synapses"]),
                   engine_bytes_per_synapse=ours["engine_bytes"] / max(1, ours["n_synapses"]),
                   rss_bytes_per_synapse=(ours["vm_hwm_bytes"] - ours["rss_before_build_bytes"]) / max(1, ours["n_synapses"]))
    row.update(side_fields("brian2", brian2, duration))
    row.update(side_fields("nest", nest, duration))
    ratio = lambda theirs: theirs / row["wall_s_per_sim_s"] if theirs and row["wall_s_per_sim_s"] else None  # noqa: E731
    row["speedup_vs_brian2"] = ratio(row["brian2_wall_s_per_sim_s"])
    row["speedup_vs_nest"] = ratio(row["nest_wall_s_per_sim_s"])
    if n == AURYN["n_neurons"] and k == K_REF and threads == 1 and not procedural:
        row["speedup_vs_auryn_published"] = ratio(AURYN_S_PER_SIM_S)
    row["notes"] = notes
    return row


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        model = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = ""
    try:
        kib = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                       if line.startswith("MemTotal:")))
        mem = f", {kib / 2**20:.0f} GiB"
    except (OSError, StopIteration):
        pass
    return f"{model}, {os.cpu_count()} cores{mem}, {platform.system()} {platform.release()}"


def fmt(x, spec=".3g", unit=""):
    return "-" if x is None else f"{x:{spec}}{unit}"


def print_table(rows: list[dict]) -> None:
    head = (f"{'neurons':>9}{'syn/n':>6}{'synapses':>13}{'thr':>4}{'s/sim s':>9}{'syn ev/s':>10}{'build s':>8}"
            f"{'RSS GiB':>8}{'B/syn':>6}{'Hz':>6}{'x 1 thr':>8} |{'Brian2':>9}{'x':>8} |{'NEST':>9}{'x':>8}{'Hz':>6}")
    print("COBA-style scale benchmark: wall s per simulated s, best of the runs (ratios: their time / ours)")
    print(head)
    for r in rows:
        label = f"{r['n_neurons']:>9}{r['synapses_per_neuron']:>6}"
        if r.get("skipped"):
            print(f"{label}{'':>12}{r['threads']:>4}  skipped: {r['skipped']}")
            continue
        gib = None if r["peak_rss_bytes"] is None else r["peak_rss_bytes"] / 2**30
        print(f"{label}{fmt(r['n_synapses'], ',d') if r['n_synapses'] else '-':>13}{r['threads']:>4}"
              f"{fmt(r['wall_s_per_sim_s'], '.4g'):>9}{fmt(r['syn_events_per_s'], '.3g'):>10}{fmt(r['build_s'], '.3g'):>8}"
              f"{fmt(gib, '.2f'):>8}{fmt(r['bytes_per_synapse'], '.1f'):>6}{fmt(r['mean_rate_hz'], '.1f'):>6}"
              f"{fmt(r.get('speedup_vs_1_thread'), '.2f', 'x'):>8} |"
              f"{fmt(r['brian2_wall_s_per_sim_s'], '.4g'):>9}{fmt(r['speedup_vs_brian2'], '.3g', 'x'):>8} |"
              f"{fmt(r['nest_wall_s_per_sim_s'], '.4g'):>9}{fmt(r['speedup_vs_nest'], '.3g', 'x'):>8}"
              f"{fmt(r['nest_mean_rate_hz'], '.1f'):>6}" + (" procedural" if r["procedural"] else ""))
        if "speedup_vs_auryn_published" in r:
            print(f"{'':>9}  Auryn (published, 1 thread, i7-4770K, 1M neurons / 82M synapses): "
                  f"{AURYN_S_PER_SIM_S} s per simulated s; ours {fmt(r['wall_s_per_sim_s'], '.4g')} "
                  f"({fmt(r['speedup_vs_auryn_published'], '.2f', 'x')})")
        for note in r["notes"]:
            print(f"{'':>9}  note: {note}")


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default=None, help=f"comma-separated N or NxK (default {SIZES})")
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts (default 1,2)")
    ap.add_argument("--duration", type=float, default=None, help="simulated s (default 1; --quick 0.1)")
    ap.add_argument("--repeats", type=int, default=None, help="runs per side, best kept (default 2; --quick 1)")
    ap.add_argument("--nest-repeats", type=int, default=1,
                    help="NEST's runs (default 1: it is ~100x slower here, and 1M neurons take ~30 min a run)")
    ap.add_argument("--threading-layer", default="omp",
                    help="NUMBA_THREADING_LAYER of snnsim's children (default omp; 'engine': the engine's own "
                         "choice, workqueue)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=3600.0, help="s per child process (default 3600)")
    ap.add_argument("--quick", action="store_true", help=f"sizes {QUICK_SIZES}, 0.1 s, one run: a smoke test")
    ap.add_argument("--skip-brian2", action="store_true")
    ap.add_argument("--skip-nest", action="store_true")
    ap.add_argument("--no-procedural", action="store_true", help="leave out the procedural-connectivity row")
    ap.add_argument("--ours-child", help=argparse.SUPPRESS)
    ap.add_argument("--nest-child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.ours_child or args.nest_child:
        print(json.dumps((ours_child if args.ours_child else nest_child)(json.loads(args.ours_child or args.nest_child))))
        return {}
    sizes = [parse_size(s) for s in (args.sizes or (QUICK_SIZES if args.quick else SIZES)).split(",")]
    try:
        thread_counts = [int(t) for t in args.threads.split(",")]
    except ValueError:
        raise SystemExit(f"scale.py: --threads {args.threads!r} is not a comma-separated list of integers") from None
    if any(t < 1 for t in thread_counts) or args.timeout <= 0 or min(args.repeats or 1, args.nest_repeats) < 1:
        raise SystemExit("scale.py: --threads entries, --timeout, --repeats and --nest-repeats must be positive")
    duration = args.duration if args.duration is not None else (0.1 if args.quick else 1.0)
    repeats = args.repeats if args.repeats is not None else (1 if args.quick else 2)
    sides = ["ours"] + ([] if args.skip_brian2 else ["brian2"]) + ([] if args.skip_nest else ["nest"])
    brian2_python = brian2_version = None
    if "brian2" in sides:
        sys.path.insert(0, str(HERE))
        from coba import ensure_brian2      # benchmarks/coba.py: installs Brian2 into benchmarks/.venv-brian2
        brian2_python = ensure_brian2()

    warm_caches(thread_counts, args)
    failed: dict = {}   # (side, threads) -> the size at which it failed and why
    rows, raw = [], []
    plan = [(n, k, t, False) for n, k in sizes for t in thread_counts]
    procedural = None if args.no_procedural else procedural_available()
    if procedural is not None:
        pn, pk = QUICK_PROCEDURAL if args.quick else PROCEDURAL
        plan += [(pn, pk, t, True) for t in thread_counts]
    for n, k, threads, proc in plan:
        if proc and not procedural:
            row = make_row(n, k, threads, True, None, None, None, [], duration)
            row["skipped"] = "procedural connectivity not available (Network.connect has no 'procedural' option)"
            rows.append(row)
            continue
        spec = {"n": n, "k": k, "threads": threads, "duration": duration, "seed": args.seed, "procedural": proc}
        runs = {side: [] for side in sides}
        notes = []
        for side in sides:
            if proc and side != "ours":
                notes.append(f"{side}: not run (stored synapses: {n * k:.2g} do not fit in this machine's memory)")
            elif (side, threads) in failed:
                notes.append(f"{side}: not run ({failed[side, threads]})")
        free = mem_available()
        nest_need = n * NEST_BYTES_PER_NEURON * max(1.0, k / K_REF)
        if "nest" in sides and not proc and free is not None and nest_need >= 0.9 * free:
            notes.append(f"nest: not run (needs about {nest_need / 2**30:.0f} GiB by the per-neuron figure "
                         f"measured at 16k-64k, {free / 2**30:.0f} GiB available)")
        active = [s for s in sides if not (proc and s != "ours") and (s, threads) not in failed
                  and not (s == "nest" and not proc and free is not None and nest_need >= 0.9 * free)]
        for rep in range(max(repeats, args.nest_repeats)):
            for side in active:
                if (runs[side] and "error" in runs[side][-1]) or rep >= (args.nest_repeats if side == "nest" else repeats):
                    continue
                print(f"  running {side} N={n} k={k} threads={threads}{' procedural' if proc else ''} ...",
                      file=sys.stderr, flush=True)
                r = run_side(side, spec, args, brian2_python)
                runs[side].append(r)
                raw.append({"side": side, **spec, **r})
        for side in active:
            errors = [r["error"] for r in runs[side] if "error" in r]
            if errors and best(runs[side]) is None:
                failed[side, threads] = f"failed at N={n} x {k}: {errors[0]}"
                notes.append(f"{side}: {errors[0]}")
        b = {side: best(runs[side]) if side in runs else None for side in ("ours", "brian2", "nest")}
        if b["brian2"]:
            brian2_version = b["brian2"]["brian2_version"]
        rows.append(make_row(n, k, threads, proc, b["ours"], b["brian2"], b["nest"], notes, duration))
    for row in rows:   # two threads against one, and the procedural rows against the stored ones
        one = next((r for r in rows if r["n_neurons"] == row["n_neurons"] and r["synapses_per_neuron"] ==
                    row["synapses_per_neuron"] and r["procedural"] == row["procedural"] and r["threads"] == 1), None)
        if one and one["wall_s_per_sim_s"] and row["wall_s_per_sim_s"]:
            row["speedup_vs_1_thread"] = one["wall_s_per_sim_s"] / row["wall_s_per_sim_s"]
            row["same_spikes_as_1_thread"] = one["spikes"] == row["spikes"]
        twin = next((r for r in rows if r["n_neurons"] == row["n_neurons"] and r["synapses_per_neuron"] ==
                     row["synapses_per_neuron"] and not r["procedural"] and r["threads"] == row["threads"]), None)
        if row["procedural"] and twin and twin["spikes"] is not None and row["spikes"] is not None:
            row["same_spikes_as_stored"] = twin["spikes"] == row["spikes"]
    print_table(rows)
    nest_version = next((r.get("nest_version") for r in raw if r["side"] == "nest" and "nest_version" in r), None)
    ours_version = next((r.get("snnsim_version") for r in raw if r["side"] == "ours" and "snnsim_version" in r), None)
    result = {"benchmark": "scale", "network": f"COBA-style, p = k / N, weights x 80 / k, dt 0.1 ms, euler, "
              f"float32, {duration:g} s, no spike recording", "duration_s": duration, "repeats": repeats,
              "nest_repeats": args.nest_repeats, "threading_layer_option": args.threading_layer,
              "results": rows, "auryn_anchor": AURYN, "procedural_available": procedural,
              "versions": {"snnsim": ours_version, "brian2": brian2_version, "nest": nest_version,
                           "python": platform.python_version()},
              "machine": machine(), "date": date.today().isoformat(), "runs": raw}
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
