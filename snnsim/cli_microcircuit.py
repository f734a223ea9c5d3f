"""``snnsim microcircuit``: the Potjans & Diesmann (2014) cortical microcircuit (docs/microcircuit.md)."""

from __future__ import annotations

import argparse
import time


def add_parser(sub) -> None:
    """Register ``microcircuit`` as a top-level command."""
    from snnsim.cli_types import seed_int

    p = sub.add_parser("microcircuit", help="run the Potjans & Diesmann (2014) cortical microcircuit "
                                            "(77,169 neurons at --scale 1)")
    p.add_argument("--scale", type=float, default=0.1, help="fraction of the neurons (default 0.1)")
    p.add_argument("--k-scale", type=float, default=None,
                   help="fraction of the in-degrees (the reference's K_scaling; default: --scale with "
                        "Poisson drive, 1 with DC drive)")
    p.add_argument("--drive", choices=("dc", "poisson"), default="poisson",
                   help="background: Poisson K_ext x 8 Hz per neuron (default; near the reference rates at "
                        "reduced scale) or DC (the reference's full-scale default)")
    p.add_argument("--duration", type=float, default=1.0, help="simulated seconds after the warm-up (default 1)")
    p.add_argument("--warmup", type=float, default=0.1, help="simulated seconds before measuring (default 0.1)")
    p.add_argument("--seed", type=seed_int, default=55, help="network seed (default 55)")
    p.add_argument("--backend", default="cpu", help="engine (default cpu)")
    p.add_argument("--threads", type=int, default=None, help="engine threads, where the engine takes them")
    p.add_argument("--raster", metavar="PNG", help="write a raster + rate figure of the measured part")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--json", action="store_true", help="print the figures as one JSON object on the last line")
    p.set_defaults(func=cmd_microcircuit)


def cmd_microcircuit(args) -> int:
    from snnsim.cli import _table, check_times, print_json
    from snnsim.examples import microcircuit as mc
    from snnsim.simulate import simulator

    for name in ("duration", "warmup"):
        check_times(getattr(args, name), mc.DT * 1e-3)
    if args.raster:
        from snnsim.io.atomic import check_writable
        check_writable(args.raster)
    t0 = time.perf_counter()
    net = mc.microcircuit(args.scale, args.drive, args.seed, k_scale=args.k_scale)
    build_s = time.perf_counter() - t0
    kwargs = {"progress": args.progress}
    if args.threads is not None:
        kwargs["threads"] = args.threads
    with simulator(net, args.backend, **kwargs) as sim:
        if args.warmup > 0:
            sim.run(args.warmup, progress=args.progress)
        t1 = time.perf_counter()
        res = sim.run(args.duration, progress=args.progress)
        run_s = time.perf_counter() - t1
    rates = mc.population_rates(res, net)
    rows = [(name, f"{net.populations[name].size:,}", f"{rates[name]:.3f}", f"{ref:.3f}",
             f"{rates[name] / ref:.2f}") for name, ref in zip(mc.POPULATIONS, mc.REFERENCE_RATES_HZ)]
    _table(f"PD14 microcircuit, scale {args.scale:g}, {args.drive} drive, {args.duration:g} s after "
           f"{args.warmup:g} s", ("population", "neurons", "rate (Hz)", "reference (Hz)", "ratio"), rows)
    syn_events = float(res.counters.get("syn_events", 0))
    summary = {"network": net.name, "scale": args.scale, "k_scale": mc.effective_k_scale(args.scale, args.drive, args.k_scale),
               "drive": args.drive, "backend": args.backend, "neurons": net.n_neurons,
               "synapses": int(net.n_synapses), "duration_s": args.duration, "warmup_s": args.warmup,
               "build_s": build_s, "run_wall_s": run_s, "rtf": run_s / args.duration if args.duration else None,
               "syn_events_per_s": syn_events / run_s if run_s > 0 else None,
               "rates_hz": rates, "reference_rates_hz": dict(zip(mc.POPULATIONS, map(float, mc.REFERENCE_RATES_HZ))),
               "raster_png": None}
    print(f"build {build_s:.2f} s, run {run_s:.3f} s wall for {args.duration:g} s simulated "
          f"(real-time factor {summary['rtf']:.3f}), {summary['syn_events_per_s'] or 0:.3e} synaptic events/s")
    if args.raster:
        from snnsim.plot import raster_and_rate
        summary["raster_png"] = str(raster_and_rate(res, args.raster, title=f"PD14 microcircuit, scale {args.scale:g}"))
        print(f"wrote {summary['raster_png']}")
    if args.json:
        print_json(summary)
    return 0
