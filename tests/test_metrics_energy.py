"""Metrics and energy against counts and joules worked out by hand on a tiny network."""

import json

import numpy as np
import pytest

import snnsim
from snnsim import LIF, AllToAll, Network
from snnsim.errors import FileFormatError
from snnsim.metrics import PROFILES, estimate_energy, load_profile, run_metrics
from snnsim.metrics.profiles import LOIHI

DT = 1e-3


def tiny(record_source: bool) -> Network:
    """A 2-neuron spike source (neuron 0 fires 3 times) all-to-all onto 3 LIF neurons whose
    weights are far too small to fire them: 9 synaptic events, 30 neuron updates in 10 steps."""
    net = Network(dt=DT, seed=0)
    pop = net.add_population("pop", 3, LIF(tau_mem=0.02, v_th=1.0, v_reset=0.0))
    src = net.add_spike_source("src", 2, times=[1.5e-3, 3.5e-3, 5.5e-3], indices=[0, 0, 0])
    net.connect(src, pop, AllToAll(), weight=1e-6)
    net.probe_spikes(pop)
    if record_source:
        net.probe_spikes(src)
    return net


def run(net):
    return snnsim.simulate(net, 10 * DT)


def test_counts_by_hand():
    net = tiny(True)
    m = run_metrics(net, run(net))
    pop, proj = m["populations"]["pop"], next(iter(m["projections"].values()))
    assert (pop["neuron_updates"], pop["spikes"], pop["activation_sparsity"]) == (30, 0, 1.0)
    assert proj["syn_events"] == 9                  # 3 spikes x 3 targets
    assert proj["dense_macs"] == 2 * 3 * 10          # n_pre x n_post x steps
    assert proj["connection_sparsity"] == 0.0        # all-to-all
    # parameters: 6 int32 indices + 3 int32 row pointers + one shared float32 weight
    assert proj["parameter_bytes"] == 6 * 4 + 3 * 4 + 4
    assert m["totals"]["real_time_factor"] == pytest.approx(m["totals"]["loop_s"] / (10 * DT))


def test_loihi_energy_by_hand():
    net = tiny(True)
    e = estimate_energy(net, run(net), LOIHI)
    syn = 9 * 23.6
    neurons = 9 * 81 + 21 * 52                     # active = min(30, 0 spikes + 9 events in)
    routing = 3 * 1.7                              # every node on core 0: one destination core per spike
    assert e["total_j"] == pytest.approx((syn + neurons + routing) * 1e-12)
    assert e["energy_per_syn_event_uj"] == pytest.approx((syn + neurons + routing) * 1e-12 / 9 * 1e6)


@pytest.mark.parametrize("record_source, routing", [
    # source neuron 0 is node 3 -> core 1 (tile (1, 0)); its targets lie on cores 0 (tile (0, 0)) and 1:
    # 2 destinations x 1.7 pJ + one east-west hop 3.0 pJ = 6.4 pJ per spike, 3 spikes
    (True, 3 * (2 * 1.7 + 3.0)),
    # without a record the 3 spikes are spread evenly: neuron 1 is node 4 -> core 2 (tile (0, 1)):
    # 2 x 1.7 + one north-south hop (to core 0) + one east-west and one north-south hop (to core 1)
    (False, 1.5 * (2 * 1.7 + 3.0) + 1.5 * (2 * 1.7 + 4.0 + 3.0 + 4.0)),
])
def test_routing_over_the_mesh_by_hand(tmp_path, record_source, routing):
    path = tmp_path / "mesh.toml"
    path.write_text('name = "mesh"\nkind = "snn"\ncitation = "hand"\nsyn_op_pj = 1.0\nspike_tile_pj = 1.7\n'
                    'hop_ew_pj = 3.0\nhop_ns_pj = 4.0\nneurons_per_core = 2\ncores_per_tile = 1\nmesh_columns = 2\n')
    net = tiny(record_source)
    e = estimate_energy(net, run(net), load_profile(str(path)))
    assert e["routing_j"]["src->pop" if "src->pop" in e["routing_j"] else next(iter(e["routing_j"]))] \
        == pytest.approx(routing * 1e-12)


def test_ann_baseline_by_hand():
    net = tiny(False)
    res = run(net)
    assert estimate_energy(net, res, PROFILES["cmos45"])["total_j"] == pytest.approx(60 * 4.6e-12)
    assert estimate_energy(net, res, PROFILES["cmos45-sram"])["total_j"] == pytest.approx(60 * 14.6e-12)


def test_snn_loses_at_high_rates():
    """The honest comparison: a dense, always-firing SNN costs more on Loihi than the ANN on CMOS."""
    net = Network(dt=DT, seed=0)
    pop = net.add_population("pop", 50, LIF(tau_mem=0.02, v_th=1.0, v_reset=0.0, t_ref=0.0, i_bias=2e3))
    net.connect(pop, pop, AllToAll(), weight=1e-3)
    res = run(net)
    assert res.counts["populations"]["pop"]["spikes"] == 50 * 10   # fires every step
    snn = estimate_energy(net, res, LOIHI)["total_j"]
    ann = estimate_energy(net, res, PROFILES["cmos45"])["total_j"]
    assert snn > ann


@pytest.mark.parametrize("text, field", [
    ('name = "x"\nkind = "snn"\ncitation = "c"\nsyn_op_pj = -1.0\n', "syn_op_pj"),
    ('name = "x"\nkind = "gpu"\ncitation = "c"\n', "kind"),
    ('name = "x"\nkind = "snn"\ncitation = "c"\nsyn_op_pj = 1.0\nwatts = 3\n', "watts"),
    ('name = "x"\nkind = "snn"\ncitation = "c"\nsyn_op_pj = 1.0\nneurons_per_core = 0\n', "neurons_per_core"),
    ('name = "x"\nkind = "ann"\ncitation = "c"\n', "mac_pj"),
    ('name = [1\n', "TOML"),
])
def test_profile_errors_name_the_field(tmp_path, text, field):
    path = tmp_path / "p.toml"
    path.write_text(text)
    with pytest.raises(FileFormatError, match=field):
        load_profile(str(path))


def test_json_profile(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"name": "j", "kind": "ann", "citation": "c", "mac_pj": 2.0}))
    assert load_profile(str(path)).mac_pj == 2.0
