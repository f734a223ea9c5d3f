"""MemN2N (PE LS RN, 3 hops, adjacent tying) on bAbI tasks against the paper's test errors.

    python benchmarks/memn2n_babi.py [--tasks 2 3 6] [--seeds 3] [--epochs 100] [--ls-epochs 20] [--data DIR] [--size 1k]

Without ``--data`` the tasks come from our generator (snnsim.babi). For each task, ``--seeds``
models are trained and the one of least training error is kept (the paper keeps the best of 10).
Prints a table (ours, the paper's PE LS RN column of Sukhbaatar et al. 2015, table 1, and the
difference), then one JSON object on the last line.
"""

import argparse
import json
import platform
import sys
import time

import torch

from snnsim.training.babi_run import BabiSpec, train_babi

#: Sukhbaatar et al. (2015), table 1, 1k training, PE LS RN: test error per task
PAPER_PE_LS_RN = {1: 0.0, 2: 0.083, 3: 0.403, 6: 0.076}

p = argparse.ArgumentParser()
p.add_argument("--tasks", type=int, nargs="+", default=[2, 3, 6])
p.add_argument("--seeds", type=int, default=3)
p.add_argument("--epochs", type=int, default=100)
p.add_argument("--data", help="folder of the release's qaN_* files (default: our generator)")
p.add_argument("--size", choices=("1k", "10k"), default="1k")
p.add_argument("--threads", type=int, default=1)
p.add_argument("--ls-epochs", type=int, default=20, help="linear epochs before the schedule; 0: LS within it")
a = p.parse_args()
torch.set_num_threads(a.threads)

rows, results = [], {}
for task in a.tasks:
    f = train_babi(BabiSpec(task=task, data=a.data, size=a.size, seeds=a.seeds, epochs=a.epochs,
                            ls_epochs=a.ls_epochs or None, progress=False, device="cpu"))
    paper = PAPER_PE_LS_RN.get(task)
    results[task] = {"test_error": f["test_error"], "train_error": f["train_error"], "paper_test_error": paper,
                     "difference": None if paper is None else f["test_error"] - paper,
                     "best_seed": f["best_seed"], "runs": f["runs"], "wall_s": f["wall_s"], "source": f["source"]}
    rows.append((task, f["test_error"], paper, f["train_error"], f["best_seed"], f["wall_s"]))
    print(f"task {task}: test error {100 * f['test_error']:.1f} % (paper {100 * paper:.1f} %), "
          f"seeds {[round(100 * r['test_error'], 1) for r in f['runs']]}", file=sys.stderr)

print(f"{'task':>4} {'test error':>11} {'paper':>7} {'diff':>7} {'train error':>12} {'best seed':>9} {'wall s':>7}")
for task, err, paper, tr, seed, wall in rows:
    print(f"{task:>4} {100 * err:>10.1f}% {100 * paper:>6.1f}% {100 * (err - paper):>+6.1f}% {100 * tr:>11.1f}% "
          f"{seed:>9} {wall:>7.0f}")
sys.stdout.flush()
print(json.dumps({"benchmark": "memn2n_babi", "size": a.size, "seeds": a.seeds, "epochs": a.epochs, "ls_epochs": a.ls_epochs,
                  "data": a.data or "generated", "torch": torch.__version__, "python": platform.python_version(),
                  "date": time.strftime("%Y-%m-%d", time.gmtime()), "tasks": results}))
