"""`snnsim bench FILE`: the report's schema, its numbers against the run's own counters, the files."""

import json
import os

from snnsim.cli import main

SCRIPT = '''
import snnsim
from snnsim import LIF, AllToAll, Network
network = Network(dt=1e-3, seed=0, name="tiny")
pop = network.add_population("pop", 3, LIF(tau_mem=0.02, v_th=1.0, v_reset=0.0))
src = network.add_spike_source("src", 2, times=[1.5e-3, 3.5e-3, 5.5e-3], indices=[0, 0, 0])
network.connect(src, pop, AllToAll(), weight=1e-6)
'''


def test_bench_file_json(tmp_path, capsys):
    script = tmp_path / "tiny.py"
    script.write_text(SCRIPT)
    out = tmp_path / "out"
    assert main(["bench", str(script), "--duration", "0.01", "--out", str(out), "--no-progress", "--json"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["schema"] == "snnsim.bench/1"
    assert {r["engine"] for r in report["runs"]} == {"cpu", "event"}
    for run in report["runs"]:
        assert run["case"] == "tiny" and run["neurons"] == 3 and run["synapses"] == 6
        assert run["metrics"]["totals"]["syn_events"] == 9          # 3 spikes x 3 targets, on both engines
        loihi = run["energy"]["loihi"]
        # 9 x 23.6 pJ + 9 active x 81 + 21 inactive x 52 (3 neurons x 10 steps) + 3 spikes x 1.7 pJ
        assert abs(loihi["total_j"] - (9 * 23.6 + 9 * 81 + 21 * 52 + 3 * 1.7) * 1e-12) < 1e-18
        assert abs(run["energy"]["cmos45"]["total_j"] - 60 * 4.6e-12) < 1e-18
        assert run["measured"]["source"] == "rapl"
    saved = json.loads((out / "bench.json").read_text())
    assert saved["runs"][0]["metrics"] == report["runs"][0]["metrics"]
    assert all(os.path.getsize(out / n) > 1000 for n in ("throughput.png", "energy.png"))


def test_bench_refuses_to_overwrite_its_input(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    script = out / "bench.json"
    script.write_text(SCRIPT)
    before = script.read_bytes()
    assert main(["bench", str(script), "--out", str(out), "--no-progress"]) == 2
    assert "overwrite" in capsys.readouterr().err
    assert script.read_bytes() == before


def test_bench_bad_profile_names_the_field(tmp_path, capsys):
    prof = tmp_path / "p.toml"
    prof.write_text('name = "x"\nkind = "snn"\ncitation = "c"\nsyn_op_pj = "a lot"\n')
    assert main(["bench", "--quick", "--profiles", str(prof), "--out", str(tmp_path / "o")]) == 2
    assert "syn_op_pj" in capsys.readouterr().err
