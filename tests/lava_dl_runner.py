"""Run a netx HDF5 file with lava-dl's loader in Lava fixed_pt (shared by the netx tests)."""

import h5py
import numpy as np

from snnsim.io.netx import import_netx
from snnsim.lava_compat import import_lava


def run_netx(path: str, raster: np.ndarray, n_steps: int) -> dict:
    """Run a netx file in Lava fixed_pt on ``raster`` (spikes of time index k, k = 0..n_steps)."""
    netx = import_netx()
    RingBuffer = import_lava("lava.proc.io.source").RingBuffer
    Sink = import_lava("lava.proc.io.sink").RingBuffer
    Monitor = import_lava("lava.proc.monitor.process").Monitor
    RunSteps = import_lava("lava.magma.core.run_conditions").RunSteps
    Loihi2SimCfg = import_lava("lava.magma.core.run_configs").Loihi2SimCfg
    nx = netx.Network(net_config=path)
    # time index k (k >= 1) is Lava step k: RingBuffer column k - 1 is sent in step k
    src = RingBuffer(data=np.ascontiguousarray(raster[1:n_steps + 1].T.astype(np.float64)))
    src.s_out.connect(nx.inp)
    first = nx.layers[0].synapse
    with h5py.File(path, "r") as f:
        w = f["layer/1/weight"][()].astype(np.int64)
    if raster[0].any():   # Lava has no step 0: spikes of index 0 are already in the Dense's buffer
        first.a_buff.init = w @ raster[0].astype(np.int64)
    sink = Sink(shape=nx.out.shape, buffer=n_steps)
    nx.out.connect(sink.a_in)
    monitors = []
    for i, layer in enumerate(nx.layers):
        for var in ("v", "u"):
            m = Monitor()
            m.probe(getattr(layer.neuron, var), n_steps)
            monitors.append((i, var, m, layer.neuron.name))
        m = Monitor()
        m.probe(layer.neuron.s_out, n_steps)
        monitors.append((i, "s", m, layer.neuron.name))
    try:
        nx.run(condition=RunSteps(num_steps=n_steps), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
        out = {"out": np.asarray(sink.data.get()).T}
        for i, var, m, name in monitors:
            data = m.get_data()[name]
            out[(i, var)] = np.asarray(data["s_out" if var == "s" else var])
    finally:
        nx.stop()
    return out
