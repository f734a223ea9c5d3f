"""``snnsim bench``: throughput, SynOps and energy of a standard suite (or of the user's network) on
every engine present. The JSON it prints and writes is documented in docs/bench.md."""

from __future__ import annotations

import argparse
import json
import os
import platform
from datetime import date

import numpy as np

from snnsim.errors import NetworkError, SnnsimError

SCHEMA = "snnsim.bench/1"
DEFAULT_ENGINES = ("cpu", "event")


def sparse_network(n: int, rate_hz: float = 20.0, seed: int = 3):
    """``n`` LIF neurons (tau 20 ms, threshold 1, t_ref 2 ms), 100 recurrent synapses each (fewer
    below 101 neurons), weights uniform in [-0.02, 0.02], delays 1-2 ms; a fraction ``rate_hz / 20 Hz``
    of them is driven to fire near 20 Hz, the rest sit below threshold (mean rate ~ ``rate_hz``)."""
    from snnsim import LIF, FixedInDegree, Network, Uniform

    rng = np.random.default_rng(seed)
    active = rng.random(n) < min(1.0, rate_hz / 20.0)
    bias = np.where(active, 1.1 * (1 + 0.02 * rng.standard_normal(n)), 0.9)
    net = Network(dt=1e-4, seed=seed, name=f"sparse-{n}")
    pop = net.add_population("neurons", n, LIF(tau_mem=0.02, v_th=1.0, v_reset=0.0, t_ref=2e-3, i_bias=bias))
    net.connect(pop, pop, FixedInDegree(min(100, n - 1)), weight=Uniform(-0.02, 0.02), delay=Uniform(1e-3, 2e-3))
    net.probe_spikes(pop)
    return net


def digits_snn(samples: int, epochs: int | None = None):
    """The trained digits classifier (64-128-10 CubaLIF/LI, ``snnsim train digits``; ``epochs``
    None: the task's default) fed the Poisson spikes of ``samples`` test images back to back (30
    steps of 1 ms each at up to 500 Hz, no reset between images: inference on a stream). A single
    copy, so the dense ANN baseline is the classifier's own layers (``duration_s = 0.03 samples``)."""
    from snnsim.training.classify import Encoding, encode
    from snnsim.training.run import TaskSpec, _generator, train_task
    from snnsim.training.tasks import load_digits_task

    _, model = train_task(TaskSpec("digits", epochs=epochs), progress=False)
    net = model.to_network()
    x, _ = load_digits_task(0).test
    spikes = encode(Encoding("poisson", 30, 500.0), x[:samples], net.dt, _generator(0, 2**32))["inputs"]["input"]
    k, b, i = np.nonzero(spikes.numpy())          # (step, image, input)
    net.set_spike_times("input", (b * 30 + k) * net.dt, i)
    net.name = f"digits-snn-{samples}-images"
    return net


def standard_suite(quick: bool) -> list[dict]:
    """The cases: COBA, the sparse network at several sizes (20 Hz), the same at 0.5 Hz (the
    event-driven regime), and the trained digits SNN (trained once, on first use)."""
    from snnsim.examples.coba import build_coba

    sizes = (250, 1000) if quick else (1000, 4000, 16000, 64000)
    duration = 0.05 if quick else 0.5
    cases = [{"case": "coba", "build": lambda: build_coba(1000 if quick else 4000), "duration_s": duration}]
    cases += [{"case": "sparse-20hz", "size": n, "build": (lambda n=n: sparse_network(n)), "duration_s": duration}
              for n in sizes]
    cases += [{"case": "sparse-0.5hz", "size": n, "build": (lambda n=n: sparse_network(n, 0.5)),
               "duration_s": duration} for n in sizes[-2:]]
    trained = []   # the digits network, trained by the first engine's case and reused by the others

    def digits():
        if not trained:
            trained.append(digits_snn(images, epochs=3 if quick else None))
        return trained[0]
    images = 20 if quick else 100
    cases.append({"case": "digits-snn", "build": digits, "duration_s": 0.030 * images})
    return cases


def run_case(net, engine: str, duration: float) -> dict:
    """One run from t = 0: the Results (its ``loop_s`` excludes compiling, timed apart as ``jit_s``)
    or the engine's refusal."""
    from snnsim.metrics.energy import measure_rapl
    from snnsim.simulate import simulator

    try:
        with simulator(net, engine) as sim:
            with measure_rapl() as measured:
                res = sim.run(duration)
    except NetworkError as err:
        return {"refused": str(err)}
    return {"results": res, "measured": measured}


def bench(cases: list[dict], engines, profiles, progress: bool = True) -> dict:
    """Run every case on every engine; figures as the documented JSON object."""
    from tqdm import tqdm

    from snnsim.metrics import estimate_energy, run_metrics

    rows = []
    todo = [(c, e) for c in cases for e in engines]
    for case, engine in tqdm(todo, desc="bench", disable=not progress, leave=False):
        net = case["build"]()
        out = run_case(net, engine, case["duration_s"])
        row = {"case": case["case"], "engine": engine, "neurons": net.n_neurons, "synapses": net.n_synapses,
               "duration_s": case["duration_s"]}
        if "refused" in out:
            rows.append({**row, "refused": out["refused"]})
            continue
        res = out["results"]
        m = run_metrics(net, res)
        energy = {p.name: estimate_energy(net, res, p, m) for p in profiles}
        rows.append({**row, "metrics": m, "mean_rate_hz": res.mean_rate(),
                     "energy": {k: {f: v for f, v in e.items() if f != "assumptions"} for k, e in energy.items()},
                     "measured": {k: v for k, v in out["measured"].items()}})
    return {
        "schema": SCHEMA, "date": date.today().isoformat(), "machine": platform.processor() or platform.machine(),
        "engines": list(engines),
        "profiles": {p.name: {"kind": p.kind, "citation": p.citation,
                              "assumptions": estimate_energy.__doc__ and _assumptions(p)} for p in profiles},
        "runs": rows,
    }


def _assumptions(profile) -> list[str]:
    from snnsim.metrics.energy import PJ  # noqa: F401  (the module's docstring states the model)
    if profile.kind == "ann":
        return [f"dense layer of each projection's shape evaluated every step, {profile.mac_pj} pJ per MAC"
                + (f" + {profile.memory_pj} pJ per weight read" if profile.memory_pj else "")]
    return [f"{profile.syn_op_pj} pJ per synaptic event; {profile.neuron_update_active_pj}/"
            f"{profile.neuron_update_inactive_pj} pJ per active/inactive neuron update (active = min(updates, "
            f"spikes + events in), an upper bound); {profile.neurons_per_core} neurons per core, "
            f"{profile.cores_per_tile} cores per tile, mesh {profile.mesh_columns} tiles wide; "
            f"{profile.spike_tile_pj} pJ per destination core, {profile.hop_ew_pj}/{profile.hop_ns_pj} pJ per "
            f"east-west/north-south hop"]


def table_rows(report: dict) -> list[tuple]:
    snn = [k for k, v in report["profiles"].items() if v["kind"] == "snn"]
    ann = [k for k, v in report["profiles"].items() if v["kind"] == "ann"]
    rows = []
    for r in report["runs"]:
        if "refused" in r:
            rows.append((r["case"], r["engine"], f"{r['neurons']}", f"{r['synapses']:.2g}", "refused", "", "", "", ""))
            continue
        t = r["metrics"]["totals"]
        e_snn = r["energy"][snn[0]] if snn else None
        e_ann = r["energy"][ann[0]] if ann else None
        per_event = e_snn and e_snn["energy_per_syn_event_uj"]
        rows.append((r["case"], r["engine"], f"{r['neurons']}", f"{r['synapses']:.2g}", f"{r['mean_rate_hz']:.3g}",
                     f"{t['real_time_factor']:.3g}", f"{t['syn_events_per_s']:.2e}",
                     f"{per_event:.2e}" if per_event else "-",
                     f"{e_snn['total_j'] / e_ann['total_j']:.2g}" if e_snn and e_ann and e_ann["total_j"] else "-"))
    return rows


TABLE_COLUMNS = ("case", "engine", "neurons", "synapses", "Hz", "RTF", "events/s", "µJ/event", "SNN/ANN")


def plot(report: dict, out_dir: str) -> list[str]:
    """throughput.png (synaptic events/s against size, per engine and case) and energy.png (energy per
    population and SNN against ANN, per profile, for the first case run). Returns the paths."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from snnsim.io.atomic import atomic_path

    runs = [r for r in report["runs"] if "refused" not in r]
    paths = []
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for (case, engine) in sorted({(r["case"], r["engine"]) for r in runs}):
        pts = sorted((r["neurons"], r["metrics"]["totals"]["syn_events_per_s"]) for r in runs
                     if r["case"] == case and r["engine"] == engine)
        ax.plot(*zip(*pts), marker="o", label=f"{case} / {engine}")
    ax.set(xscale="log", yscale="log", xlabel="neurons", ylabel="synaptic events per second of loop time",
           title="Throughput against network size")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    paths.append(_save(fig, os.path.join(out_dir, "throughput.png"), atomic_path, plt))

    if runs:
        first = runs[0]
        names = list(report["profiles"])
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4.2))
        snn = [n for n in names if report["profiles"][n]["kind"] == "snn"]
        for i, name in enumerate(snn):
            e = first["energy"][name]
            parts = {**{f"pop {k}": v for k, v in e["populations_j"].items()},
                     **{f"proj {k}": v for k, v in e["projections_j"].items()}}
            x = np.arange(len(parts)) + i * 0.8 / max(1, len(snn))
            a1.bar(x, [v * 1e6 for v in parts.values()], width=0.8 / max(1, len(snn)), label=name)
            a1.set_xticks(np.arange(len(parts)), list(parts), rotation=30, ha="right", fontsize=8)
        a1.set(ylabel="energy (µJ)", title=f"{first['case']} / {first['engine']}: energy per part")
        a1.legend(fontsize=8)
        totals = [first["energy"][n]["total_j"] * 1e6 for n in names]
        colors = ["tab:green" if report["profiles"][n]["kind"] == "snn" else "tab:gray" for n in names]
        a2.bar(names, totals, color=colors)
        a2.set(yscale="log", ylabel="energy (µJ)", title="SNN (green) against the equivalent ANN (grey)")
        for j, v in enumerate(totals):
            a2.text(j, v, f"{v:.3g}", ha="center", va="bottom", fontsize=8)
        fig.tight_layout()
        paths.append(_save(fig, os.path.join(out_dir, "energy.png"), atomic_path, plt))
    return paths


def _save(fig, path, atomic_path, plt) -> str:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


# ------------------------------------------------------------------ command line
def add_parser(sub) -> None:
    p = sub.add_parser("bench", help="throughput, synaptic operations and energy on every engine")
    p.add_argument("file", metavar="FILE", nargs="?", help="your network (script or .h5); default: the standard suite")
    p.add_argument("--engines", nargs="+", default=list(DEFAULT_ENGINES), metavar="ENGINE",
                   help="engines to run (default: cpu event); a refusal is reported, not fatal")
    p.add_argument("--duration", type=_positive, help="simulated seconds per run (default 0.5; --quick 0.05)")
    p.add_argument("--profiles", nargs="+", default=["loihi", "cmos45", "cmos45-sram"], metavar="PROFILE",
                   help="built-in profile names or TOML/JSON profile files")
    p.add_argument("--out", default="bench", metavar="DIR", help="folder for bench.json and the plots (default bench)")
    p.add_argument("--quick", action="store_true", help="small sizes and short runs")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--json", action="store_true", help="print the report as one JSON object on the last line")
    p.set_defaults(func=cmd_bench)


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def cmd_bench(args) -> int:
    from snnsim.cli import _table, load_network, print_json
    from snnsim.io.atomic import atomic_path
    from snnsim.metrics.profiles import resolve_profile

    profiles = [resolve_profile(p) for p in args.profiles]
    out_json = os.path.join(args.out, "bench.json")
    if args.file:
        written = {os.path.realpath(os.path.join(args.out, n)) for n in ("bench.json", "throughput.png", "energy.png")}
        if os.path.realpath(args.file) in written:
            raise NetworkError("bench", "--out", f"would overwrite the input {args.file}")
        net = load_network(args.file)
        cases = [{"case": net.name, "build": lambda: net, "duration_s": args.duration or 0.5}]
    else:
        cases = standard_suite(args.quick)
        if args.duration:
            for c in cases:
                c["duration_s"] = args.duration
    report = bench(cases, args.engines, profiles, progress=args.progress)
    os.makedirs(args.out, exist_ok=True)
    with atomic_path(out_json) as tmp:
        with open(tmp, "w") as f:
            json.dump(report, f, indent=1, allow_nan=False)
    report["files"] = [out_json, *plot(report, args.out)]
    _table("snnsim bench", TABLE_COLUMNS, table_rows(report), width=120)
    print(f"RTF: loop seconds per simulated second; µJ/event and SNN/ANN: profile "
          f"{next((n for n, p in report['profiles'].items() if p['kind'] == 'snn'), '-')} against "
          f"{next((n for n, p in report['profiles'].items() if p['kind'] == 'ann'), '-')}")
    for r in report["runs"]:
        if "refused" in r:
            print(f"{r['case']} on {r['engine']}: refused: {r['refused']}")
    for name, p in report["profiles"].items():
        print(f"{name} ({p['citation']}): {'; '.join(p['assumptions'])}")
    measured = [r["measured"] for r in report["runs"] if "measured" in r]
    if measured and not any(m.get("available") for m in measured):
        print(f"measured energy: not available ({measured[0].get('reason')})")
    if args.json:
        print_json(report)
    return 0
