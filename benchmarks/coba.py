"""COBA benchmark: snnsim's CPU engine against Brian2's C++ standalone mode, side by side.

The network is the COBA benchmark (4000 conductance-based LIF neurons, p = 0.02,
dt = 0.1 ms, forward Euler, 1 s simulated; ``snnsim.examples.coba``). Both
simulators run single-threaded in fresh processes on this machine, in one go:

- snnsim: cold (empty Numba cache) and warm (cache filled) time to first result,
  measured from process start to having the spikes; loop time from ``Results``.
- Brian2: installed by this script into ``benchmarks/.venv-brian2`` (the
  project's own environment stays clean); loop time is ``device._last_run_time``,
  total time is process start to result, C++ compilation included.

With ``--against REV`` the snnsim loop is also measured at git revision ``REV`` (an A/B of the
engine itself, e.g. against the previous main): its sources are exported to a temporary folder
and run from there with their own Numba cache, alternating run by run with the working tree,
best of ``--repeats`` each; ``ab_loop_ratio`` is the revision's loop time over ours.

Prints a table, then one JSON object as the last line. Usage::

    python benchmarks/coba.py [--duration 1.0] [--repeats 3] [--brian2-repeats 2] [--against REV]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
BRIAN2_ENV = HERE / ".venv-brian2"
# Brian2 2.9.0 still calls ndarray.ptp, which numpy 2 removed: pin numpy < 2 beside it.
BRIAN2_REQUIREMENTS = ["brian2==2.9.0", "numpy<2"]

SNNSIM_CHILD = """
import json, sys, time
t0 = time.perf_counter()
import snnsim
from snnsim.examples.coba import build_coba
net = build_coba(n_neurons={n}, seed={seed})
res = snnsim.simulate(net, {duration})
s = res.summary()
s["synapses"] = net.n_synapses
s["in_process_s"] = time.perf_counter() - t0
import numba, numpy
s["numba_version"] = numba.__version__
s["numpy_version"] = numpy.__version__
s["snnsim_version"] = snnsim.__version__
print(json.dumps(s))
"""


def run_child(cmd: list[str], env: dict | None = None) -> tuple[dict, float, float]:
    """Run ``cmd``; return (its last-line JSON, wall seconds from start to exit, its peak RSS in MiB)."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        text = out.read()
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd[:2])} failed ({proc.returncode}):\n{err.read()[-3000:]}")
    return json.loads(text.strip().splitlines()[-1]), wall, usage.ru_maxrss / 1024.0


def machine() -> str:
    """CPU model and core count, from /proc/cpuinfo where there is one."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"


def export_revision(rev: str) -> Path:
    """The sources of git revision ``rev`` laid out as an importable ``snnsim`` package (the kernels
    and backends folders placed inside it, as the package-dir mapping of pyproject.toml installs them)."""
    import io
    import tarfile
    out = Path(tempfile.mkdtemp(prefix=f"snnsim_{rev[:10]}_"))
    archive = subprocess.run(["git", "archive", rev, "snnsim", "kernels", "backends"], cwd=HERE.parent,
                             capture_output=True, check=True).stdout
    tarfile.open(fileobj=io.BytesIO(archive)).extractall(out)
    (out / "kernels").rename(out / "snnsim" / "kernels")
    (out / "backends").rename(out / "snnsim" / "backends")
    return out


def ab_runs(child: str, rev: str, repeats: int) -> tuple[dict, dict]:
    """Best warm loop of the working tree and of ``rev``, alternating (after one warm-up each)."""
    old = export_revision(rev)
    ours_env = dict(os.environ, NUMBA_CACHE_DIR=tempfile.mkdtemp(prefix="snnsim_ab_ours_"),
                    NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1")
    theirs_env = dict(ours_env, NUMBA_CACHE_DIR=tempfile.mkdtemp(prefix="snnsim_ab_rev_"),
                      PYTHONPATH=str(old))
    for env in (ours_env, theirs_env):   # fill each side's cache
        run_child([sys.executable, "-c", child], env)
    ours, theirs = [], []
    for _ in range(repeats):
        ours.append(run_child([sys.executable, "-c", child], ours_env)[0])
        theirs.append(run_child([sys.executable, "-c", child], theirs_env)[0])
    assert all(t["spikes"] == ours[0]["spikes"] for t in theirs + ours), "the two sides must give the same spikes"
    return min(ours, key=lambda r: r["loop_s"]), min(theirs, key=lambda r: r["loop_s"])


def ensure_brian2() -> Path:
    python = BRIAN2_ENV / "bin" / "python"
    if not python.exists():
        print(f"installing {' '.join(BRIAN2_REQUIREMENTS)} into {BRIAN2_ENV} ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(BRIAN2_ENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *BRIAN2_REQUIREMENTS], check=True)
    return python


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=1.0)
    ap.add_argument("--neurons", type=int, default=4000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3, help="warm snnsim runs")
    ap.add_argument("--brian2-repeats", type=int, default=2)
    ap.add_argument("--against", metavar="REV", help="also time the snnsim loop at this git revision (A/B)")
    args = ap.parse_args(argv)

    child = SNNSIM_CHILD.format(n=args.neurons, seed=args.seed, duration=args.duration)
    env = dict(os.environ, NUMBA_CACHE_DIR=tempfile.mkdtemp(prefix="snnsim_numba_cache_"),
               NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1")
    cold, cold_wall, cold_rss = run_child([sys.executable, "-c", child], env)
    warm_runs = [run_child([sys.executable, "-c", child], env) for _ in range(args.repeats)]
    warm = min(warm_runs, key=lambda r: r[0]["loop_s"])[0]
    warm_wall = min(r[1] for r in warm_runs)
    rss = max([cold_rss] + [r[2] for r in warm_runs])

    brian2_python = ensure_brian2()
    b_runs = [run_child([str(brian2_python), str(HERE / "_brian2_coba.py"), str(args.duration),
                         str(args.neurons), str(args.seed)], dict(os.environ, OMP_NUM_THREADS="1"))
              for _ in range(args.brian2_repeats)]
    b_loop = min(r[0]["loop_s"] for r in b_runs)
    b_total = min(r[1] for r in b_runs)
    b = b_runs[0][0]

    result = {
        "network": f"COBA {args.neurons} neurons, p=0.02, dt=0.1 ms, euler, {args.duration} s",
        "snnsim_loop_s": warm["loop_s"],
        "snnsim_first_result_cold_s": cold_wall,
        "snnsim_first_result_s": warm_wall,
        "snnsim_jit_cold_s": cold["jit_s"],
        "snnsim_jit_warm_s": warm["jit_s"],
        "snnsim_spikes": warm["spikes"],
        "snnsim_mean_rate_hz": warm["mean_rate_hz"],
        "snnsim_syn_events_per_s": warm["syn_events_per_s"],
        "snnsim_peak_rss_mib": rss,
        "brian2_loop_s": b_loop,
        "brian2_total_s": b_total,
        "brian2_spikes": b["spikes"],
        "brian2_mean_rate_hz": b["mean_rate_hz"],
        "brian2_peak_rss_mib": max(r[2] for r in b_runs),
        "speedup_loop": b_loop / warm["loop_s"],
        "speedup_first_result": b_total / warm_wall,
        "speedup_first_result_cold": b_total / cold_wall,
        "synapses": warm["synapses"],
        "versions": {"snnsim": warm["snnsim_version"], "numba": warm["numba_version"],
                     "numpy": warm["numpy_version"], "brian2": b["brian2_version"],
                     "python": platform.python_version()},
        "machine": machine(),
        "date": date.today().isoformat(),
    }
    if args.against:
        ours_ab, rev_ab = ab_runs(child, args.against, args.repeats)
        result.update({"ab_revision": args.against, "ab_loop_s": ours_ab["loop_s"],
                       "ab_revision_loop_s": rev_ab["loop_s"], "ab_loop_ratio": rev_ab["loop_s"] / ours_ab["loop_s"]})
    rows = [("loop (s)", warm["loop_s"], b_loop, result["speedup_loop"]),
            ("first result, warm (s)", warm_wall, b_total, result["speedup_first_result"]),
            ("first result, cold (s)", cold_wall, b_total, result["speedup_first_result_cold"]),
            ("spikes", warm["spikes"], b["spikes"], None),
            ("mean rate (Hz)", warm["mean_rate_hz"], b["mean_rate_hz"], None),
            ("peak RSS (MiB)", rss, result["brian2_peak_rss_mib"], None)]
    print(f"{'COBA-' + str(args.neurons):<26}{'snnsim':>12}{'Brian2 C++':>14}{'Brian2/snnsim':>15}")
    for name, ours, theirs, ratio in rows:
        fmt = (lambda x: f"{x:.4g}")
        print(f"{name:<26}{fmt(ours):>12}{fmt(theirs):>14}{(fmt(ratio) + 'x') if ratio else '':>15}")
    print(f"snnsim synaptic events/s: {warm['syn_events_per_s']:.3g}; JIT cold {cold['jit_s']:.2f} s, "
          f"warm {warm['jit_s']:.3f} s")
    if args.against:
        print(f"A/B loop (s), alternating, best of {args.repeats}: this tree {result['ab_loop_s']:.4g}, "
              f"{args.against} {result['ab_revision_loop_s']:.4g} ({result['ab_loop_ratio']:.3f}x)")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
