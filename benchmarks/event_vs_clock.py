"""Event-driven vs clock engine (and NEST's precise ``iaf_psc_delta_ps``): wall time per simulated second.

The network: ``--neurons`` (100 k) LIF neurons (tau 20 ms, threshold 1, reset 0,
t_ref 2 ms), 100 recurrent synapses each (FixedInDegree), weights uniform in
[-0.02, 0.02] V, delays uniform in [1, 2] ms (continuous). Activity is set by the
bias drive: a fraction ``rate / 20 Hz`` of the neurons has a suprathreshold drive
(about 1.1 V, jittered by 2 %) that makes it fire near 20 Hz; the others sit at
0.9 V, below threshold, and only the weak recurrent input moves them. So the
mean rate spans 0.1 Hz (0.5 % of the neurons active) to 20 Hz (all active); the
measured mean rate is printed.

Timing: one simulator per engine and rate; a first run of ``--warmup`` s
compiles the kernels (Numba's JIT is excluded: ``Results.counters["loop_s"]``
times the event loop or time loop only, and compilation happens in a separate
call before it) and lets the start-up transient pass; then ``--repeats`` runs
(at least 5 up to 1 Hz, where runs are short) continue the same simulation, the
event and clock engines' runs alternating, and the smallest ``loop_s / duration``
of each is kept (the machine is shared and noisy). Clock engine: dt = 0.1 ms, float32 (its
default), delays rounded to steps. NEST 3 (``iaf_psc_delta_ps``, resolution
0.1 ms, 1 thread) gets the same neurons, drive and synapses, but its delays must
lie on its grid, so they are rounded to 0.1 ms (fewer distinct arrival times
than the event engine's continuous delays); time of ``nest.Simulate`` after a
warm-up ``Simulate``, best of the repeats.

Accuracy: on a 1000-neuron weakly coupled network (not chaotic, see
``tests/test_event.py``) the clock engine's spike times against the event
engine's at dt = 1, 0.1, 0.01 ms (float64, matched neuron by neuron), and, where
NEST is installed, the largest spike-time difference between the event engine
and NEST on a 100-neuron recurrent network.

Prints a table, then one JSON object as the last line. Usage::

    python benchmarks/event_vs_clock.py [--neurons 100000] [--rates 0.1 0.3 1 3 10 20] [--repeats 3] [--no-nest]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))  # nest_oracle: the NEST mapping shared with the tests

import snnsim  # noqa: E402
from snnsim import LIF, FixedInDegree, Network, Uniform  # noqa: E402
from snnsim.backends import cpu, event  # noqa: E402

ACTIVE_RATE = 20.0   # Hz, the rate of an active neuron
T_REF = 2e-3
TAU = 20e-3


def active_drive(rate: float) -> float:
    """Drive (V, threshold 1, reset 0) that makes an isolated LIF fire at ``rate``."""
    return 1.0 / (1.0 - math.exp(-(1.0 / rate - T_REF) / TAU))


def drive_of(n: int, rate: float, seed: int = 1) -> np.ndarray:
    """Per-neuron drive (V): a fraction rate / 20 Hz fires near 20 Hz, the rest sits at 0.9 V."""
    rng = np.random.default_rng(seed)
    active = rng.random(n) < rate / ACTIVE_RATE
    return np.where(active, active_drive(ACTIVE_RATE) * rng.uniform(0.98, 1.02, n), 0.9)


def build(n: int, rate: float, seed: int = 1, grid_delays: float | None = None) -> Network:
    net = Network(dt=1e-4, seed=seed, name=f"sparse {n} @ {rate:g} Hz")
    pop = net.add_population("p", n, LIF(tau_mem=TAU, v_th=1.0, v_reset=0.0, t_ref=T_REF, i_bias=drive_of(n, rate)),
                             initial={"v": Uniform(0.0, 0.9)})
    proj = net.connect(pop, pop, FixedInDegree(100), weight=Uniform(-0.02, 0.02), delay=Uniform(1e-3, 2e-3))
    if grid_delays:
        proj.delays = np.rint(proj.delays / grid_delays) * grid_delays
    net.probe_spikes(pop)
    return net


def time_engines(sims: dict, warmup: float, duration: float, repeats: int) -> dict:
    """Per engine: best loop seconds per simulated second and the mean rate (Hz) of the timed runs.

    The engines' runs alternate (a, b, a, b, ...), so a slow spell of the shared machine
    falls on both rather than on one engine's whole series.
    """
    for sim in sims.values():
        sim.run(warmup)
    best = dict.fromkeys(sims, math.inf)
    spikes = dict.fromkeys(sims, 0)
    for _ in range(repeats):
        for name, sim in sims.items():
            res = sim.run(duration)
            best[name] = min(best[name], res.counters["loop_s"] / duration)
            spikes[name] += res.counters["neuron_spikes"]
    n = next(iter(sims.values())).plan.layout.n_neurons
    return {name: (best[name], spikes[name] / (n * duration * repeats)) for name in sims}


class NestRunner:
    """The network on NEST, built once (10 M synapses take a while); each rate only sets I_e and V_m."""

    def __init__(self, n: int, first_rate: float):
        from nest_oracle import C_M, run_on_nest
        self.c_m = C_M
        self.n = n
        net = build(n, first_rate, grid_delays=1e-4)
        t0 = time.perf_counter()
        self.nest, self.simulate, ids = run_on_nest(net, 0.0, resolution=1e-4, threads=1, setup_only=True)
        self.build_s = time.perf_counter() - t0
        self.nodes = self.nest.NodeCollection(ids["p"].tolist())
        self.recorder = self.nest.GetNodes({"model": "spike_recorder"})
        self.v0 = net.populations["p"].initial_state(net.seed)["v"] * 1e3

    def time(self, rate: float, warmup: float, duration: float, repeats: int):
        tau_ms = TAU * 1e3
        self.nodes.set({"I_e": drive_of(self.n, rate) * 1e3 * self.c_m / tau_ms, "V_m": self.v0})
        self.simulate(warmup)
        before = self.recorder.n_events
        best = math.inf
        for _ in range(repeats):
            t0 = time.perf_counter()
            self.simulate(duration)
            best = min(best, (time.perf_counter() - t0) / duration)
        spikes = self.recorder.n_events - before
        return best, spikes / (self.n * duration * repeats)


def crossover(rates, ratios):
    """Rate (Hz) where clock/event time falls through 1, interpolated in log-log; None if it never does."""
    for k in range(len(rates) - 1):
        a, b = ratios[k], ratios[k + 1]
        if a >= 1.0 > b:
            x0, x1, y0, y1 = math.log(rates[k]), math.log(rates[k + 1]), math.log(a), math.log(b)
            return math.exp(x0 + (x1 - x0) * (0.0 - y0) / (y1 - y0))
    return None


def convergence(n=1000, duration=0.2, seed=5):
    """Mean |t_clock - t_event| (s) at dt 1, 0.1, 0.01 ms and the fraction of neurons with other counts."""
    net = Network(dt=1e-4, seed=seed)
    bias = np.random.default_rng(seed).uniform(1.05, 1.6, n)
    pop = net.add_population("p", n, LIF(tau_mem=20e-3, i_bias=bias, t_ref=2e-3))
    net.connect(pop, pop, FixedInDegree(20), weight=Uniform(0.0, 0.004), delay=Uniform(1e-3, 2e-3))
    net.probe_spikes(pop)
    exact = snnsim.simulate(net, duration, backend="event").spikes["p"].trains()
    out = {}
    for dt in (1e-3, 1e-4, 1e-5):
        trains = snnsim.simulate(net, duration, dt=dt, arithmetic="float64").spikes["p"].trains()
        errs, mismatched = [], 0
        for a, b in zip(exact, trains):
            if len(a) != len(b):
                mismatched += 1
            else:
                errs.append(np.abs(a - b))
        out[dt] = (float(np.concatenate(errs).mean()), mismatched / n)
    return out


def nest_agreement():
    """Largest |t_event - t_NEST| (s) over all spikes of a 100-neuron recurrent network (0.5 s)."""
    from nest_oracle import run_on_nest
    rng = np.random.default_rng(3)
    net = Network(dt=1e-4, seed=3)
    pop = net.add_population("p", 100, LIF(tau_mem=20e-3, v_reset=0.1, t_ref=2.1e-3,
                                           i_bias=rng.uniform(0.8, 1.3, 100)))
    net.connect(pop, pop, FixedInDegree(10), weight=Uniform(-0.15, 0.1), delay=rng.integers(5, 16, 1000) * 2e-4)
    net.probe_spikes(pop)
    ours = snnsim.simulate(net, 0.5, backend="event").spikes["p"]
    times, idx = run_on_nest(net, 0.5)["p"]
    if len(times) != len(ours):
        return math.inf, len(ours)
    worst = max((np.abs(ours.times[ours.indices == i] - times[idx == i]).max(initial=0.0) for i in range(100)))
    return float(worst), len(ours)


def versions() -> dict:
    import numba
    out = {"snnsim": snnsim.__version__, "numba": numba.__version__, "numpy": np.__version__,
           "python": platform.python_version()}
    try:
        import nest
        out["nest"] = nest.__version__
    except Exception:  # noqa: BLE001
        out["nest"] = None
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--neurons", type=int, default=100_000)
    ap.add_argument("--rates", type=float, nargs="+", default=[0.1, 0.3, 1, 3, 10, 20])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--warmup", type=float, default=0.1, help="simulated s before timing (JIT, transient)")
    ap.add_argument("--no-nest", action="store_true", help="leave NEST out even where installed")
    args = ap.parse_args()

    from nest_oracle import nest_available
    use_nest = not args.no_nest and nest_available()
    nest_runner = NestRunner(args.neurons, args.rates[0]) if use_nest else None
    rows = []
    for rate in args.rates:
        duration = 1.0 if rate <= 1 else (0.5 if rate <= 3 else 0.2)
        net = build(args.neurons, rate)
        repeats = max(args.repeats, 5) if rate <= 1 else args.repeats
        timed = time_engines({"event": event.Simulator(net), "clock": cpu.Simulator(net, arithmetic="float32")},
                             args.warmup, duration, repeats)
        (ev_s, ev_rate), (cl_s, cl_rate) = timed["event"], timed["clock"]
        row = {"target_rate_hz": rate, "event_rate_hz": ev_rate, "clock_rate_hz": cl_rate,
               "event_s_per_sim_s": ev_s, "clock_s_per_sim_s": cl_s, "clock_over_event": cl_s / ev_s,
               "nest_s_per_sim_s": None, "nest_rate_hz": None, "nest_over_event": None}
        del net
        if nest_runner is not None:
            nest_dur = duration if rate <= 3 else 0.1
            row["nest_s_per_sim_s"], row["nest_rate_hz"] = nest_runner.time(rate, args.warmup, nest_dur,
                                                                            max(1, args.repeats - 1))
            row["nest_over_event"] = row["nest_s_per_sim_s"] / ev_s
        rows.append(row)
        print(f"rate {rate:g} Hz: event {ev_s:.4g} s/s, clock {cl_s:.4g} s/s, nest {row['nest_s_per_sim_s']}",
              file=sys.stderr, flush=True)

    conv = convergence()
    agree = nest_agreement() if use_nest else (None, None)

    print(f"\nEvent vs clock engine, {args.neurons:,} LIF neurons x 100 synapses, best of {args.repeats} "
          f"(at least 5 up to 1 Hz; wall s per simulated s, JIT excluded)")
    head = f"{'target Hz':>9} {'rate Hz':>8} {'event':>9} {'clock 0.1ms':>11} {'clock/event':>11} {'NEST ps':>9} " \
           f"{'NEST/event':>10}"
    print(head)
    for r in rows:
        nest_s = f"{r['nest_s_per_sim_s']:9.4g}" if r["nest_s_per_sim_s"] is not None else f"{'-':>9}"
        nest_x = f"{r['nest_over_event']:10.3g}" if r["nest_over_event"] is not None else f"{'-':>10}"
        print(f"{r['target_rate_hz']:9g} {r['event_rate_hz']:8.3g} {r['event_s_per_sim_s']:9.4g} "
              f"{r['clock_s_per_sim_s']:11.4g} {r['clock_over_event']:11.3g} {nest_s} {nest_x}")
    rates = [r["event_rate_hz"] for r in rows]
    ratios = [r["clock_over_event"] for r in rows]
    cross = crossover(rates, ratios)
    print(f"crossover (clock engine becomes faster): {cross:.3g} Hz" if cross else
          "crossover: none in the measured range")
    print("clock spike-time error vs event engine (1000 neurons, 0.2 s): " +
          ", ".join(f"dt {dt * 1e3:g} ms: {e:.3g} s ({m:.1%} neurons with other counts)"
                    for dt, (e, m) in conv.items()))
    errs = [conv[dt][0] for dt in (1e-3, 1e-4, 1e-5)]
    orders = [math.log10(errs[k] / errs[k + 1]) for k in range(2)]
    print(f"observed order: {orders[0]:.3f}, {orders[1]:.3f}")
    if use_nest:
        print(f"event engine vs NEST iaf_psc_delta_ps, 100 neurons, 0.5 s, {agree[1]} spikes: "
              f"max |dt| = {agree[0]:.3g} s")
    at_low = rows[0]
    nest_ratios = [r["nest_over_event"] for r in rows if r["nest_over_event"] is not None]
    summary = {
        "network": f"{args.neurons} LIF, FixedInDegree(100), delays U(1, 2) ms, bias-driven",
        "rows": rows,
        "speedup_at_0p1hz": at_low["clock_over_event"] if at_low["target_rate_hz"] == 0.1 else None,
        "crossover_rate_hz": cross,
        "speedup_vs_nest_ps": min(nest_ratios) if nest_ratios else None,
        "clock_error_s_dt_1ms": errs[0], "clock_error_s_dt_0p1ms": errs[1], "clock_error_s_dt_0p01ms": errs[2],
        "clock_error_order": orders,
        "nest_max_abs_diff_s": agree[0], "nest_compared_spikes": agree[1],
        "nest_build_s": nest_runner.build_s if nest_runner else None,
        "repeats": args.repeats, "versions": versions(),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "date": date.today().isoformat(),
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
