"""The torch backend on CUDA: same spikes and gradients as on the CPU, the step time, and the
``torch`` simulation engine on ``device="cuda"`` against the CPU engine (split runs included).

Runs where a CUDA device is present (prints ``{"cuda": false}`` otherwise). The random
networks are those of ``tests/test_torch_backend.py``; the CPU side uses the fused Numba
layers, the CUDA side steps ``lif_step`` under autograd (float64 on both for the comparison).
Last line: one JSON object.

    python benchmarks/torch_cuda_check.py
"""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))


def compare(seed: int, integration: str, recurrent: bool) -> dict:
    from test_torch_backend import T, random_network

    from snnsim.backends.torch import TorchNetwork
    net, _, _ = random_network(seed, integration, recurrent, False)
    x = torch.as_tensor((np.random.default_rng(seed).random((T, 8, 12)) < 0.25).astype(np.float64))
    out = {}
    for device in ("cpu", "cuda"):
        model = TorchNetwork(net, dtype="float64").to(device)
        o = model({"in": x.to(device)})
        loss = sum(v.pow(2).mean() for v in o.v.values()) + sum((z * 0.1).sum() for z in o.spikes.values())
        loss.backward()
        out[device] = (o, {k: p.grad.detach().cpu() for k, p in model.named_parameters() if p.grad is not None})
    (oc, gc), (og, gg) = out["cpu"], out["cuda"]
    spikes_equal = all(torch.equal(oc.spikes[n], og.spikes[n].cpu()) for n in oc.spikes)
    v_err = max(float((oc.v[n] - og.v[n].cpu()).abs().max()) for n in oc.v)
    g_err = max(float(((gc[k] - gg[k]).abs().max() / (gc[k].abs().max() + 1e-30))) for k in gc)
    return {"seed": seed, "integration": integration, "recurrent": recurrent, "spikes_equal": spikes_equal,
            "max_v_diff": v_err, "max_rel_grad_diff": g_err,
            "spikes": int(sum(z.sum() for z in oc.spikes.values()))}


def step_time(device: str, recurrent: bool) -> float:
    import importlib.util
    spec = importlib.util.spec_from_file_location("ts", os.path.join(os.path.dirname(__file__), "train_step.py"))
    ts = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ts)
    c = dict(ts.CASES["rec" if recurrent else "ff"])
    model, step = ts.build_snnsim("ff", c, torch)
    model.to(device)
    x = (torch.rand(c["T"], c["B"], c["n_in"], device=device) < 0.05).float()
    y = torch.randint(0, c["n_out"], (c["B"],), device=device)
    times = []
    for _ in range(6):
        if device == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        for p in model.parameters():
            p.grad = None
        step(x, y).backward()
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return min(times[1:])


def engine_on_cuda() -> dict:
    """The ``torch`` engine on CUDA in float64 against the CPU engine: the same spikes, run whole and
    split in two runs (the state and pending input carried on the device)."""
    import snnsim
    from snnsim import CubaLIF, FixedProbability, LI, Network
    net = Network(dt=1e-4, seed=7)
    net.add_poisson("p", 200, rate=30.0)
    net.add_population("h", 500, CubaLIF(tau_mem=10e-3, tau_syn=5e-3, t_ref=1e-3))
    net.add_population("o", 10, LI(tau_mem=20e-3, tau_syn=5e-3))
    net.connect("p", "h", FixedProbability(0.1), weight=1.5, delay=5e-4)
    net.connect("h", "h", FixedProbability(0.05), weight=-0.3)
    net.connect("h", "o", FixedProbability(0.5), weight=0.05)
    net.probe_spikes("h")
    net.probe_state("o", "v")
    cpu = snnsim.simulate(net, 0.2, arithmetic="float64")
    with snnsim.simulator(net, "torch", arithmetic="float64", device="cuda") as sim:
        sim.run(0.07)
        sim.run(0.13)
        gpu = sim.results()
    return {"engine_spikes_equal": bool(np.array_equal(cpu.spikes["h"].times, gpu.spikes["h"].times)
                                        and np.array_equal(cpu.spikes["h"].indices, gpu.spikes["h"].indices)),
            "engine_max_v_diff": float(np.abs(cpu.traces["o.v"].values - gpu.traces["o.v"].values).max()),
            "engine_spikes": len(cpu.spikes["h"])}


def main() -> None:
    if not torch.cuda.is_available():
        print(json.dumps({"cuda": False}))
        return
    cases = [compare(s, i, r) for s, i, r in ((1, "exact", False), (2, "euler", True), (3, "exact", True))]
    for c in cases:
        print(c)
    result = {"cuda": True, "device": torch.cuda.get_device_name(0), "torch": torch.__version__,
              "all_spikes_equal": all(c["spikes_equal"] for c in cases),
              "max_v_diff": max(c["max_v_diff"] for c in cases),
              "max_rel_grad_diff": max(c["max_rel_grad_diff"] for c in cases),
              "ff_step_s_cuda": step_time("cuda", False), "rec_step_s_cuda": step_time("cuda", True),
              "ff_step_s_cpu_same_machine": step_time("cpu", False), **engine_on_cuda()}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
