"""Every ```python block of README.md and docs/*.md runs as written, and so do README's CLI commands.

A page's blocks run in order as one script (they continue one another), in a fresh
temporary directory, in a subprocess. Pages whose blocks continue from a network built
elsewhere get the README's example network first (``CONTINUES_README``). Pages that
train for minutes or need other files are marked slow (``SLOW``: run with ``-m slow``).
A new page with a python block is picked up automatically (``test_every_page_is_covered``).
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
CONTINUES_README = {"nir.md", "netx.md"}   # these use `net` without defining it
SLOW = {"training.md": "trains digits for 30 epochs and runs Lava",
        "netx.md": "needs a Loihi-compatible network and lava-dl's netx"}


def python_blocks(path: Path) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", path.read_text(), flags=re.S | re.M)


def readme_example() -> str:
    return python_blocks(ROOT / "README.md")[0]


def _run(args, cwd, timeout=600):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               MPLBACKEND="Agg")
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{args}: exit {proc.returncode}\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    return proc


def _param(path):
    marks = [pytest.mark.slow] if path.name in SLOW else []
    return pytest.param(path, id=path.name, marks=marks)


@pytest.mark.parametrize("page", [_param(p) for p in PAGES if python_blocks(p)])
def test_python_blocks_run(page, tmp_path):
    script = "\n".join(python_blocks(page))
    if page.name in CONTINUES_README:
        script = readme_example() + "\n" + script
    (tmp_path / "example.py").write_text(script)
    _run([sys.executable, "example.py"], tmp_path)


def test_every_page_is_covered():
    # every page with a python block is collected above; each README block is one script
    assert [p.name for p in PAGES if python_blocks(p)]
    assert len(python_blocks(ROOT / "README.md")) == 1


def test_readme_cli_commands_run_on_the_readme_example(tmp_path):
    (tmp_path / "net.py").write_text(readme_example())
    text = (ROOT / "README.md").read_text()
    commands = [c for c in re.findall(r"`(snnsim run net\.py[^`]*)`", text)]
    assert "snnsim run net.py --duration 0.5 --raster net.png --json" in commands
    for command in commands:
        args = command.split()[1:]
        proc = _run([sys.executable, "-m", "snnsim.cli", *args], tmp_path)
        if "--json" in args:
            import json
            last = json.loads(proc.stdout.strip().splitlines()[-1])
            assert isinstance(last, dict)
        if "--raster" in args:
            assert (tmp_path / args[args.index("--raster") + 1]).stat().st_size > 0
