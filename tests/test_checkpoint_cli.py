"""Checkpoint and resume through the command line, with the process killed (SIGKILL) part way:
``snnsim run FILE --checkpoint CK --checkpoint-every S`` then ``snnsim run --resume CK`` gives the
spikes and traces of the uninterrupted run, bit for bit, and a kill while a checkpoint is being
written leaves the previous checkpoint whole."""

from __future__ import annotations

import glob
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import snnsim
from snnsim.io import load_results

SCRIPT = """
import snnsim
from snnsim import CubaLIF, FixedInDegree, Network, Normal, Uniform
network = Network(dt=1e-4, seed=3, name="ckpt")
network.add_poisson("ext", 1000, rate=20.0)
e = network.add_population("e", 20000, CubaLIF(tau_mem=20e-3, tau_syn=5e-3, t_ref=2e-3),
                           initial={"v": Uniform(0.0, 1.0)})
network.connect("ext", e, FixedInDegree(20), weight=0.45)
network.connect(e, e, FixedInDegree(50), weight=Normal(0.0, 0.08), delay=Uniform(0.5e-3, 3e-3))
network.probe_spikes(e)
network.probe_spikes("ext")
network.probe_state(e, "v", list(range(10)), every=10)
network.probe_state(e, "i_syn", [3, 7])
"""
DURATION, EVERY = "1.0", "0.1"


def snnsim_cmd(*args) -> list[str]:
    return [sys.executable, "-m", "snnsim.cli", *args]


def run_cli(*args, cwd):
    out = subprocess.run(snnsim_cmd(*args), cwd=cwd, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr
    return out


def assert_same(a, b):
    assert sorted(a.spikes) == sorted(b.spikes) == ["e", "ext"]
    for name in a.spikes:
        np.testing.assert_array_equal(a.spikes[name].times, b.spikes[name].times, err_msg=name)
        np.testing.assert_array_equal(a.spikes[name].indices, b.spikes[name].indices, err_msg=name)
    for name in a.traces:
        np.testing.assert_array_equal(a.traces[name].times, b.traces[name].times, err_msg=name)
        np.testing.assert_array_equal(a.traces[name].values, b.traces[name].values, err_msg=name)
    assert a.counts == b.counts
    assert a.duration == pytest.approx(b.duration)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ckpt")
    (folder / "net.py").write_text(SCRIPT)
    run_cli("run", "net.py", "--duration", DURATION, "--out", "whole.h5", cwd=folder)
    whole = load_results(folder / "whole.h5")
    assert len(whole.spikes["e"]) > 10000          # a busy network: the test compares real activity
    return folder, whole


def start(folder, checkpoint, out):
    return subprocess.Popen(snnsim_cmd("run", "net.py", "--duration", DURATION, "--checkpoint", checkpoint,
                                       "--checkpoint-every", EVERY, "--out", out), cwd=folder,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_for(predicate, proc, timeout=600):
    t0 = time.monotonic()
    while not predicate():
        if proc.poll() is not None:
            pytest.fail(f"the run ended before it could be killed: {proc.stderr.read().decode()}")
        if time.monotonic() - t0 > timeout:
            proc.kill()
            pytest.fail("timed out waiting for the run")
        time.sleep(0.001)


def test_killed_run_resumes_bit_identical(uninterrupted):
    folder, whole = uninterrupted
    proc = start(folder, "ck.h5", "resumed.h5")
    wait_for(lambda: os.path.exists(folder / "ck.h5"), proc)   # the first checkpoint is written
    time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not os.path.exists(folder / "resumed.h5")            # it did not finish
    partial = snnsim.load_simulator(folder / "ck.h5")
    assert 0 < partial.t < float(DURATION)
    out = run_cli("run", "--resume", "ck.h5", "--out", "resumed.h5", "--json", cwd=folder)
    assert '"backend": "cpu"' in out.stdout.splitlines()[-1]
    assert_same(load_results(folder / "resumed.h5"), whole)
    # the resumed command kept checkpointing to the end
    assert snnsim.load_simulator(folder / "ck.h5").t == pytest.approx(float(DURATION))


def test_kill_during_a_checkpoint_write_leaves_the_last_checkpoint_readable(uninterrupted):
    folder, whole = uninterrupted
    for attempt in range(8):   # kill the moment a checkpoint's temporary file appears, after the first one
        ck = folder / f"w{attempt}.h5"
        proc = start(folder, ck.name, f"w{attempt}-out.h5")
        pattern = str(folder / f".{ck.name}.*.tmp")
        wait_for(lambda: os.path.exists(ck) and glob.glob(pattern), proc)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if glob.glob(pattern):      # killed while the temporary file was being written
            break
    else:
        pytest.fail("never caught the process during a checkpoint write")
    assert proc.returncode == -signal.SIGKILL
    survivor = snnsim.load_simulator(ck)                  # the previous checkpoint, whole
    assert 0 < survivor.t < float(DURATION)
    run_cli("run", "--resume", ck.name, "--out", "after-write-kill.h5", cwd=folder)
    assert_same(load_results(folder / "after-write-kill.h5"), whole)


def test_resume_refuses_other_settings_and_missing_files(uninterrupted, tmp_path):
    folder, _ = uninterrupted
    run_cli("run", "net.py", "--duration", "0.02", "--checkpoint", "small.h5", cwd=folder)
    for extra, field in ((["--dt", "1e-5"], "dt"), (["--arithmetic", "float64"], "arithmetic"),
                         (["--backend", "event"], "backend"), (["--duration", "0.01"], "duration")):
        out = subprocess.run(snnsim_cmd("run", "--resume", "small.h5", *extra), cwd=folder, capture_output=True,
                             text=True, timeout=600)
        assert out.returncode == 2 and f"run: {field}:" in out.stderr, (extra, out.stderr)
    out = subprocess.run(snnsim_cmd("run", "--resume", str(tmp_path / "none.h5")), capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 2 and "none.h5" in out.stderr
    out = subprocess.run(snnsim_cmd("run", "net.py", "--checkpoint-every", "0.01"), cwd=folder,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 2 and "needs --checkpoint" in out.stderr
