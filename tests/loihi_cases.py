"""Random networks for the Loihi tests: many small networks side by side in one description.

Each case is a small feed-forward or recurrent network with its own input, drawn from a
seed: sizes, weights (sign and scale), time constants, thresholds, biases, initial states
and inputs (Poisson or spike times) all vary. ``bundle`` puts several cases in one
``Network`` as disconnected parts (names prefixed ``c<k>_``), so one Lava run checks many.
"""

import numpy as np

from snnsim import IF, LI, LIF, CubaLIF, Network


def add_case(net: Network, k: int, seed: int) -> list[str]:
    """Add case ``k`` (drawn from ``seed``) to ``net``; returns its population names."""
    rng = np.random.default_rng([seed, k])
    p = f"c{k}_"
    n_in = int(rng.integers(1, 25))
    if rng.random() < 0.5:
        net.add_poisson(p + "in", n_in, rate=float(rng.uniform(20, 400)))
    else:
        n_spk = int(rng.integers(1, 60))
        times = rng.integers(1, 60, n_spk) * net.dt
        idx = rng.integers(0, n_in, n_spk)
        pairs = np.unique(np.stack([np.rint(times / net.dt), idx], 1), axis=0)
        net.add_spike_source(p + "in", n_in, pairs[:, 0] * net.dt, pairs[:, 1].astype(int))
    names, pre, n_pre = [], p + "in", n_in
    n_layers = int(rng.integers(1, 4))
    for layer in range(n_layers):
        n = int(rng.integers(1, 40))
        kind = rng.choice(["cubalif", "lif", "if", "li"] if layer == n_layers - 1 else ["cubalif", "lif", "if"])
        tau_mem = float(rng.uniform(2e-3, 50e-3))
        v_th = float(rng.uniform(0.2, 3.0))
        v_reset = float(rng.choice([0.0, rng.uniform(-1.0, 0.1)]))
        bias = rng.uniform(-0.5, 1.5, n) * float(rng.choice([0.0, 1.0]))
        if kind == "cubalif":
            model = CubaLIF(tau_mem=tau_mem, tau_syn=float(rng.uniform(1e-3, 20e-3)), v_th=v_th, v_reset=v_reset,
                            v_leak=v_reset, i_bias=bias)
        elif kind == "lif":
            model = LIF(tau_mem=tau_mem, v_th=v_th, v_reset=v_reset, v_leak=float(rng.uniform(-0.2, 0.2)),
                        i_bias=bias)
        elif kind == "if":
            model = IF(tau_mem=tau_mem, v_th=v_th, v_reset=v_reset, i_bias=bias)
        else:
            model = LI(tau_mem=tau_mem, tau_syn=float(rng.choice([0.0, rng.uniform(1e-3, 20e-3)])), i_bias=bias)
        name = p + f"l{layer}"
        initial = {"v": rng.uniform(-0.5, 0.9, n) * v_th} if kind != "li" and rng.random() < 0.5 else None
        net.add_population(name, n, model, initial=initial)
        scale = v_th * float(rng.uniform(0.1, 1.5))
        density = float(rng.uniform(0.3, 1.0))
        w = rng.normal(float(rng.uniform(-0.2, 0.6)), 1.0, (n, n_pre)) * scale
        w *= rng.random((n, n_pre)) < density
        if rng.random() < 0.2:
            w = np.abs(w) * float(rng.choice([1.0, -1.0]))
        if kind in ("cubalif",) or (kind == "li" and model.tau_syn > 0):
            w = w * tau_mem / max(model.tau_syn, 1e-3)
        net.connect(pre, name, w)
        if kind != "li" and rng.random() < 0.4:   # recurrent
            net.connect(name, name, rng.normal(0.0, 0.4, (n, n)) * scale * (rng.random((n, n)) < 0.5))
        names.append(name)
        pre, n_pre = name, n
    return names


def bundle(first: int, count: int, seed: int = 2026, dt: float = 1e-3) -> tuple[Network, list[str]]:
    """Cases ``first .. first+count-1`` in one network, every spike and state recorded."""
    net = Network(dt=dt, seed=seed, name=f"cases{first}")
    names = []
    for k in range(first, first + count):
        names += add_case(net, k, seed)
    for name in names:
        pop = net.populations[name]
        if pop.model.spiking:
            net.probe_spikes(name)
        net.probe_state(name, "v")
        if "i_syn" in pop.model.state_variables:
            net.probe_state(name, "i_syn")
    return net, names
