"""Scripted mutation testing: plant one small bug at a time, run a quick test subset, restore.

    python scripts/mutation.py --files kernels/neurons.py snnsim/discretize.py \
        --tests tests/test_bite.py tests/test_reference.py --sample 20 --seed 1 --timeout 300

Mutations (on the AST, one node per mutant): comparison swaps (``>``/``>=``, ``<``/``<=``,
``==``/``!=``), arithmetic swaps (``+``/``-``, ``*``/``/``, ``<<``/``>>``), integer constants
off by one, unary minus removed, and an ``if`` test negated. Mutants are written
(``ast.unparse``) into a private copy of the repository in a temporary directory, and
the tests run there, so the working tree is never touched and can be used meanwhile;
each mutated file is restored in a ``finally`` (also on Ctrl-C) and checked byte for byte.
A mutant is *killed* if the tests fail or time out, *survived* if they pass.
Prints one line per mutant (with a diff for survivors); the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import ast
import copy
import difflib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

SWAPS = {ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Eq: ast.NotEq,
         ast.NotEq: ast.Eq, ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
         ast.LShift: ast.RShift, ast.RShift: ast.LShift}


def sites(tree: ast.AST) -> list[tuple[int, str]]:
    """(node index in ast.walk order, kind) of every mutable node."""
    out = []
    for i, node in enumerate(ast.walk(tree)):
        if isinstance(node, ast.Compare) and type(node.ops[0]) in SWAPS:
            out.append((i, "compare"))
        elif isinstance(node, ast.BinOp) and type(node.op) in SWAPS:
            out.append((i, "binop"))
        elif isinstance(node, ast.Constant) and type(node.value) is int and not isinstance(node.value, bool):
            out.append((i, "const+1"))
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            out.append((i, "drop-minus"))
        elif isinstance(node, ast.If):
            out.append((i, "negate-if"))
    return out


def mutate(source: str, index: int, kind: str) -> str:
    tree = ast.parse(source)
    parent = {c: p for p in ast.walk(tree) for c in ast.iter_child_nodes(p)}
    node = list(ast.walk(tree))[index]
    if kind == "compare":
        node.ops[0] = SWAPS[type(node.ops[0])]()
    elif kind == "binop":
        node.op = SWAPS[type(node.op)]()
    elif kind == "const+1":
        node.value += 1
    elif kind == "drop-minus":
        p = parent[node]
        for field, value in ast.iter_fields(p):
            if value is node:
                setattr(p, field, node.operand)
            elif isinstance(value, list):
                setattr(p, field, [node.operand if v is node else v for v in value])
    elif kind == "negate-if":
        node.test = ast.UnaryOp(ast.Not(), node.test)
    return ast.unparse(tree) + "\n"


def run_tests(tests: list[str], timeout: float, root: str) -> str:
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", PYTHONPATH=root)
    try:
        proc = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests],
                              env=env, cwd=root, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "killed (timeout)"
    return "survived" if proc.returncode == 0 else "killed"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", nargs="+", required=True)
    ap.add_argument("--tests", nargs="+", required=True)
    ap.add_argument("--sample", type=int, default=0, help="mutants per file (0: all)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds per mutant")
    args = ap.parse_args(argv)
    if args.sample < 0 or args.timeout <= 0:
        ap.error("--sample must be >= 0 and --timeout > 0")
    rng = random.Random(args.seed)
    results = []
    with tempfile.TemporaryDirectory(prefix="snnsim-mutation-") as tmp:
        root = os.path.join(tmp, "repo")
        shutil.copytree(".", root, symlinks=True,
                        ignore=shutil.ignore_patterns(".git", ".venv", "__pycache__", "*.h5", "*.png", "data"))
        for path in args.files:
            _mutate_file(path, root, args, rng, results)
    _report(results)
    return 0


def _mutate_file(path, root, args, rng, results):
    if True:
        target = os.path.join(root, path)
        original = open(target, "rb").read()
        text = original.decode()
        baseline = ast.unparse(ast.parse(text)) + "\n"
        chosen = sites(ast.parse(text))
        if args.sample and len(chosen) > args.sample:
            chosen = sorted(rng.sample(chosen, args.sample))
        try:
            for index, kind in chosen:
                mutant = mutate(text, index, kind)
                if mutant == baseline:
                    continue
                with open(target, "w") as f:
                    f.write(mutant)
                t0 = time.perf_counter()
                outcome = run_tests(args.tests, args.timeout, root)
                diff = "".join(difflib.unified_diff(baseline.splitlines(True), mutant.splitlines(True),
                                                    path, path, n=0))
                results.append({"file": path, "node": index, "kind": kind, "outcome": outcome,
                                "seconds": round(time.perf_counter() - t0, 1), "diff": diff})
                print(f"{outcome:18s} {path}:{index} {kind} ({results[-1]['seconds']} s)", flush=True)
                if outcome == "survived":
                    print(diff, flush=True)
        finally:
            with open(target, "wb") as f:
                f.write(original)
            assert open(target, "rb").read() == original, f"{path} was not restored"


def _report(results):
    killed = sum(r["outcome"].startswith("killed") for r in results)
    print(json.dumps({"mutants": len(results), "killed": killed, "survived": len(results) - killed,
                      "kill_rate": round(killed / len(results), 4) if results else None,
                      "survivors": [{k: r[k] for k in ("file", "node", "kind", "diff")}
                                    for r in results if r["outcome"] == "survived"]}))


if __name__ == "__main__":
    raise SystemExit(main())
