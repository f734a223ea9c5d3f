"""The direction of imports, read from the source: engines are spokes that never import each
other, ``snnsim.io`` imports no engine, and the description imports neither engines nor I/O.
The plan imports no kernel (it is backend-neutral)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from snnsim.backends.base import REGISTRY

ROOT = Path(__file__).resolve().parent.parent
BACKENDS = ROOT / "backends"
#: the description: what a network is, how its time is discretised and planned, what a run returns
DESCRIPTION = ["network.py", "models.py", "connectivity.py", "distributions.py", "units.py", "errors.py",
               "discretize.py", "plan.py", "changes.py", "results.py"]


def imported(path: Path, package: str) -> set[str]:
    """Absolute names of every module ``path`` imports (relative imports resolved within ``package``)."""
    tree = ast.parse(path.read_text(), str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = parts[:len(parts) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def engine_files(name: str) -> tuple[list[Path], str]:
    package = BACKENDS / name
    if package.is_dir():
        return sorted(package.glob("*.py")), f"snnsim.backends.{name}"
    return [BACKENDS / f"{name}.py"], "snnsim.backends"


def engines_in(names: set[str]) -> set[str]:
    """The engines named by a set of imported modules."""
    out = set()
    for n in names:
        for engine in REGISTRY:
            if n == f"snnsim.backends.{engine}" or n.startswith(f"snnsim.backends.{engine}."):
                out.add(engine)
    return out


@pytest.mark.parametrize("engine", list(REGISTRY))
def test_no_engine_imports_another(engine):
    files, package = engine_files(engine)
    assert files and all(f.exists() for f in files)
    for path in files:
        others = engines_in(imported(path, package)) - {engine}
        assert not others, f"{path.relative_to(ROOT)} imports the engines {sorted(others)}"


def test_shared_engine_modules_import_no_engine():
    for name in ("base.py", "capabilities.py", "options.py", "common.py", "__init__.py"):
        found = engines_in(imported(BACKENDS / name, "snnsim.backends"))
        assert not found, f"backends/{name} imports {sorted(found)}"


def test_io_imports_no_engine():
    files = sorted((ROOT / "snnsim" / "io").glob("*.py"))
    assert len(files) >= 5
    for path in files:
        names = imported(path, "snnsim.io")
        bad = sorted(n for n in names if n.startswith("snnsim.backends"))
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


@pytest.mark.parametrize("module", DESCRIPTION)
def test_the_description_imports_no_engine_and_no_io(module):
    names = imported(ROOT / "snnsim" / module, "snnsim")
    bad = sorted(n for n in names if n.startswith(("snnsim.backends", "snnsim.io")))
    assert not bad, f"snnsim/{module} imports {bad}"


def test_the_plan_imports_no_kernel():
    names = imported(ROOT / "snnsim" / "plan.py", "snnsim")
    assert not [n for n in names if n.startswith("snnsim.kernels") or n.startswith("numba")]


def test_the_reader_sees_relative_imports():
    """The check itself: a relative import of another engine is seen (so the tests above can fail)."""
    tmp = ROOT / "tests" / "_imports_probe.py"
    try:
        tmp.write_text("from ..event import engine\nfrom . import packing\nimport snnsim.backends.lava\n")
        names = imported(tmp, "snnsim.backends.cpu")
    finally:
        tmp.unlink()
    assert engines_in(names) == {"event", "cpu", "lava"}
