"""The ``snnsim`` command: ``demo``, ``run``, ``info``, ``train``, ``export`` and ``bench`` (snnsim.bench).

Figures go to stdout as a table; with ``--json`` the last line of stdout is one
JSON object (``Results.summary()`` plus a few fields). User mistakes (bad
files, invalid parameters) print ``error: <message>`` to stderr and exit with 2.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import runpy
import sys

from snnsim.cli_types import nonnegative_int, positive_float, positive_int, seed_int
from snnsim.errors import FileFormatError, NetworkError, ScriptError, SnnsimError

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
HDF5_SUFFIXES = (".h5", ".hdf5")
EXIT_USAGE = 2


# ------------------------------------------------------------------ loading
def is_hdf5(path: str) -> bool:
    """True for an ``.h5``/``.hdf5`` name or a file starting with the HDF5 signature."""
    if path.lower().endswith(HDF5_SUFFIXES):
        return True
    with open(path, "rb") as f:
        return f.read(len(HDF5_MAGIC)) == HDF5_MAGIC


def load_network(path: str):
    """The network in ``path``: an HDF5 network file or a Python script."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file")
    if os.path.isdir(path):
        raise FileFormatError(f"{path}: is a directory, expected a Python script or an HDF5 network file")
    if is_hdf5(path):
        from snnsim.io import load_network as load_hdf5
        return load_hdf5(path)
    if not path.endswith(".py"):
        raise FileFormatError(f"{path}: expected a Python script (.py) or an HDF5 network file (.h5, .hdf5)")
    return network_from_script(path)


def network_from_script(path: str):
    """Run a script (as ``__snnsim__``, not ``__main__``) and take its network.

    Looked up in order: a variable ``network``, a function ``build_network()``, or the single
    top-level variable holding an snnsim.Network (several such variables are refused, listing them).
    """
    from snnsim.network import Network

    folder = os.path.dirname(os.path.abspath(path))
    sys.path.insert(0, folder)  # as `python script.py` does, so the script can import its neighbours
    modules = set(sys.modules)
    try:
        scope = _run_user_code(path, lambda: runpy.run_path(path, run_name="__snnsim__"))
        found = {name: value for name, value in scope.items()
                 if isinstance(value, Network) and not name.startswith("_")}
        if "network" in scope:
            net, what = scope["network"], "variable `network`"
        elif callable(scope.get("build_network")):
            net, what = _run_user_code(path, scope["build_network"]), "`build_network()`"
        elif len(found) == 1:
            (name, net), = found.items()
            what = f"variable `{name}`"
        elif found:
            raise FileFormatError(f"{path}: defines several snnsim.Network objects ({', '.join(sorted(found))}); "
                                  f"name the one to use `network` or define `build_network()`")
        else:
            raise FileFormatError(f"{path}: defines no snnsim.Network: no variable holding one, no `network` "
                                  f"and no function `build_network()` returning one")
    finally:
        sys.path.remove(folder)
        for name in set(sys.modules) - modules:  # forget the script's own neighbour modules
            if os.path.dirname(os.path.abspath(getattr(sys.modules[name], "__file__", None) or "")) == folder:
                del sys.modules[name]
    if not isinstance(net, Network):
        raise FileFormatError(f"{path}: {what} must be an snnsim.Network, got {type(net).__name__}")
    return net


def _run_user_code(path: str, call):
    """Run a user's script code; its failures become a ScriptError naming the script."""
    try:
        return call()
    except SnnsimError:
        raise
    except SystemExit as exit_:
        raise ScriptError(f"{path}: the script called sys.exit({exit_.code!r}) instead of defining a network") \
            from None
    except Exception as err:  # noqa: BLE001 - any failure of user code is reported, not a crash of snnsim
        raise ScriptError(f"{path}: the script raised {type(err).__name__}: {err}") from err


# ------------------------------------------------------------------ checks
def check_times(duration: float, dt: float | None) -> None:
    """Reject a bad ``--duration``/``--dt`` before any network is built."""
    from snnsim.discretize import steps_of
    from snnsim.network import check_dt

    if not math.isfinite(duration) or duration < 0:
        raise NetworkError("run", "duration", f"must be finite and >= 0 s, got {duration!r}")
    if dt is not None:
        steps_of(duration, check_dt(dt, "run"), "run", "duration")


# ------------------------------------------------------------------ output
def _table(title: str, columns: tuple[str, ...], rows, numeric: bool = False, width: int | None = None) -> None:
    """Print a rich table; ``numeric`` right-aligns the last column; ``width``: at least this many
    columns of text even where stdout is not a terminal."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for i, col in enumerate(columns):
        table.add_column(col, justify="right" if numeric and i == len(columns) - 1 else "left")
    for row in rows:
        table.add_row(*map(str, row))
    console = Console(highlight=False)
    if width and console.width < width:
        console = Console(highlight=False, width=width)
    console.print(table)


def print_summary(title: str, summary: dict) -> None:
    """The run's figures as a two-column table."""
    s = summary
    rows = [
        ("backend", f"{s['backend']} ({s['arithmetic']}, {s['integration']}, dt {s['dt_s']:g} s)"),
        ("simulated (s)", f"{s['duration_s']:g}"),
        ("neurons", f"{s['neurons']:,}"),
        ("synapses", f"{s['synapses']:,}"),
        ("spikes", f"{s['spikes']:,}"),
        ("mean rate (Hz)", f"{s['mean_rate_hz']:.3f}"),
        ("synaptic events / s", f"{s['syn_events_per_s']:.3e}"),
        ("wall time (s)", f"{s['wall_s']:.4f}"),
        ("loop time (s)", f"{s['loop_s']:.4f}"),
        ("JIT time (s)", f"{s['jit_s']:.4f}"),
        ("build time (s)", f"{s['build_s']:.4f}"),
    ]
    _table(title, ("figure", "value"), rows, numeric=True)


def print_json(obj: dict) -> None:
    """One JSON object on the last line of stdout."""
    sys.stdout.flush()
    print(json.dumps(obj, allow_nan=False), flush=True)


# ------------------------------------------------------------------ commands
def run_options(args, dt=None, integration=None) -> dict:
    """The engine options a run command asks for (old spellings mapped, with a note on stderr)."""
    arithmetic = getattr(args, "arithmetic", None)
    if getattr(args, "dtype", None):
        print(f"snnsim: --dtype is deprecated; use --arithmetic {args.dtype}", file=sys.stderr)
        if arithmetic not in (None, args.dtype):
            raise NetworkError("run", "arithmetic", f"--dtype {args.dtype} contradicts --arithmetic {arithmetic}")
        arithmetic = args.dtype
    if getattr(args, "fixed_point", False):
        print("snnsim: --fixed-point is deprecated; use --arithmetic loihi_fixed", file=sys.stderr)
        if arithmetic not in (None, "loihi_fixed"):
            raise NetworkError("run", "arithmetic", f"--fixed-point is Loihi's fixed point (loihi_fixed), "
                               f"got --arithmetic {arithmetic}")
        arithmetic = "loihi_fixed"
    if integration in ("loihi", "loihi_float"):
        mapped = "loihi_fixed" if integration == "loihi" else "loihi_float"
        print(f"snnsim: --integration {integration} is deprecated; use --arithmetic {mapped}", file=sys.stderr)
        if arithmetic not in (None, mapped):
            raise NetworkError("run", "arithmetic", f"--integration {integration} contradicts --arithmetic {arithmetic}")
        arithmetic, integration = mapped, None
    options = {"dt": dt, "integration": integration, "arithmetic": arithmetic, "progress": args.progress}
    if getattr(args, "threads", None) is not None:  # an option of the cpu engine only: others refuse it by name
        options["threads"] = args.threads
    return options


def simulate_and_report(net, args, title: str, dt=None, integration=None, backend: str = "cpu", sim=None) -> dict:
    """Run ``net`` (or continue ``sim``), write the optional raster and results file, print table (and JSON).

    With ``--checkpoint CK --checkpoint-every S`` the run is cut into segments of ``S`` simulated
    seconds and the Simulator is saved to ``CK`` after each (atomically: a process killed at any
    moment leaves the last complete checkpoint readable); ``--resume CK`` continues one."""
    from snnsim.io.atomic import check_writable
    from snnsim.simulate import simulator

    options = run_options(args, dt, integration)
    check_times(args.duration, dt if dt is not None else net.dt)
    for target in (args.raster, getattr(args, "out", None), getattr(args, "checkpoint", None)):
        if target:  # fail before the run, not after it
            check_writable(target)
    if args.raster and sim is None:
        _ensure_spike_probes(net)
    if sim is None:
        sim = simulator(net, backend, **options)
    try:
        _run_in_segments(sim, args)
        results = sim.results() if sim.started else sim.run(0.0)
    finally:
        sim.close()
    summary = {**results.summary(), "network": net.name, "synapses": int(net.n_synapses),
               "raster_png": None, "results_h5": None, "checkpoint_h5": getattr(args, "checkpoint", None)}
    summary["wall_s"] = results.counters.get("wall_s", 0.0)
    if args.raster:
        from snnsim.plot import raster_and_rate
        summary["raster_png"] = os.fspath(raster_and_rate(results, args.raster, title=f"{title}, {results.duration:g} s"))
    if getattr(args, "out", None):
        from snnsim.io import save_results
        save_results(results, args.out)
        summary["results_h5"] = args.out
    print_summary(title, summary)
    for key in ("raster_png", "results_h5", "checkpoint_h5"):
        if summary[key]:
            print(f"wrote {summary[key]}")
    if args.json:
        print_json(summary)
    return summary


def _run_in_segments(sim, args) -> None:
    """Advance ``sim`` to ``args.duration`` (s from t = 0), saving a checkpoint every
    ``args.checkpoint_every`` simulated seconds when asked."""
    every = getattr(args, "checkpoint_every", None)
    target = getattr(args, "checkpoint", None)
    end_step = round(args.duration / sim.dt)
    meta = {"duration_s": args.duration}
    if every is None or not target:
        remaining = args.duration - sim.t
        if remaining > 1e-12 or not sim.started:
            sim.run(max(0.0, round(remaining / sim.dt) * sim.dt), progress=args.progress)
        if target:
            sim.save(target, meta=meta)
        return
    per = max(1, round(every / sim.dt))
    step = round(sim.t / sim.dt)
    if step >= end_step and not sim.started:
        sim.run(0.0, progress=args.progress)
    while step < end_step:
        n = min(per - step % per, end_step - step)   # checkpoints fall on multiples of --checkpoint-every
        sim.run(n * sim.dt, progress=args.progress)
        step += n
        sim.save(target, meta=meta)


def _ensure_spike_probes(net) -> None:
    """For a raster, record every population's spikes when the network records none."""
    from snnsim.network import SpikeProbe

    recorded = {p.target for p in net.probes.values() if isinstance(p, SpikeProbe)}
    if not recorded & set(net.populations):
        for name in net.populations:
            net.probe_spikes(name, name=f"{name}.spikes.cli")


def check_distinct(command, reads, writes, may_rewrite=()):
    """See snnsim.paths.check_distinct (outputs never replace inputs)."""
    from snnsim.paths import check_distinct as check
    check(command, reads, writes, may_rewrite)


def cmd_demo(args) -> int:
    """Build and run the COBA benchmark network."""
    from snnsim.examples.coba import build_coba

    net = build_coba(dt=args.dt, seed=args.seed)
    simulate_and_report(net, args, f"COBA, {net.n_neurons} neurons")
    return 0


def cmd_run(args) -> int:
    """Run a network from a Python script or an HDF5 file, or continue a checkpoint (``--resume``)."""
    if args.checkpoint_every is not None:
        if not (math.isfinite(args.checkpoint_every) and args.checkpoint_every > 0):
            raise NetworkError("run", "checkpoint-every", f"must be a number of seconds > 0, got {args.checkpoint_every!r}")
        if not args.checkpoint:
            raise NetworkError("run", "checkpoint-every", "needs --checkpoint CK.h5, the file to write")
    if args.resume:
        return _resume(args)
    if not args.file:
        raise NetworkError("run", "FILE", "give a network (a Python script or an HDF5 file), or --resume CK.h5")
    if args.duration is None:
        args.duration = 1.0
    check_times(args.duration, args.dt)
    check_distinct("run", {"FILE": args.file},
                   {"--out": args.out, "--raster": args.raster, "--checkpoint": args.checkpoint})
    net = load_network(args.file)
    if run_options(argparse.Namespace(**{**vars(args), "progress": None}), args.dt, args.integration)["arithmetic"] \
            == "loihi_fixed":
        print_quantization(net, args.dt)
    simulate_and_report(net, args, f"{net.name} ({args.file})", dt=args.dt,
                        integration=args.integration, backend=args.backend or "cpu")
    return 0


def _resume(args) -> int:
    """``snnsim run --resume CK.h5 [--duration D]``: continue the checkpointed run to ``D`` seconds
    from t = 0 (default: the duration the checkpointed command asked for)."""
    from snnsim.simulate import load_simulator

    for flag in ("dt", "integration", "arithmetic", "dtype"):
        if getattr(args, flag, None) not in (None, False):
            raise NetworkError("run", flag, f"--{flag} cannot change a resumed run (it continues with the "
                               f"checkpoint's own settings)")
    if args.fixed_point:
        raise NetworkError("run", "fixed-point", "cannot change a resumed run's arithmetic")
    check_distinct("run", {"--resume": args.resume, "FILE": args.file},
                   {"--out": args.out, "--raster": args.raster, "--checkpoint": args.checkpoint or args.resume},
                   may_rewrite=(("--resume", "--checkpoint"),))
    sim = load_simulator(args.resume)
    if args.backend not in (None, sim.NAME):
        raise NetworkError("run", "backend", f"the checkpoint {args.resume} is a {sim.NAME} run, not {args.backend}")
    if args.duration is None:
        args.duration = float(sim.meta.get("duration_s", sim.t))
    if args.checkpoint is None:
        args.checkpoint = args.resume
    if args.duration < sim.t - 1e-12:
        raise NetworkError("run", "duration", f"{args.duration!r} s is before the checkpoint's time {sim.t!r} s")
    check_times(args.duration, sim.dt)
    net = sim.network
    label = args.file or args.resume
    simulate_and_report(net, args, f"{net.name} ({label}, resumed at {sim.t:g} s)", backend=sim.NAME, sim=sim)
    return 0


def print_quantization(net, dt=None) -> list[dict]:
    """Quantise ``net`` for Loihi and print the per-population error table; returns its rows."""
    from snnsim.loihi import quantize

    rows = quantize(net, dt).report.rows()
    _table("Loihi fixed point: quantisation per population",
           ("population", "V/unit", "vth", "dv", "du", "vth err", "w err", "bias err", "w->0", "u room"),
           [(r["population"], f"{r['scale_v']:.4g}", r["vth"], r["dv"], r["du"], f"{r['threshold_rel_err']:.2e}",
             f"{r['weight_rms_rel_err']:.2e}", f"{r['bias_rel_err']:.2e}", r["weights_zeroed"],
             "ok" if r["headroom"] else "may wrap") for r in rows])
    return rows


def cmd_info(args) -> int:
    """Print what a network file holds."""
    net = load_network(args.file)
    rows = [*net.summary(),
            ("setting", "dt", f"{net.dt:g} s"), ("setting", "integration", net.integration),
            ("setting", "seed", net.seed),
            ("total", "neurons", f"{net.n_neurons:,}"), ("total", "synapses", f"{net.n_synapses:,}")]
    _table(f"{net.name} ({args.file})", ("kind", "name", "description"), rows)
    from snnsim import memory
    est = memory.estimate(net, args.duration, args.backend, args.arithmetic, network=True)
    free = memory.available()
    mem_rows = [(item, memory.fmt_bytes(b)) for item, b in est.parts.items()]
    mem_rows += [("total", memory.fmt_bytes(est.total)),
                 ("available", memory.fmt_bytes(free) if free is not None else "unknown")]
    _table(f"memory estimate: {args.backend} engine, {args.arithmetic}"
           + (f", {args.duration:g} s run" if args.duration else ", before a run"), ("item", "bytes"), mem_rows)
    if args.json:
        print_json({"network": net.name, "dt_s": net.dt, "integration": net.integration, "seed": net.seed,
                    "neurons": net.n_neurons, "synapses": int(net.n_synapses),
                    "populations": {n: p.size for n, p in net.populations.items()},
                    "sources": {n: s.size for n, s in net.sources.items()},
                    "projections": {n: p.n_synapses for n, p in net.projections.items()},
                    "memory": {"engine": args.backend, "arithmetic": args.arithmetic, "duration_s": args.duration,
                               "parts_bytes": est.parts, "total_bytes": est.total, "available_bytes": free,
                               "fits": free is None or est.total <= free}})
    return 0


def cmd_train(args) -> int:
    """Train a built-in task with surrogate gradients and report the figures."""
    from snnsim.training.run import TaskSpec, train_task

    check_distinct("train", {}, {"--checkpoint": args.checkpoint, "--out": args.out, "--plot": args.plot})
    for name in ("checkpoint", "out", "plot"):
        path = getattr(args, name)
        if path:
            from snnsim.io.atomic import check_writable
            check_writable(path)
    spec = TaskSpec(task=args.task, hidden=tuple(args.hidden) if args.hidden else None, recurrent=args.recurrent,
                    neuron=args.neuron, steps=args.steps, encoder=args.encoder, max_rate=args.max_rate,
                    decoder=args.decoder, dt=args.dt, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                    patience=args.patience, seed=args.seed, dtype=args.dtype, data_dir=args.data_dir,
                    limit=args.limit, learn_tau=args.learn_tau, learn_threshold=args.learn_threshold)
    figures, _ = train_task(spec, checkpoint=args.checkpoint, resume=args.resume, out=args.out,
                            check_engine=args.check_engine, progress=args.progress, threads=args.threads)
    rows = [("test accuracy", f"{figures['test_accuracy']:.4f}"),
            ("best validation accuracy", f"{figures['best_val_accuracy']:.4f}"),
            ("epochs", f"{figures['epochs']}" + (" (stopped early)" if figures["stopped_early"] else "")),
            ("training samples", f"{figures['train_samples']:,}"), ("test samples", f"{figures['test_samples']:,}"),
            ("network", f"{figures['hidden']} hidden, {'recurrent' if figures['recurrent'] else 'feed-forward'}, "
                        f"T={figures['steps']} x {figures['dt_s'] * 1e3:g} ms"),
            ("trainable parameters", f"{figures['parameters']:,}"),
            ("training time", f"{figures['train_s']:.1f} s"), ("wall time", f"{figures['wall_s']:.1f} s")]
    if figures["engine_samples"]:
        rows.append(("CPU engine agreement", f"{figures['engine_agreement']:.4f} on {figures['engine_samples']} "
                                             f"test samples (accuracy {figures['engine_test_accuracy']:.4f})"))
    _table(f"snnsim train {args.task}", ("figure", "value"), rows)
    if args.plot:
        from snnsim.plot import training_curves
        figures["plot_png"] = str(training_curves(figures["history"], args.plot, title=f"snnsim train {args.task}"))
        print(f"wrote {figures['plot_png']}")
    if figures["network_h5"]:
        print(f"wrote {figures['network_h5']}")
    if args.json:
        print_json(figures)
    return 0


def cmd_export(args) -> int:
    """Write a network in another format."""
    check_distinct("export", {"FILE": args.file}, {"OUT": args.output})
    if args.format == "nir":
        if args.dt is not None:
            from snnsim.network import check_dt
            check_dt(args.dt, "export")
        net = load_network(args.file)
        from snnsim.io.nir import write_nir
        write_nir(net, args.output, dt=args.dt, integration=args.integration, strict=args.strict)
    elif args.format == "netx":
        if args.dt is not None:
            from snnsim.network import check_dt
            check_dt(args.dt, "export")
        net = load_network(args.file)
        from snnsim.io.netx import write_netx
        print_quantization(net, args.dt)
        write_netx(net, args.output, dt=args.dt)
    else:  # pragma: no cover - argparse restricts the choices
        raise NetworkError("export", "format", f"unknown format {args.format!r}")
    print(f"wrote {args.output}")
    if args.json:
        print_json({"format": args.format, "output": args.output, "network": net.name,
                    "neurons": net.n_neurons, "synapses": int(net.n_synapses)})
    return 0


# ------------------------------------------------------------------ parser
def _run_options(p: argparse.ArgumentParser, dt_default, duration_default=1.0) -> None:
    p.add_argument("--duration", type=float, default=duration_default, help="simulated time in s (default 1.0)")
    p.add_argument("--dt", type=float, default=dt_default,
                   help="time step in s" + (f" (default {dt_default:g})" if dt_default else " (default: the network's)"))
    p.add_argument("--arithmetic", choices=("float32", "float64", "loihi_fixed", "loihi_float"), default=None,
                   help="the engine's arithmetic (default: the engine's first: float32 on cpu and torch, "
                        "float64 on event, loihi_float on lava)")
    p.add_argument("--dtype", choices=("float32", "float64"), default=None, help="deprecated: --arithmetic")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="show a progress bar (default: only for long runs on a terminal)")
    p.add_argument("--threads", type=positive_int, default=None,
                   help="cpu engine: threads for neuron updates and propagation, same results as one "
                        "(default: all cores)")
    p.add_argument("--json", action="store_true", help="print the figures as one JSON object on the last line")


def build_parser() -> argparse.ArgumentParser:
    from snnsim import __version__
    from snnsim.backends.base import REGISTRY

    parser = argparse.ArgumentParser(prog="snnsim", description="Spiking neural network simulator.")
    parser.add_argument("--version", action="version", version=f"snnsim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", help="run the COBA benchmark network (4000 LIF neurons)")
    _run_options(demo, 1e-4)
    demo.add_argument("--seed", type=seed_int, default=1, help="network seed (default 1)")
    demo.add_argument("--raster", default="coba_raster.png", metavar="PNG",
                      help="raster + rate figure (default coba_raster.png; '' for none)")
    demo.set_defaults(func=cmd_demo)

    run = sub.add_parser("run", help="run a network from a Python script or an HDF5 file, or resume a checkpoint")
    run.add_argument("file", metavar="FILE", nargs="?",
                     help="script defining `network` or `build_network()`, or .h5 network (not with --resume)")
    _run_options(run, None, duration_default=None)
    run.add_argument("--fixed-point", action="store_true", help="deprecated: --arithmetic loihi_fixed")
    run.add_argument("--integration", choices=("exact", "euler", "loihi", "loihi_float"), default=None,
                     help="physics scheme (default: the network's); loihi/loihi_float: deprecated, see --arithmetic")
    run.add_argument("--backend", default=None, help=f"one of {', '.join(REGISTRY)} (default cpu)")
    run.add_argument("--out", metavar="H5", help="write the results to this HDF5 file")
    run.add_argument("--raster", metavar="PNG", help="write a raster + rate figure")
    run.add_argument("--checkpoint", metavar="CK.h5", help="save the Simulator here (at the end, or every "
                     "--checkpoint-every simulated seconds)")
    run.add_argument("--checkpoint-every", type=float, metavar="S", help="simulated seconds between checkpoints")
    run.add_argument("--resume", metavar="CK.h5", help="continue a checkpointed run (to --duration s from t = 0; "
                     "default: the checkpointed command's duration)")
    run.set_defaults(func=cmd_run)

    info = sub.add_parser("info", help="describe a network file")
    info.add_argument("file", metavar="FILE", help="Python script or .h5 network")
    info.add_argument("--duration", type=positive_float, default=None, metavar="S",
                      help="also estimate the recorders and traces of a run this long (s)")
    info.add_argument("--backend", default="cpu", help="engine of the memory estimate (default cpu)")
    info.add_argument("--arithmetic", default="float64", help="arithmetic of the memory estimate (default float64)")
    info.add_argument("--json", action="store_true", help="also print the figures as one JSON object (last line)")
    info.set_defaults(func=cmd_info)

    train = sub.add_parser("train", help="train a built-in SNN task with surrogate gradients")
    tasks = train.add_subparsers(dest="task", required=True, metavar="TASK")
    snn = argparse.ArgumentParser(add_help=False)
    snn.add_argument("--hidden", type=positive_int, nargs="+", metavar="N", help="hidden layer sizes (default per task)")
    snn.add_argument("--recurrent", action="store_true", help="recurrent hidden layers")
    snn.add_argument("--neuron", choices=("cubalif", "lif"), default="cubalif", help="hidden neuron model")
    snn.add_argument("--steps", type=positive_int, help="time steps per sample (default per task)")
    snn.add_argument("--dt", type=positive_float, default=1e-3, help="time step in s (default 0.001)")
    snn.add_argument("--encoder", choices=("poisson", "latency", "current"), default="poisson")
    snn.add_argument("--max-rate", type=positive_float, help="Poisson rate of a feature equal to 1, Hz")
    snn.add_argument("--decoder", choices=("max", "mean", "count"), default="max",
                     help="readout: max or mean membrane of the LI output (default max)")
    snn.add_argument("--epochs", type=positive_int)
    snn.add_argument("--batch-size", type=positive_int)
    snn.add_argument("--lr", type=positive_float)
    snn.add_argument("--patience", type=positive_int, help="early stopping after N epochs without improvement")
    snn.add_argument("--seed", type=seed_int, default=0)
    snn.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    snn.add_argument("--learn-tau", action="store_true", help="also learn the time constants")
    snn.add_argument("--learn-threshold", action="store_true", help="also learn the thresholds")
    snn.add_argument("--limit", type=positive_int, help="use only the first N training samples")
    snn.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist", help="Fashion-MNIST IDX folder")
    snn.add_argument("--checkpoint", metavar="H5", help="checkpoint written after every epoch")
    snn.add_argument("--resume", action="store_true", help="continue from --checkpoint")
    snn.add_argument("--out", metavar="H5", help="write the trained network (HDF5)")
    snn.add_argument("--check-engine", type=nonnegative_int, default=0, metavar="N",
                     help="run N test samples on the CPU engine and report agreement with torch")
    snn.add_argument("--plot", metavar="PNG", help="write the training curves")
    snn.add_argument("--threads", type=positive_int, help="torch threads (default 1; any number gives the same figures)")
    snn.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None)
    snn.add_argument("--json", action="store_true", help="print the figures as one JSON object on the last line")
    tasks.add_parser("digits", parents=[snn], help="scikit-learn's 8x8 digits").set_defaults(func=cmd_train)
    tasks.add_parser("fashion-mnist", parents=[snn], help="Fashion-MNIST (Debian package dataset-fashion-mnist)"
                     ).set_defaults(func=cmd_train)
    from snnsim.cli_memn2n import add_parser as add_memn2n  # reference model: End-to-end memory networks
    add_memn2n(tasks)
    from snnsim.capsnet.cli import add_capsnet_parser
    add_capsnet_parser(tasks)

    export = sub.add_parser("export", help="write a network in another format")
    export.add_argument("file", metavar="FILE", help="Python script or .h5 network")
    export.add_argument("output", metavar="OUT", help="file to write")
    export.add_argument("--format", choices=("nir", "netx"), required=True,
                        help="nir (NIR graph) or netx (lava-dl's HDF5, Loihi fixed point)")
    export.add_argument("--dt", type=float, help="time step in s recorded in the file (default: the network's)")
    export.add_argument("--integration", choices=("exact", "euler"), help="default: the network's")
    export.add_argument("--strict", action="store_true",
                        help="refuse what NIR cannot express instead of keeping it in snnsim metadata")
    export.add_argument("--json", action="store_true")
    export.set_defaults(func=cmd_export)

    from snnsim.bench import add_parser as add_bench_parser
    add_bench_parser(sub)
    from snnsim.cli_microcircuit import add_parser as add_microcircuit  # Potjans & Diesmann (2014)
    add_microcircuit(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``snnsim`` console script; returns the exit status."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:  # --help, --version or an argparse usage error (already printed)
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    try:
        return args.func(args)
    except (SnnsimError, OSError) as err:
        print(f"error: {_message(err)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _message(err: Exception) -> str:
    if isinstance(err, OSError) and not isinstance(err, SnnsimError) and err.filename is not None:
        return f"{err.filename}: {err.strerror}"
    return str(err)


if __name__ == "__main__":
    sys.exit(main())
