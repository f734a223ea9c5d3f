"""PD14 cortical microcircuit: snnsim's CPU engine beside NEST 3.10 (``iaf_psc_exp``), same run.

The network is :mod:`snnsim.examples.microcircuit` (Potjans & Diesmann 2014; 77,169 neurons and
~3 x 10^8 synapses at ``--scale 1``). NEST builds the same model from the same parameter table
with its own rules (``fixed_total_number``, ``nest.math.redraw`` of normal weights and delays,
``I_e`` DC or ``poisson_generator`` drive), in a child process (NEST's OpenMP runtime and torch's
do not share a process). Both run ``--warmup`` s, then ``--duration`` s timed, with each thread
count of ``--threads`` (snnsim: the engine's ``threads=`` option where it has one, else one
thread, marked ``threads_supported: false``).

Figures: real-time factor (wall / simulated time of the timed part), synaptic events per second
(snnsim's counter, background included; NEST: spikes x mean out-degree of the sender's
population, plus the expected background events with Poisson drive), build time, peak RSS of
each process, population rates and their ratio to the reference rates. Last line JSON with
``rtf``, ``rtf_nest``, ``speedup_vs_nest`` (NEST's wall / ours at the same threads), ``syn_events_per_s``,
``rates_hz`` (first thread count) and ``results`` (one row per thread count).

    python benchmarks/microcircuit.py [--scale 1.0] [--k-scale K] [--drive dc|poisson]
        [--warmup 0.1] [--duration 1.0] [--threads 1,2] [--no-nest]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def peak_rss_bytes() -> int:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss it is not inherited across exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024   # Linux: KiB


def spike_digest(res) -> str:
    """SHA-256 over every population's spike times and indices, in name order: equal digests are
    equal spike trains, bit for bit."""
    h = hashlib.sha256()
    for name in sorted(res.spikes):
        h.update(name.encode())
        h.update(np.ascontiguousarray(res.spikes[name].times).tobytes())
        h.update(np.ascontiguousarray(res.spikes[name].indices).tobytes())
    return h.hexdigest()


def run_snnsim(scale, k_scale, drive, warmup, duration, threads, seed):
    from snnsim.errors import NetworkError
    from snnsim.examples import microcircuit as mc
    from snnsim.simulate import simulator

    t0 = time.perf_counter()
    net = mc.microcircuit(scale, drive, seed, k_scale=k_scale)
    build_s = time.perf_counter() - t0
    rows = []
    for t in threads:
        try:
            sim = simulator(net, "cpu", threads=t)
            supported = True
        except (TypeError, NetworkError) as err:    # the engine has no threads option (yet)
            if "threads" not in str(err):
                raise
            if rows:
                break
            sim = simulator(net, "cpu")
            supported = False
        with sim:
            t1 = time.perf_counter()
            sim.run(warmup)
            warm_s = time.perf_counter() - t1
            t1 = time.perf_counter()
            res = sim.run(duration)
            wall = time.perf_counter() - t1
        rates = mc.population_rates(res, net)
        rows.append({"threads": t if supported else 1, "threads_supported": supported, "build_s": build_s,
                     "engine_build_s": sim.build_s, "warmup_wall_s": warm_s, "wall_s": wall, "rtf": wall / duration,
                     "syn_events_per_s": float(res.counters.get("syn_events", 0)) / wall,
                     "rates_hz": rates, "peak_rss_bytes": peak_rss_bytes(), "spike_digest": spike_digest(res)})
        rows[-1]["same_spikes_as_1_thread"] = rows[-1]["spike_digest"] == rows[0]["spike_digest"]
        rows[-1]["speedup_vs_1_thread"] = rows[0]["wall_s"] / wall
        del sim, res     # at full scale one packed engine is ~3 GB: free it before the next one is built
        if not supported:
            break
    # only the sizes leave: the description (~12 bytes per synapse) is freed before NEST's children run
    return {"n_neurons": net.n_neurons, "n_synapses": int(net.n_synapses)}, rows


def memory_estimate(scale: float, drive: str, k_scale: float) -> dict:
    """Peak bytes of snnsim's side from the parameter table alone (nothing built), with the memory
    guard's per-synapse constants (snnsim.memory): the description (int32 targets, float64 weight
    and delay arrays as the example passes them, int64 row pointers), plus the larger of the
    engine's packing peak and the transient of drawing the largest projection."""
    from snnsim import memory as m
    from snnsim.examples import microcircuit as mc

    p = mc.parameters(scale, drive, k_scale)
    n_syn = float(p["synapses"].sum())
    n = float(p["sizes"].sum())
    targets, _, per_delay, per_weight = m.ENGINE_SYNAPSE_BYTES["cpu"]
    description = n_syn * (m.INDEX_BYTES + 2 * m.VALUE_BYTES) + 8 * (n + 64) * m.ROW_BYTES   # 8 projections per source population
    engine = n_syn * (targets + per_delay + per_weight * 4)                   # float32 arithmetic
    drawing = float(p["synapses"].max()) * (m.BUILD_BYTES + 2 * m.VALUE_BYTES)  # pairs + the redrawn arrays
    if drive == "poisson":
        description += n * (m.INDEX_BYTES + m.ROW_BYTES)
        engine += n * targets
    neurons = n * (m.NEURON_BYTES + 8 * 12)
    total = description + max(engine, drawing) + neurons
    free = m.available()
    return {"scale": scale, "k_scale": k_scale, "drive": drive, "neurons": int(n), "synapses": int(n_syn),
            "description_bytes": int(description), "engine_peak_bytes": int(engine),
            "largest_drawing_bytes": int(drawing), "estimated_peak_bytes": int(total),
            "available_bytes": free, "fits": None if free is None else bool(total < free)}


def nest_child(spec: dict) -> dict:
    """Build and run the model in NEST (this process); returns the figures."""
    import nest
    from snnsim.examples import microcircuit as mc

    p = mc.parameters(spec["scale"], spec["drive"], spec["k_scale"])
    nest.ResetKernel()
    if hasattr(nest, "VerbosityLevel"):
        nest.verbosity = nest.VerbosityLevel.ERROR
    else:
        nest.set_verbosity("M_ERROR")
    nest.local_num_threads = spec["threads"]
    nest.resolution = mc.DT
    nest.rng_seed = spec["seed"] + 1
    t0 = time.perf_counter()
    pops, recs = [], []
    for i, name in enumerate(mc.POPULATIONS):
        pop = nest.Create("iaf_psc_exp", int(p["sizes"][i]), params={
            "tau_m": mc.TAU_M, "C_m": mc.C_M, "tau_syn_ex": mc.TAU_SYN, "tau_syn_in": mc.TAU_SYN,
            "E_L": mc.E_L, "V_th": mc.V_TH, "V_reset": mc.V_RESET, "t_ref": mc.T_REF,
            "I_e": float(p["dc_pa"][i])})
        mean, sd = mc.V0_OPTIMIZED[0][i], mc.V0_OPTIMIZED[1][i]
        pop.V_m = nest.random.normal(mean=float(mean), std=float(sd))
        rec = nest.Create("spike_recorder", params={"start": spec["warmup"] * 1e3, "record_to": "memory"})
        nest.Connect(pop, rec)
        pops.append(pop)
        recs.append(rec)
    for i, tgt in enumerate(pops):
        for j, src in enumerate(pops):
            n = int(p["synapses"][i, j])
            if n == 0:
                continue
            w = float(p["weight_pa"][i, j])
            lo, hi = (0.0, np.inf) if w > 0 else (-np.inf, 0.0)
            d = mc.DELAY_EXC if j % 2 == 0 else mc.DELAY_INH
            nest.Connect(src, tgt, {"rule": "fixed_total_number", "N": n},
                         {"synapse_model": "static_synapse",
                          "weight": nest.math.redraw(nest.random.normal(mean=w, std=abs(w) * mc.WEIGHT_REL_SD),
                                                     min=lo, max=hi),
                          "delay": nest.math.redraw(nest.random.normal(mean=d, std=d * mc.DELAY_REL_SD),
                                                    min=0.5 * mc.DT, max=np.inf)})
    if spec["drive"] == "poisson":
        for i, tgt in enumerate(pops):
            gen = nest.Create("poisson_generator", params={"rate": float(p["poisson_rate_hz"][i])})
            nest.Connect(gen, tgt, "all_to_all", {"weight": p["weight_ext_pa"], "delay": mc.DELAY_POISSON})
    nest.Prepare()
    nest.Cleanup()
    build_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    nest.Simulate(spec["warmup"] * 1e3)
    warm_s = time.perf_counter() - t1
    t1 = time.perf_counter()
    nest.Simulate(spec["duration"] * 1e3)
    wall = time.perf_counter() - t1
    counts = [int(r.n_events) for r in recs]
    out_degree = p["synapses"].sum(axis=0) / p["sizes"]      # synapses per sender, by source population
    events = float(np.dot(counts, out_degree))
    if spec["drive"] == "poisson":   # the background's events, as snnsim's counter has them (expected number)
        events += float(np.dot(p["poisson_rate_hz"], p["sizes"])) * spec["duration"]
    rates = {name: c / (int(p["sizes"][i]) * spec["duration"]) for i, (name, c) in enumerate(zip(mc.POPULATIONS, counts))}
    return {"threads": spec["threads"], "build_s": build_s, "warmup_wall_s": warm_s, "wall_s": wall,
            "rtf": wall / spec["duration"], "syn_events_per_s": events / wall, "rates_hz": rates,
            "peak_rss_bytes": peak_rss_bytes(), "nest_version": nest.__version__}


def run_nest(spec: dict) -> dict | None:
    proc = subprocess.run([sys.executable, __file__, "--nest-child", json.dumps(spec)], capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    if proc.returncode != 0:
        print(f"NEST failed (rc {proc.returncode}): {proc.stderr[-2000:]}", file=sys.stderr)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--k-scale", type=float, default=None)
    ap.add_argument("--drive", choices=("dc", "poisson"), default="dc")
    ap.add_argument("--warmup", type=float, default=0.1)
    ap.add_argument("--duration", type=float, default=1.0)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--seed", type=int, default=55)
    ap.add_argument("--no-nest", action="store_true")
    ap.add_argument("--estimate-only", action="store_true",
                    help="print the memory estimate of snnsim's side at --scale (nothing built) and stop")
    ap.add_argument("--threading-layer", default="omp",
                    help="NUMBA_THREADING_LAYER of this process (default omp: no torch or NEST here; "
                         "'engine': the engine's own choice, workqueue)")
    ap.add_argument("--nest-child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.nest_child:
        print(json.dumps(nest_child(json.loads(args.nest_child))))
        return 0
    if args.threading_layer != "engine":
        os.environ.setdefault("NUMBA_THREADING_LAYER", args.threading_layer)   # before numba is imported
    from snnsim.examples import microcircuit as mc
    from snnsim.cli import _table
    from snnsim.memory import fmt_bytes

    threads = [int(t) for t in args.threads.split(",")]
    k_scale = mc.effective_k_scale(args.scale, args.drive, args.k_scale)
    est = memory_estimate(args.scale, args.drive, k_scale)
    print(f"memory estimate of snnsim's side: {fmt_bytes(est['estimated_peak_bytes'])} at the peak "
          f"({est['synapses']:,} synapses; description {fmt_bytes(est['description_bytes'])}, engine packing "
          f"{fmt_bytes(est['engine_peak_bytes'])}); available {fmt_bytes(est['available_bytes'] or 0)}")
    if args.estimate_only:
        print(json.dumps({"benchmark": "microcircuit", "memory_estimate": est}))
        return 0
    net, ours = run_snnsim(args.scale, k_scale, args.drive, args.warmup, args.duration, threads, args.seed)
    results = []
    for row in ours:
        nest_row = None if args.no_nest else run_nest({"scale": args.scale, "k_scale": k_scale, "drive": args.drive,
                                                        "warmup": args.warmup, "duration": args.duration,
                                                        "threads": row["threads"], "seed": args.seed})
        results.append({**row, "nest": nest_row,
                        "rtf_nest": nest_row["rtf"] if nest_row else None,
                        "speedup_vs_nest": nest_row["wall_s"] / row["wall_s"] if nest_row else None})
    ref = dict(zip(mc.POPULATIONS, map(float, mc.REFERENCE_RATES_HZ)))
    first = results[0]
    rows = []
    for name in mc.POPULATIONS:
        n = first["nest"]["rates_hz"][name] if first["nest"] else float("nan")
        rows.append((name, f"{first['rates_hz'][name]:.3f}", f"{n:.3f}", f"{ref[name]:.3f}",
                     f"{first['rates_hz'][name] / ref[name]:.2f}"))
    _table(f"PD14 microcircuit, scale {args.scale:g} (k_scale {k_scale:g}), {args.drive} drive: rates over "
           f"{args.duration:g} s after {args.warmup:g} s", ("population", "snnsim (Hz)", "NEST (Hz)",
                                                            "reference (Hz)", "snnsim / reference"), rows)
    perf = []
    for r in results[1:]:
        print(f"{r['threads']} threads: {r['speedup_vs_1_thread']:.2f}x one thread's speed, "
              f"same spikes as 1 thread: {r['same_spikes_as_1_thread']}")
    for r in results:
        nr = r["nest"] or {}
        perf.append((str(r["threads"]) + ("" if r["threads_supported"] else " (no threads= option)"),
                     f"{r['rtf']:.3f}", f"{nr.get('rtf', float('nan')):.3f}",
                     f"{r['speedup_vs_nest'] or float('nan'):.2f}", f"{r['syn_events_per_s']:.3e}",
                     f"{nr.get('syn_events_per_s', float('nan')):.3e}", f"{r['build_s']:.1f}",
                     f"{nr.get('build_s', float('nan')):.1f}", f"{r['peak_rss_bytes'] / 2**30:.2f}",
                     f"{nr.get('peak_rss_bytes', float('nan')) / 2**30:.2f}"))
    _table(f"{net['n_neurons']:,} neurons, {net['n_synapses']:,} synapses (loaded machine: compare ratios only)",
           ("threads", "RTF", "RTF NEST", "speedup", "syn ev/s", "syn ev/s NEST", "build s", "build s NEST",
            "peak GiB", "peak GiB NEST"), perf)
    within = {name: bool(ref[name] / 2.5 < first["rates_hz"][name] < ref[name] * 2.5) for name in mc.POPULATIONS}
    print(f"rates within a factor 2.5 of the reference: {all(within.values())} {within}")
    out = {"benchmark": "microcircuit", "scale": args.scale, "k_scale": k_scale, "drive": args.drive,
           "neurons": net["n_neurons"], "synapses": net["n_synapses"], "warmup_s": args.warmup,
           "duration_s": args.duration, "rtf": first["rtf"], "rtf_nest": first["rtf_nest"],
           "speedup_vs_nest": first["speedup_vs_nest"], "syn_events_per_s": first["syn_events_per_s"],
           "rates_hz": first["rates_hz"], "reference_rates_hz": ref, "rates_within_reference": within,
           "memory_estimate": est, "threading_layer": os.environ.get("NUMBA_THREADING_LAYER"),
           "results": results, "machine": platform.processor() or platform.machine(),
           "cpus": os.cpu_count(), "date": time.strftime("%Y-%m-%d")}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
