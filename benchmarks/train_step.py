"""Training step (forward + backward) on the CPU: snnsim against Norse and snnTorch, side by side.

Cases, the same network in all three frameworks (Euler, dt = 1 ms, tau_mem = 10 ms,
tau_syn = 5 ms, v_th = 1, surrogate gradients, loss = cross-entropy of the readout's maximum
membrane potential):

- ``ff``: 700 spike inputs (Bernoulli, p = 0.05 per step) -> 256 CubaLIF -> 20 LI, T = 100, batch 32.
  Norse: ``LIFCell`` + ``LICell``; snnTorch: ``Synaptic`` + ``Synaptic`` (no reset, threshold
  out of reach) as readout; snnsim: ``TorchNetwork`` of the same ``Network``.
- ``rec``: the same with a recurrent hidden layer (Norse ``LIFRecurrentCell``, snnTorch
  ``RSynaptic``, snnsim a self-projection).
- ``on``: the Open Neuromorphic benchmark layer, Linear(n, n) + LIF without synaptic current,
  batch 16, T = 500, dense random input. Norse ``LIFBoxCell``, snnTorch ``Leaky``, snnsim ``LIF``.

Each (framework, case) runs in its own process with the same number of torch threads; the time
is the fastest of ``--repeats`` steps after warm-up (JIT compilation excluded); memory is the
peak resident memory during the first full-size step above the level before it (sampled every
millisecond; a warm-up on a tiny batch compiles Numba's kernels first).
Prints a table, then one JSON object as the last line: ``speedup_vs_norse`` and
``speedup_vs_snntorch`` are their time / ours for case ``ff``.

    python benchmarks/train_step.py [--repeats 5] [--on-n 2048] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import threading
import time
from datetime import date

DT, TAU_MEM, TAU_SYN = 1e-3, 10e-3, 5e-3
CASES = {"ff": dict(T=100, B=32, n_in=700, n_hidden=256, n_out=20, recurrent=False),
         "rec": dict(T=100, B=32, n_in=700, n_hidden=256, n_out=20, recurrent=True),
         "on": dict(T=500, B=16)}
FRAMEWORKS = ("snnsim", "norse", "snntorch")


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakRSS:
    """Peak resident memory above the level at entry, sampled every millisecond."""

    def __enter__(self):
        self.base = self.peak = _rss()
        self.running = True
        self.thread = threading.Thread(target=self._poll, daemon=True)
        self.thread.start()
        return self

    def _poll(self):
        while self.running:
            self.peak = max(self.peak, _rss())
            time.sleep(0.001)

    def __exit__(self, *exc):
        self.running = False
        self.thread.join()
        self.peak = max(self.peak, _rss())

    @property
    def extra_mb(self) -> float:
        return (self.peak - self.base) / 2**20


def build_snnsim(case, c, torch):
    import numpy as np

    from snnsim import LI, LIF, CubaLIF, Network
    from snnsim.backends.torch import TorchNetwork
    rng = np.random.default_rng(0)
    net = Network(dt=DT, integration="euler", seed=0)
    if case == "on":
        n = c["n"]
        net.add_spike_source("in", n, [])
        net.add_population("lif", n, LIF(tau_mem=TAU_MEM))
        net.connect("in", "lif", rng.normal(0, 1 / np.sqrt(n), (n, n)))
        model = TorchNetwork(net)

        def step(x, y):
            out = model({"in": x})
            return out.spikes["lif"].sum()
        return model, step
    net.add_spike_source("in", c["n_in"], [])
    net.add_population("hidden", c["n_hidden"], CubaLIF(tau_mem=TAU_MEM, tau_syn=TAU_SYN))
    net.add_population("out", c["n_out"], LI(tau_mem=TAU_MEM, tau_syn=TAU_SYN))
    net.connect("in", "hidden", rng.normal(0, 4 / np.sqrt(c["n_in"]), (c["n_hidden"], c["n_in"])))
    if c["recurrent"]:
        net.connect("hidden", "hidden", rng.normal(0, 1 / np.sqrt(c["n_hidden"]), (c["n_hidden"],) * 2))
    net.connect("hidden", "out", rng.normal(0, 1 / np.sqrt(c["n_hidden"]), (c["n_out"], c["n_hidden"])))
    model = TorchNetwork(net)

    def step(x, y):
        out = model({"in": x})
        return torch.nn.functional.cross_entropy(out.v["out"].max(0)[0], y)
    return model, step


def build_norse(case, c, torch):
    import norse.torch as nt
    from norse.torch.functional.lif import LIFParameters
    p = LIFParameters(tau_syn_inv=torch.tensor(1 / TAU_SYN), tau_mem_inv=torch.tensor(1 / TAU_MEM))
    if case == "on":
        from norse.torch.functional.lif_box import LIFBoxParameters
        lin = torch.nn.Linear(c["n"], c["n"], bias=False)
        cell = nt.LIFBoxCell(LIFBoxParameters(tau_mem_inv=torch.tensor(1 / TAU_MEM)), dt=DT)
        model = torch.nn.ModuleList([lin, cell])

        def step(x, y):
            s, out = None, []
            for t in range(x.shape[0]):
                z, s = cell(lin(x[t]), s)
                out.append(z)
            return torch.stack(out).sum()
        return model, step
    lin1 = torch.nn.Linear(c["n_in"], c["n_hidden"], bias=False)
    lin2 = torch.nn.Linear(c["n_hidden"], c["n_out"], bias=False)
    hidden = (nt.LIFRecurrentCell(c["n_in"], c["n_hidden"], p=p, dt=DT) if c["recurrent"]
              else nt.LIFCell(p=p, dt=DT))
    readout = nt.LICell(dt=DT)
    model = torch.nn.ModuleList([lin1, lin2, hidden, readout])

    def step(x, y):
        s1 = s2 = None
        vs = []
        for t in range(x.shape[0]):
            z, s1 = hidden(x[t], s1) if c["recurrent"] else hidden(lin1(x[t]), s1)
            v, s2 = readout(lin2(z), s2)
            vs.append(v)
        return torch.nn.functional.cross_entropy(torch.stack(vs).max(0)[0], y)
    return model, step


def build_snntorch(case, c, torch):
    import snntorch as snn
    alpha, beta = 1 - DT / TAU_SYN, 1 - DT / TAU_MEM
    if case == "on":
        lin = torch.nn.Linear(c["n"], c["n"], bias=False)
        cell = snn.Leaky(beta=beta)
        model = torch.nn.ModuleList([lin, cell])

        def step(x, y):
            mem = cell.init_leaky()
            out = []
            for t in range(x.shape[0]):
                z, mem = cell(lin(x[t]), mem)
                out.append(z)
            return torch.stack(out).sum()
        return model, step
    lin1 = torch.nn.Linear(c["n_in"], c["n_hidden"], bias=False)
    lin2 = torch.nn.Linear(c["n_hidden"], c["n_out"], bias=False)
    hidden = (snn.RSynaptic(alpha=alpha, beta=beta, linear_features=c["n_hidden"]) if c["recurrent"]
              else snn.Synaptic(alpha=alpha, beta=beta))
    readout = snn.Synaptic(alpha=alpha, beta=beta, threshold=1e9, reset_mechanism="none")
    model = torch.nn.ModuleList([lin1, lin2, hidden, readout])

    def step(x, y):
        if c["recurrent"]:
            z, syn, mem = hidden.init_rsynaptic()
        else:
            syn, mem = hidden.init_synaptic()
        syn2, mem2 = readout.init_synaptic()
        vs = []
        for t in range(x.shape[0]):
            if c["recurrent"]:
                z, syn, mem = hidden(lin1(x[t]), z, syn, mem)
            else:
                z, syn, mem = hidden(lin1(x[t]), syn, mem)
            _, syn2, mem2 = readout(lin2(z), syn2, mem2)
            vs.append(mem2)
        return torch.nn.functional.cross_entropy(torch.stack(vs).max(0)[0], y)
    return model, step


def worker(framework: str, case: str, repeats: int, threads: int, on_n: int) -> dict:
    import torch
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    c = dict(CASES[case])
    if case == "on":
        c["n"] = on_n
        x = torch.rand(c["T"], c["B"], on_n)
        y = None
    else:
        x = (torch.rand(c["T"], c["B"], c["n_in"]) < 0.05).float()
        y = torch.randint(0, c["n_out"], (c["B"],))
    model, step = {"snnsim": build_snnsim, "norse": build_norse, "snntorch": build_snntorch}[framework](case, c,
                                                                                                       torch)
    params = [p for p in model.parameters() if p.requires_grad]

    def once(x, y):
        for p in params:
            p.grad = None
        loss = step(x, y)
        loss.backward()
        return float(loss.detach())
    t0 = time.perf_counter()
    once(x[:3, :2], None if y is None else y[:2])   # warm-up on a tiny batch: Numba compilation
    warm_s = time.perf_counter() - t0
    with PeakRSS() as mem:                           # memory of the first full-size step
        once(x, y)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        once(x, y)
        times.append(time.perf_counter() - t0)
    versions = {"torch": torch.__version__}
    if framework == "norse":
        import norse
        versions["norse"] = getattr(norse, "__version__", "1.1.0")
    if framework == "snntorch":
        import snntorch
        versions["snntorch"] = snntorch.__version__
    return {"framework": framework, "case": case, "step_s": min(times), "median_s": sorted(times)[len(times) // 2],
            "first_step_s": warm_s, "peak_extra_mb": mem.extra_mb, "config": c, "versions": versions}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--on-n", type=int, default=2048, help="n of the Open Neuromorphic layer case")
    ap.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    ap.add_argument("--worker", nargs=2, metavar=("FRAMEWORK", "CASE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(*args.worker, args.repeats if args.worker[1] != "on" else max(2, args.repeats // 2),
                                args.threads, args.on_n)))
        return
    rows = []
    for case in args.cases:
        for fw in FRAMEWORKS:
            cmd = [sys.executable, __file__, "--worker", fw, case, "--repeats", str(args.repeats), "--threads",
                   str(args.threads), "--on-n", str(args.on_n)]
            out = subprocess.run(cmd, capture_output=True, text=True)
            if out.returncode != 0:
                raise SystemExit(f"{fw} {case} failed:\n{out.stderr[-3000:]}")
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(f"  {fw:9s} {case:4s} {rows[-1]['step_s'] * 1e3:9.1f} ms", file=sys.stderr, flush=True)
    by = {(r["framework"], r["case"]): r for r in rows}
    result = {"date": date.today().isoformat(), "machine": platform.processor() or platform.machine(),
              "cpu_count": os.cpu_count(), "threads": args.threads, "python": platform.python_version(),
              "on_n": args.on_n, "cases": {}}
    print(f"\n{'case':5s} {'framework':9s} {'step ms':>9s} {'median ms':>9s} {'peak MB':>8s} {'their/ours':>10s}")
    for case in args.cases:
        ours = by[("snnsim", case)]
        entry = {}
        for fw in FRAMEWORKS:
            r = by[(fw, case)]
            ratio = r["step_s"] / ours["step_s"]
            entry[fw] = {"step_s": r["step_s"], "median_s": r["median_s"], "peak_extra_mb": r["peak_extra_mb"]}
            if fw != "snnsim":
                entry[f"speedup_vs_{fw}"] = ratio
                entry[f"memory_ratio_vs_{fw}"] = r["peak_extra_mb"] / max(ours["peak_extra_mb"], 1e-9)
            print(f"{case:5s} {fw:9s} {r['step_s'] * 1e3:9.1f} {r['median_s'] * 1e3:9.1f} {r['peak_extra_mb']:8.1f} "
                  f"{'' if fw == 'snnsim' else f'{ratio:10.2f}'}")
        result["cases"][case] = entry
    result["versions"] = {k: v for r in rows for k, v in r["versions"].items()}
    if "ff" in result["cases"]:
        result["speedup_vs_norse"] = result["cases"]["ff"]["speedup_vs_norse"]
        result["speedup_vs_snntorch"] = result["cases"]["ff"]["speedup_vs_snntorch"]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
