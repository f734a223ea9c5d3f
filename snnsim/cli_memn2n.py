"""``snnsim train memn2n``: End-to-end memory networks on a bAbI task (docs/memn2n.md)."""

from __future__ import annotations

import argparse


def add_parser(tasks) -> None:
    """Register ``memn2n`` in the ``train`` subcommand group."""
    p = tasks.add_parser("memn2n", help="End-to-end memory network on a bAbI task (our generator or the release)")
    p.add_argument("--task", type=int, required=True, help="bAbI task number (generator: 1, 2, 3, 6)")
    p.add_argument("--data", metavar="DIR", help="folder of qaN_*_train.txt/_test.txt (en/, en-10k/ or the "
                                                 "release's top folder); default: our generator")
    p.add_argument("--size", choices=("1k", "10k"), default="1k")
    p.add_argument("--seeds", type=int, default=1, help="train K models, keep the least training error")
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--hops", type=int, default=3)
    p.add_argument("--encoding", choices=("pe", "bow"), default="pe")
    p.add_argument("--no-linear-start", action="store_true", help="softmaxes from the start, lr 0.01")
    p.add_argument("--ls-epochs", type=int, default=20,
                   help="linear start length in epochs (the authors' code: 20); 0: until the validation loss stops falling")
    p.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    p.add_argument("--empty-fraction", type=float, default=0.1, help="random empty memories (0: none)")
    p.add_argument("--device", help="torch device (default: cuda where present, else cpu)")
    p.add_argument("--plot", metavar="PNG", help="attention over the memories of a few test stories")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--json", action="store_true", help="print the figures as one JSON object on the last line")
    p.set_defaults(func=cmd_memn2n)


def cmd_memn2n(args) -> int:
    from snnsim.cli import _table, print_json
    from snnsim.errors import NetworkError
    from snnsim.training.babi_run import BabiSpec, train_babi

    if args.plot:
        from snnsim.io.atomic import check_writable
        check_writable(args.plot)
    if args.threads is not None:
        if args.threads < 1:
            raise NetworkError("snnsim train memn2n", "--threads", f"must be >= 1, got {args.threads}")
        import torch
        torch.set_num_threads(args.threads)
    if args.ls_epochs < 0:
        raise NetworkError("snnsim train memn2n", "--ls-epochs", f"must be >= 0, got {args.ls_epochs}")
    for name in ("seeds", "epochs", "hops"):
        if getattr(args, name) < 1:
            raise NetworkError("snnsim train memn2n", f"--{name}", f"must be >= 1, got {getattr(args, name)}")
    spec = BabiSpec(task=args.task, data=args.data, size=args.size, seeds=args.seeds, epochs=args.epochs,
                    hops=args.hops, encoding=args.encoding, linear_start=not args.no_linear_start,
                    ls_epochs=args.ls_epochs or None,
                    empty_fraction=args.empty_fraction, device=args.device, progress=args.progress)
    f = train_babi(spec)
    rows = [("data", f["source"]), ("test accuracy", f"{f['test_accuracy']:.4f}"),
            ("test error", f"{100 * f['test_error']:.1f} %"), ("training error", f"{100 * f['train_error']:.1f} %"),
            ("seeds", f"{f['seeds']} (best {f['best_seed']})"), ("epochs", f"{f['epochs']}"),
            ("samples train / val / test", f"{f['train_samples']:,} / {f['val_samples']:,} / {f['test_samples']:,}"),
            ("vocabulary", f"{f['vocabulary']}"), ("parameters", f"{f['parameters']:,}"),
            ("device", f["device"]), ("wall time", f"{f['wall_s']:.1f} s")]
    _table(f"snnsim train memn2n --task {args.task}", ("figure", "value"), rows)
    if len(f["runs"]) > 1:
        _table("seeds", ("seed", "training error", "test error"),
               [(r["seed"], f"{100 * r['train_error']:.1f} %", f"{100 * r['test_error']:.1f} %") for r in f["runs"]])
    out = {k: f[k] for k in ("task", "size", "source", "device", "seeds", "best_seed", "epochs", "train_samples",
                             "val_samples", "test_samples", "vocabulary", "parameters")}
    out.update(test_accuracy=f["test_accuracy"], test_error=f["test_error"], train_error=f["train_error"],
               runs=f["runs"], wall_s=f["wall_s"])
    if args.plot:
        from snnsim.training.memn2n_plot import plot_attention
        out["plot_png"] = plot_attention(f["model"], f["test_encoded"], f["test_samples_raw"], f["vocab"], args.plot,
                                         title=f"MemN2N attention, {f['source']}")
        print(f"wrote {out['plot_png']}")
    if args.json:
        print_json(out)
    return 0
