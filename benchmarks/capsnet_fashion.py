"""Reduced CapsNet run on Fashion-MNIST (mid-size model, a training subset); prints a table, last line JSON.

    python benchmarks/capsnet_fashion.py [--limit N] [--epochs E] [--config mid|paper] [--save PT]
"""

import argparse
import json
import sys

import torch

from snnsim.capsnet.run import CapsRun, train_capsnet

p = argparse.ArgumentParser()
p.add_argument("--limit", type=int, default=12000)
p.add_argument("--epochs", type=int, default=2)
p.add_argument("--config", default="mid")
p.add_argument("--save", help="write the trained model's state_dict (torch.save)")
a = p.parse_args()
torch.set_num_threads(1)
fig, model, _ = train_capsnet(CapsRun(dataset="fashion-mnist", config=a.config, epochs=a.epochs, limit=a.limit),
                              progress=False)
if a.save:
    torch.save(model.state_dict(), a.save)
for k in ("config", "train_samples", "epochs", "parameters", "best_val_accuracy", "test_accuracy", "train_s"):
    print(f"{k:20s} {fig[k]}")
sys.stdout.flush()
print(json.dumps(fig))
