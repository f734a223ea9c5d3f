"""The ``snnsim`` command line: demo, run, info, --json output and clean errors."""

import json
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

import snnsim
from snnsim.cli import main

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

SCRIPT_VARIABLE = """
from snnsim.examples.coba import build_coba
network = build_coba(n_neurons=200, seed=3)
"""

SCRIPT_FUNCTION = """
import snnsim

def build_network():
    net = snnsim.Network(dt=1e-4, integration="exact", seed=5, name="small")
    net.add_poisson("input", 50, rate=200.0)
    net.add_population("lif", 40, snnsim.LIF(tau_mem=10e-3, v_th=1.0))
    net.connect("input", "lif", snnsim.FixedProbability(0.3), weight=0.2, delay=1e-3)
    net.probe_spikes("lif")
    return net

if __name__ == "__main__":
    raise SystemExit("the CLI must not run the script's main block")
"""


def last_json(out: str) -> dict:
    """The JSON object on the last line of stdout."""
    return json.loads(out.strip().splitlines()[-1])


def assert_png(path: Path) -> None:
    import matplotlib.image

    assert path.read_bytes()[:8] == PNG_SIGNATURE
    image = matplotlib.image.imread(path)
    assert image.shape[0] > 0 and image.shape[1] > 0


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_demo_json(tmp_path, capsys):
    png = tmp_path / "raster.png"
    assert main(["demo", "--duration", "0.2", "--raster", str(png), "--json"]) == 0
    out = capsys.readouterr().out
    figures = last_json(out)
    for key in ("mean_rate_hz", "spikes", "syn_events_per_s", "wall_s", "synapses", "raster_png"):
        assert key in figures
    assert figures["spikes"] > 0 and figures["neurons"] == 4000 and figures["synapses"] > 0
    assert figures["raster_png"] == str(png)
    assert "mean rate (Hz)" in out
    assert_png(png)


def test_demo_without_json_prints_no_json(tmp_path, capsys):
    assert main(["demo", "--duration", "0.05", "--raster", "", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "spikes" in out and "{" not in out
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("script", [SCRIPT_VARIABLE, SCRIPT_FUNCTION], ids=["variable", "build_network"])
def test_run_script_matches_simulate(tmp_path, capsys, script):
    path = write(tmp_path, "net.py", script)
    scope = runpy.run_path(str(path), run_name="direct")
    net = scope["network"] if "network" in scope else scope["build_network"]()
    direct = snnsim.simulate(net, 0.1).summary()

    png = tmp_path / "run.png"
    assert main(["run", str(path), "--duration", "0.1", "--raster", str(png), "--json"]) == 0
    figures = last_json(capsys.readouterr().out)
    assert figures["spikes"] == direct["spikes"] > 0
    assert figures["syn_events"] == direct["syn_events"]
    assert figures["steps"] == 1000 and figures["synapses"] == net.n_synapses
    assert_png(png)


def test_run_overrides_dt_integration_dtype(tmp_path, capsys):
    path = write(tmp_path, "net.py", SCRIPT_FUNCTION)
    args = ["run", str(path), "--duration", "0.05", "--dt", "5e-4", "--integration", "euler",
            "--dtype", "float64", "--json"]
    assert main(args) == 0
    figures = last_json(capsys.readouterr().out)
    assert (figures["dt_s"], figures["integration"], figures["dtype"], figures["steps"]) == \
        (5e-4, "euler", "float64", 100)


def test_run_raster_records_unprobed_network(tmp_path, capsys):
    script = SCRIPT_FUNCTION.replace('    net.probe_spikes("lif")\n', "")
    path = write(tmp_path, "net.py", script)
    png = tmp_path / "r.png"
    assert main(["run", str(path), "--duration", "0.05", "--raster", str(png)]) == 0
    assert_png(png)


def test_run_hdf5_network(tmp_path, capsys):
    from snnsim.io import load_results, save_network  # must exist: a failure here is a real failure

    net = runpy.run_path(str(write(tmp_path, "net.py", SCRIPT_FUNCTION)))["build_network"]()
    direct = snnsim.simulate(net, 0.1).summary()
    h5 = tmp_path / "net.h5"
    save_network(net, str(h5))
    out_h5 = tmp_path / "results.h5"
    assert main(["run", str(h5), "--duration", "0.1", "--out", str(out_h5), "--json"]) == 0
    figures = last_json(capsys.readouterr().out)
    assert figures["spikes"] == direct["spikes"]
    assert figures["results_h5"] == str(out_h5)
    assert load_results(str(out_h5)).counters["neuron_spikes"] == direct["spikes"]

    renamed = tmp_path / "network.bin"  # detected by its HDF5 signature, not its name
    renamed.write_bytes(h5.read_bytes())
    assert main(["info", str(renamed)]) == 0
    assert "lif" in capsys.readouterr().out


def test_info_script(tmp_path, capsys):
    path = write(tmp_path, "net.py", SCRIPT_FUNCTION)
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    for text in ("population", "lif", "poisson", "input", "projection", "integration", "exact"):
        assert text in out


BAD_CASES = {
    "missing file": (["run", "{tmp}/nothere.py"], "nothere.py"),
    "no network": (["run", "{tmp}/empty.py"], "build_network"),
    "not a network": (["run", "{tmp}/wrong.py"], "snnsim.Network"),
    "not a script": (["info", "{tmp}/notes.txt"], "notes.txt"),
    "corrupt hdf5": (["info", "{tmp}/junk.h5"], "junk.h5"),
    "negative dt": (["run", "{tmp}/net.py", "--dt", "-1"], "dt"),
    "partial step": (["run", "{tmp}/net.py", "--duration", "0.15", "--dt", "0.1"], "duration"),
    "negative duration": (["demo", "--duration", "-1", "--raster", ""], "duration"),
    "demo negative dt": (["demo", "--dt", "-1", "--raster", ""], "dt"),
    "unknown backend": (["run", "{tmp}/net.py", "--backend", "nope"], "backend"),
    "raster folder missing": (["run", "{tmp}/net.py", "--duration", "0.01", "--raster", "{tmp}/no/r.png"], "no/r.png"),
}


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_bad_input_exits_2(tmp_path, capsys, case):
    write(tmp_path, "empty.py", "x = 1\n")
    write(tmp_path, "wrong.py", "network = 42\n")
    write(tmp_path, "notes.txt", "hello\n")
    write(tmp_path, "junk.h5", "not hdf5\n")
    write(tmp_path, "net.py", SCRIPT_FUNCTION)
    argv, needle = BAD_CASES[case]
    assert main([a.replace("{tmp}", str(tmp_path)) for a in argv]) == 2
    out, err = capsys.readouterr()
    assert err.startswith("error: ") and needle in err
    assert "Traceback" not in err and "{" not in out
    if case == "no network":
        assert "empty.py" in err and "`network`" in err


def test_argparse_errors_return_2(capsys):
    assert main(["run"]) == 2
    assert main(["demo", "--dt", "abc"]) == 2
    assert main(["--version"]) == 0
    assert "snnsim" in capsys.readouterr().out


def test_console_script(tmp_path):
    exe = Path(sys.executable).with_name("snnsim")
    assert exe.exists(), f"console script not installed at {exe}"
    proc = subprocess.run([str(exe), "demo", "--duration", "0.1", "--json"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    figures = last_json(proc.stdout)
    assert figures["spikes"] > 0 and figures["wall_s"] > 0
    assert_png(tmp_path / "coba_raster.png")


@pytest.mark.parametrize("body,text", [
    ('raise RuntimeError("boom")\n', "RuntimeError: boom"),
    ("import sys\nsys.exit(0)\n", "sys.exit(0)"),
    ("def f(:\n", "SyntaxError"),
])
def test_failing_script_is_a_clean_error(tmp_path, capsys, body, text):
    script = tmp_path / "bad.py"
    script.write_text(body)
    assert main(["run", str(script)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and str(script) in err and text in err


def test_output_paths_are_checked_before_the_run(tmp_path, capsys):
    script = tmp_path / "net.py"
    script.write_text("import snnsim\nnetwork = snnsim.Network()\nnetwork.add_population('a', 2, snnsim.LIF())\n")
    assert main(["run", str(script), "--duration", "0.01", "--out", str(tmp_path / "missing" / "r.h5")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["run", str(script), "--duration", "0.01", "--raster", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err
    net_file = tmp_path / "net.h5"
    from snnsim.io import save_network
    from snnsim.cli import network_from_script
    save_network(network_from_script(str(script)), net_file)
    before = net_file.read_bytes()
    assert main(["run", str(net_file), "--duration", "0.01", "--out", str(net_file)]) == 2
    assert "overwrite" in capsys.readouterr().err and net_file.read_bytes() == before


# ------------------------------------------------------------------ train / export
def test_train_digits_json_plot_network_and_engine_check(tmp_path, capsys):
    out_h5, png, ckpt = tmp_path / "d.h5", tmp_path / "curves.png", tmp_path / "c.h5"
    code = main(["train", "digits", "--epochs", "2", "--limit", "300", "--hidden", "32", "--steps", "15",
                 "--check-engine", "40", "--out", str(out_h5), "--plot", str(png), "--checkpoint", str(ckpt),
                 "--json"])
    assert code == 0
    fig = last_json(capsys.readouterr().out)
    assert fig["task"] == "digits" and fig["epochs"] == 2 and fig["train_samples"] == 300
    assert 0.2 < fig["test_accuracy"] <= 1.0 and fig["test_samples"] == 360
    assert fig["engine_samples"] == 40 and fig["engine_agreement"] >= 0.975
    assert len(fig["history"]["train_loss"]) == 2
    assert_png(png)
    net = snnsim.io.load_network(out_h5)
    assert net.populations["hidden0"].size == 32
    # resuming a finished run trains no further
    assert main(["train", "digits", "--epochs", "2", "--limit", "300", "--hidden", "32", "--steps", "15",
                 "--checkpoint", str(ckpt), "--resume", "--json"]) == 0
    again = last_json(capsys.readouterr().out)
    assert again["history"] == fig["history"] and again["test_accuracy"] == fig["test_accuracy"]


def test_export_nir_round_trips_through_the_cli(tmp_path, capsys):
    script = write(tmp_path, "net.py", SCRIPT_FUNCTION)
    out = tmp_path / "net.nir"
    assert main(["export", str(script), str(out), "--format", "nir", "--json"]) == 0
    fig = last_json(capsys.readouterr().out)
    assert fig["output"] == str(out) and fig["neurons"] == 40
    from snnsim.io import read_nir
    back = read_nir(out)
    ns = runpy.run_path(str(script))
    original = ns["build_network"]()
    assert back.dt == original.dt and back.populations["lif"].size == 40
    assert back.projections[next(iter(back.projections))].n_synapses == original.n_synapses


@pytest.mark.parametrize("argv, text", [
    (["train", "digits", "--epochs", "0"], "epochs"),
    (["train", "digits", "--lr", "-1"], "lr"),
    (["train", "digits", "--steps", "0"], "steps"),
    (["train", "fashion-mnist", "--data-dir", "/nonexistent"], "dataset-fashion-mnist"),
    (["train", "digits", "--resume"], "resume"),
    (["train", "digits", "--out", "/nonexistent/x.h5"], "/nonexistent"),
    (["export", "missing.h5", "x.nir", "--format", "nir"], "missing.h5"),
])
def test_train_and_export_errors_exit_2(argv, text, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert (err.startswith("error:") or (err.startswith("usage:") and "error:" in err)) and text in err


LOIHI_SCRIPT = """
import numpy as np
from snnsim import Network, CubaLIF, LIF
network = Network(dt=1e-3, seed=1, name="loihi_cli")
network.add_poisson("in", 20, 100.0)
network.add_population("a", 30, CubaLIF(tau_mem=20e-3, tau_syn=5e-3))
network.add_population("b", 10, LIF(tau_mem=10e-3))
rng = np.random.default_rng(0)
network.connect("in", "a", rng.normal(1.0, 0.5, (30, 20)))
network.connect("a", "b", rng.normal(0.3, 0.3, (10, 30)))
network.probe_spikes("a")
network.probe_spikes("b")
"""


def test_run_lava_fixed_point_equals_our_loihi_engine(tmp_path, capsys):
    pytest.importorskip("lava", reason="lava-nc is installed by scripts/setup.sh")
    path = write(tmp_path, "loihi.py", LOIHI_SCRIPT)
    assert main(["run", str(path), "--duration", "0.1", "--backend", "lava", "--arithmetic", "loihi_fixed",
                 "--json"]) == 0
    out = capsys.readouterr().out
    lava = last_json(out)
    assert "quantisation" in out and lava["backend"] == "lava" and lava["arithmetic"] == "loihi_fixed"
    assert lava["integration"] == "exact"          # the physics the Loihi registers were mapped from
    assert main(["run", str(path), "--duration", "0.1", "--fixed-point", "--json"]) == 0   # the old spelling
    captured = capsys.readouterr()
    ours = last_json(captured.out)
    assert "--fixed-point is deprecated" in captured.err
    assert ours["backend"] == "cpu" and ours["arithmetic"] == "loihi_fixed"
    assert lava["spikes"] == ours["spikes"] > 0 and lava["syn_events"] == ours["syn_events"]
    assert main(["run", str(path), "--duration", "0.05", "--backend", "lava", "--json"]) == 0
    assert last_json(capsys.readouterr().out)["arithmetic"] == "loihi_float"   # Lava's default
    assert main(["run", str(path), "--fixed-point", "--arithmetic", "float32"]) == 2
    assert "error: run: arithmetic: --fixed-point is Loihi's fixed point" in capsys.readouterr().err


def test_export_netx_writes_the_quantised_chain(tmp_path, capsys):
    import h5py
    from snnsim.cli import load_network
    from snnsim.loihi import quantize
    path = write(tmp_path, "loihi.py", LOIHI_SCRIPT)
    out = tmp_path / "net.h5"
    assert main(["export", str(path), str(out), "--format", "netx", "--json"]) == 0
    assert last_json(capsys.readouterr().out)["format"] == "netx"
    q = quantize(load_network(str(path)))
    with h5py.File(out, "r") as f:
        assert f["layer/1/neuron/vThMant"][()] == q.populations["a"].vth
        assert f["layer/2/neuron/vThMant"][()] == q.populations["b"].vth
    recurrent = write(tmp_path, "rec.py", LOIHI_SCRIPT + "network.connect('a', 'a', np.eye(30))\n")
    assert main(["export", str(recurrent), str(tmp_path / "rec.h5"), "--format", "netx"]) == 2
    assert not (tmp_path / "rec.h5").exists()
    assert "error:" in capsys.readouterr().err


def test_python_dash_m_runs_the_same_command_line():
    """`python -m snnsim` is the installed `snnsim` script: same version line, same exit status
    for a bad subcommand."""
    ok = subprocess.run([sys.executable, "-m", "snnsim", "--version"], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and snnsim.__version__ in ok.stdout + ok.stderr
    bad = subprocess.run([sys.executable, "-m", "snnsim", "no-such-command"], capture_output=True, text=True,
                         timeout=120)
    assert bad.returncode != 0 and "no-such-command" in bad.stderr
