"""Outputs never replace inputs: the CLI refuses, before running, any output that names an input file
(directly, through a symlink, a relative path or a hard link) or another output; the input stays
byte-identical."""

import os

import pytest

from snnsim.cli import main
from snnsim.paths import check_distinct
from snnsim.errors import FileFormatError

SCRIPT = """import snnsim
network = snnsim.Network(dt=1e-3, seed=3, name="g3")
network.add_poisson("inp", 5, rate=100.0)
network.add_population("a", 4, snnsim.LIF())
network.connect("inp", "a", snnsim.AllToAll(), weight=0.5)
network.probe_spikes("a")
"""


@pytest.fixture
def script(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "good.py"
    path.write_text(SCRIPT)
    return path


def refuse(argv, capsys, path, original):
    assert main([str(a) for a in argv]) == 2
    err = capsys.readouterr().err
    assert "refusing to overwrite" in err or "both name" in err, err
    assert path.read_bytes() == original


@pytest.mark.parametrize("how", ["same", "relative", "symlink", "hardlink"])
def test_export_onto_its_own_input_is_refused(script, capsys, how):
    original = script.read_bytes()
    target = {"same": lambda: str(script), "relative": lambda: "./sub/../good.py"}.get(how)
    os.mkdir(script.parent / "sub")
    if how == "symlink":
        os.symlink(script, script.parent / "link.h5")
        out = "link.h5"
    elif how == "hardlink":
        os.link(script, script.parent / "hard.h5")
        out = "hard.h5"
    else:
        out = target()
    refuse(["export", "good.py", out, "--format", "nir"], capsys, script, original)


@pytest.mark.parametrize("flag", ["--raster", "--out", "--checkpoint"])
def test_run_output_onto_the_script_is_refused(script, capsys, flag):
    original = script.read_bytes()
    os.symlink("good.py", script.parent / "alias.py")
    refuse(["run", "good.py", flag, "good.py", "--duration", "0.01"], capsys, script, original)
    refuse(["run", "alias.py", flag, str(script), "--duration", "0.01"], capsys, script, original)


def test_two_outputs_naming_one_file_are_refused(script, capsys, tmp_path):
    (tmp_path / "r.h5").write_bytes(b"keep")
    refuse(["run", "good.py", "--out", "r.h5", "--checkpoint", "./r.h5", "--duration", "0.01"],
           capsys, tmp_path / "r.h5", b"keep")


def test_distinct_outputs_still_run(script, capsys, tmp_path):
    assert main(["run", "good.py", "--out", "r.h5", "--duration", "0.01"]) == 0
    assert (tmp_path / "r.h5").exists()
    assert script.read_text() == SCRIPT


def test_resume_may_rewrite_its_checkpoint_but_not_into_other_outputs(tmp_path):
    ck = tmp_path / "ck.h5"
    ck.write_bytes(b"x")
    check_distinct("run", {"--resume": ck}, {"--checkpoint": ck}, may_rewrite=(("--resume", "--checkpoint"),))
    with pytest.raises(FileFormatError, match="--out"):
        check_distinct("run", {"--resume": ck}, {"--checkpoint": ck, "--out": ck},
                       may_rewrite=(("--resume", "--checkpoint"),))
