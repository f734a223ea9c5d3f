"""Export to lava-dl's netx HDF5 format: a feed-forward chain of Loihi CUBA LIF layers.

:func:`write_netx` maps the network with :func:`snnsim.loihi.quantize` (the same registers
that ``arithmetic="loihi_fixed"`` runs) and writes the layout that lava-dl's loader
(``lava.lib.dl.netx.hdf5.Network``, lava-dl 0.6.0) reads::

    layer/0/type   "input"           layer/0/shape  [n_in]
    layer/i/type   "dense"           layer/i/shape  [n_i]
    layer/i/weight (n_i, n_{i-1})    int, the effective weight (mantissa << exponent)
    layer/i/bias   (n_i,)            int, bias in units of 2**6 state units
    layer/i/neuron/type "CUBA", iDecay = du + 1, vDecay = dv, vThMant = vth,
                   refDelay = 1, gradedSpike = False

What netx does with each value (read from lava-dl 0.6.0, see ``docs/netx.md``): the input
layer without a ``neuron`` group only sets the input shape (no extra process, no extra
delay); each dense layer becomes a Lava ``Dense`` (one step of delay) and a ``LIF`` with
``du = iDecay - 1``, ``dv = vDecay``, ``vth = vThMant``, ``bias_mant = bias``, ``bias_exp = 6``
and ``u = v = 0``. The Dense weight exponent is not read from the file: lava-dl derives it
from the integer weights (``optimize_weight_bits``), always ``<= 0``, so an 8-bit effective
weight is carried exactly and nothing larger is.

Hence a network is written only when netx reproduces its quantised registers exactly:
every projection's effective weights lie in netx's 8-bit range (in practice: the mapping
chose weight exponent 0), every bias is a multiple of 64 state units, every initial ``u``
and ``v`` is zero, every delay is one step. Anything else raises
:class:`~snnsim.errors.NetworkError` naming the object and field, before a file is
created; the file is written atomically (:mod:`snnsim.io.atomic`).

Time alignment: a source spike of time index ``k`` reaches the first layer's ``u`` at
step ``k + 1`` in both engines; feed it to the netx network in Lava step ``k`` (for a
``lava.proc.io.source.RingBuffer``: column ``k - 1``). Lava has no step 0: spikes of index 0
go into the first ``Dense``'s ``a_buff`` (``net.layers[0].synapse.a_buff``), as the Lava
backend does. Output spikes of Lava step ``t`` are our spikes at ``t * dt``.
"""

from __future__ import annotations

import importlib.util

import h5py
import numpy as np

from snnsim import loihi
from snnsim.errors import NetworkError
from snnsim.io.atomic import atomic_path, check_writable
from snnsim.lava_compat import import_lava, import_lava_dl
from snnsim.network import Network

__all__ = [
    "NETX_BIAS_SHIFT",
    "import_netx",
    "lava_dl_available",
    "netx_chain",
    "netx_layers",
    "netx_weight_problem",
    "write_netx",
]

#: lava-dl's netx creates every CUBA LIF with ``bias_exp = 6``: a bias value b adds b << 6
NETX_BIAS_SHIFT = 6
#: lava-dl's netx loader module
NETX_MODULE = "lava.lib.dl.netx.hdf5"
#: how scripts/setup.sh installs lava-dl (declared for Python < 3.11 and torch 2.3; see docs/netx.md)
LAVA_DL_INSTALL = ("pip install --no-deps --ignore-requires-python lava-dl==0.6.0 && pip install matplotlib "
                   "'opencv-python-headless<4.12' 'pillow<11' ninja")


def lava_dl_available() -> bool:
    """True if lava-dl's netx loader is installed (imports only the compatibility step and ``lava``)."""
    try:
        import_lava("lava")
        return importlib.util.find_spec("lava.lib.dl.netx") is not None
    except ImportError:
        return False


def import_netx():
    """lava-dl's netx loader module (``lava.lib.dl.netx.hdf5``: ``Network(net_config=path)``),
    imported through :func:`snnsim.lava_compat.import_lava_dl` (which also works around
    lava-dl's torchvision import). Raises ``ImportError`` with the install command when
    lava-dl is not installed.
    """
    if not lava_dl_available():
        raise ImportError(f"lava-dl is not installed; install it with: {LAVA_DL_INSTALL} (see docs/netx.md)")
    return import_lava_dl(NETX_MODULE)


def netx_chain(network: Network) -> tuple[str, list[tuple[str, str]]]:
    """The source and the ``(projection, population)`` chain that netx layers are made of.

    Raises :class:`NetworkError` unless the network is one spike source feeding a chain of
    populations, each fed by exactly one projection from the node before it.
    """
    if len(network.sources) != 1:
        raise NetworkError("network", "sources", f"a netx network has exactly one input (spike source), got "
                           f"{len(network.sources)}: {sorted(network.sources)}")
    if not network.populations:
        raise NetworkError("network", "populations", "a netx network needs at least one population")
    source = next(iter(network.sources))
    incoming: dict[str, list] = {name: [] for name in network.populations}
    outgoing: dict[str, list] = {name: [] for name in (*network.sources, *network.populations)}
    for proj in network.projections.values():
        if proj.pre == proj.post:
            raise NetworkError(proj.where, "post", f"is a recurrent (self) projection of {proj.post!r}; netx "
                               f"export writes feed-forward chains only")
        incoming[proj.post].append(proj)
        outgoing[proj.pre].append(proj)
    for name, projs in incoming.items():
        if len(projs) > 1:
            raise NetworkError(network.populations[name].where, "projections", f"is fed by "
                               f"{len(projs)} projections ({[p.name for p in projs]}); a netx layer has one "
                               f"input layer")
    chain, node, seen = [], source, {source}
    while outgoing[node]:
        if len(outgoing[node]) > 1:
            where = network.node(node).where
            raise NetworkError(where, "projections", f"feeds {len(outgoing[node])} projections "
                               f"({[p.name for p in outgoing[node]]}); netx layers form one chain")
        proj = outgoing[node][0]
        if proj.post in seen:
            raise NetworkError(proj.where, "post", f"goes back to {proj.post!r}, earlier in the chain (a "
                               f"recurrent loop); netx export writes feed-forward chains only")
        chain.append((proj.name, proj.post))
        seen.add(proj.post)
        node = proj.post
    missing = [name for name in network.populations if name not in seen]
    if missing:
        raise NetworkError(network.populations[missing[0]].where, "projections", f"is not on the chain from "
                           f"source {source!r} ({' -> '.join([source, *(p for _, p in chain)])}); netx export "
                           f"writes one feed-forward chain")
    return source, chain


def _is_power_of_two(x: int) -> bool:
    return x > 0 and (x & (x - 1)) == 0


def netx_weight_problem(weights) -> str | None:
    """Why lava-dl's netx loader would not reproduce the integer ``(n_post, n_pre)`` matrix
    ``weights`` exactly, or None when it does.

    netx stores no weight exponent: its ``optimize_weight_bits`` shifts the matrix left by
    ``s >= 0`` bits so that its largest magnitude lands in (128, 256], the sign mode coming
    from the matrix, and Lava's bit-accurate ``Dense`` clips, truncates and shifts the sums
    back by ``s``. That is exact within 8 bits, except where the scaled matrix reaches -256 in
    Lava's inhibitory mode (clipped to -255) or where netx asks for a negative truncation.
    The cases (checked against lava-dl 0.6.0 in ``tests/test_netx.py``):

    - all zero: not readable (netx divides by the largest weight);
    - all >= 0: largest <= 255;
    - both signs: from -256 to 254;
    - all <= 0: smallest >= -255 and not a power of two in magnitude (-1, -2, ..., -128), and,
      when the matrix holds zeros, no odd weight once the smallest is below -128.
    """
    w = np.asarray(weights, np.int64)
    if w.size == 0 or not w.any():
        return ("all weights are 0; lava-dl's netx loader cannot read an all-zero weight matrix (it derives "
                "the weight exponent from the largest weight)")
    lo, hi = int(w.min()), int(w.max())
    if lo >= 0:
        if hi > 255:
            return f"excitatory weights up to {hi}; netx carries 0 .. 255 exactly"
        return None
    if hi > 0:
        if hi > 254 or lo < -256:
            return f"mixed-sign weights from {lo} to {hi}; netx carries -256 .. 254 exactly"
        return None
    if lo < -255:
        return f"inhibitory weights down to {lo}; netx carries -255 .. -1 exactly"
    if _is_power_of_two(-lo):
        return (f"all weights are <= 0 and the most negative one, {lo}, is a power of two: netx scales it to "
                f"-256, which Lava's inhibitory Dense clips to -255")
    if hi == 0 and lo < -128 and (w % 2).any():
        return (f"all weights are <= 0, the most negative one is {lo} (below -128) and some are odd: netx then "
                f"asks Lava's Dense for a negative truncation, which zeroes every weight")
    return None


def netx_layers(network: Network, dt: float | None = None):
    """Check and map ``network`` without writing: ``(LoihiNetwork, source name, [one dict per dense
    layer])``, each dict holding what :func:`write_netx` writes. Raises :class:`NetworkError`
    for anything netx cannot carry exactly."""
    network.validate()
    source, chain = netx_chain(network)
    lnet = loihi.quantize(network, dt)
    from snnsim.plan import delay_steps

    layers = []
    pre = source
    for proj_name, pop_name in chain:
        proj = network.projections[proj_name]
        steps = delay_steps(proj, lnet.dt)
        if len(steps) and (steps != 1).any():
            raise NetworkError(proj.where, "delay", f"netx export writes one-step (Dense) connections; this "
                               f"projection has a delay of {int(steps[steps != 1][0])} steps of dt={lnet.dt!r} s")
        p = lnet.populations[pop_name]
        pop = network.populations[pop_name]
        for var, values in (("u", p.u0), ("v", p.v0)):
            if np.any(values != 0):
                raise NetworkError(pop.where, "initial", f"netx starts every neuron at u = v = 0; initial {var} "
                                   f"maps to {int(np.abs(values).max())} state units (set the initial state "
                                   f"to v_reset and i_syn to 0)")
        bias = np.asarray(p.bias, np.int64)
        if np.any(bias % (1 << NETX_BIAS_SHIFT)):
            bad = int(bias[np.flatnonzero(bias % (1 << NETX_BIAS_SHIFT))[0]])
            raise NetworkError(pop.where, "i_bias", f"the bias (from i_bias and v_leak - v_reset) maps to {bad} "
                               f"state units; lava-dl's netx applies bias_exp = {NETX_BIAS_SHIFT}, so only "
                               f"multiples of {1 << NETX_BIAS_SHIFT} are exact")
        lp = lnet.projections[proj_name]
        n_pre, n_post = network.node(pre).size, pop.size
        eff = lp.matrix(n_pre, n_post).astype(np.int64) << int(lp.exp)
        problem = netx_weight_problem(eff)
        if problem is not None:
            cause = (f"; the Loihi mapping gave this projection weight exponent {lp.exp} (mantissas up to "
                     f"{int(np.abs(lp.mant).max())}), and netx files carry no weight exponent, so only 8-bit "
                     f"effective weights are exact" if lp.exp > 0 else "")
            raise NetworkError(proj.where, "weights", f"effective weights (mantissa << exponent, in units of "
                               f"Loihi's synaptic input) cannot be written exactly to netx: {problem}{cause}")
        layers.append({"population": pop_name, "projection": proj_name, "size": pop.size, "weight": eff,
                       "bias": bias >> NETX_BIAS_SHIFT, "iDecay": int(p.du) + 1, "vDecay": int(p.dv),
                       "vThMant": int(p.vth), "scale": float(p.scale), "v_reset": float(p.v_reset),
                       "readout": bool(p.readout)})
        pre = pop_name
    return lnet, source, layers


def _text(value: str) -> np.ndarray:
    return np.array([value.encode("ascii")])


def write_netx(network: Network, path, dt: float | None = None) -> loihi.LoihiNetwork:
    """Write ``network`` as a lava-dl netx HDF5 file at ``path``; returns the quantised network.

    ``dt`` (s): the step the registers are computed for (default ``network.dt``). The file
    runs in lava-dl's ``netx.hdf5.Network`` with the same integer registers as
    ``simulate(network, ..., arithmetic="loihi_fixed")``; what cannot be carried exactly raises
    :class:`NetworkError` before anything is written (see the module docstring).
    """
    path = check_writable(path)
    lnet, source, layers = netx_layers(network, dt)
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs["writer"] = "snnsim"
        f.attrs["format"] = "lava-dl netx"
        f.attrs["network"] = network.name
        f.attrs["dt"] = lnet.dt
        group = f.create_group("layer")
        inp = group.create_group("0")
        inp.create_dataset("type", data=_text("input"))
        inp.create_dataset("shape", data=np.array([network.sources[source].size], np.int64))
        inp.attrs["source"] = source
        for i, layer in enumerate(layers, start=1):
            g = group.create_group(str(i))
            g.create_dataset("type", data=_text("dense"))
            g.create_dataset("shape", data=np.array([layer["size"]], np.int64))
            g.create_dataset("weight", data=layer["weight"].astype(np.int32))
            g.create_dataset("bias", data=layer["bias"].astype(np.int32))
            neuron = g.create_group("neuron")
            neuron.create_dataset("type", data=_text("CUBA"))
            neuron.create_dataset("iDecay", data=np.int64(layer["iDecay"]))
            neuron.create_dataset("vDecay", data=np.int64(layer["vDecay"]))
            neuron.create_dataset("vThMant", data=np.int64(layer["vThMant"]))
            neuron.create_dataset("refDelay", data=np.int64(1))
            neuron.create_dataset("gradedSpike", data=np.bool_(False))
            for key in ("population", "projection", "scale", "v_reset", "readout"):
                g.attrs[key] = layer[key]
    return lnet

