"""``snnsim train capsnet``: train a CapsNet, print a table, optionally --json and --plot."""

from __future__ import annotations

import argparse


def add_capsnet_parser(tasks) -> None:
    """Register ``capsnet`` under the ``snnsim train`` subcommands."""
    p = tasks.add_parser("capsnet", help="Capsule Network with dynamic routing (Sabour et al. 2017)")
    p.add_argument("--dataset", default="digits", help="digits, fashion-mnist or idx:DIR (default digits)")
    p.add_argument("--config", choices=("small", "mid", "paper"), help="model size (default small for digits, "
                   "mid otherwise)")
    p.add_argument("--epochs", type=int, default=25)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--routing-iterations", type=int, default=3)
    p.add_argument("--shift", type=int, default=None,
                   help="random shifts up to N px (default: the config's: 2 on 28x28, 1 on 8x8)")
    p.add_argument("--limit", type=int, help="use only the first N training samples")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", help="torch device (default cuda if available, else cpu)")
    p.add_argument("--checkpoint", metavar="H5", help="checkpoint written after every epoch")
    p.add_argument("--resume", action="store_true", help="continue from --checkpoint")
    p.add_argument("--plot", metavar="PNG", help="reconstructions and capsule-dimension perturbations")
    p.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--json", action="store_true", help="print the figures as one JSON object on the last line")
    p.set_defaults(func=cmd_capsnet)


def cmd_capsnet(args) -> int:
    import dataclasses

    import torch

    from snnsim.capsnet.model import CONFIGS
    from snnsim.capsnet.run import CapsRun, train_capsnet
    from snnsim.cli import _table, print_json
    from snnsim.errors import NetworkError

    for name in ("checkpoint", "plot"):
        if getattr(args, name):
            from snnsim.io.atomic import check_writable
            check_writable(getattr(args, name))
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.routing_iterations < 1:
        raise NetworkError("capsnet", "routing_iterations", f"must be >= 1, got {args.routing_iterations}")
    config = args.config or ("small" if args.dataset == "digits" else "mid")
    run = CapsRun(dataset=args.dataset, config=config, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                  max_shift=args.shift, seed=args.seed, limit=args.limit,
                  device=args.device or ("cuda" if torch.cuda.is_available() else "cpu"),
                  iterations=args.routing_iterations)
    figures, model, ds = train_capsnet(run, checkpoint=args.checkpoint, resume=args.resume, progress=args.progress)
    rows = [("test accuracy", f"{figures['test_accuracy']:.4f}"),
            ("best validation accuracy", f"{figures['best_val_accuracy']:.4f}"),
            ("epochs", str(figures["epochs"])), ("training samples", f"{figures['train_samples']:,}"),
            ("test samples", f"{figures['test_samples']:,}"),
            ("model", f"{config}: {model.config.n_primary} primary capsules, routing x{model.config.iterations}"),
            ("parameters", f"{figures['parameters']:,} ({figures['parameters_without_decoder']:,} without decoder)"),
            ("device", figures["device"]), ("training time", f"{figures['train_s']:.1f} s")]
    _table(f"snnsim train capsnet --dataset {args.dataset}", ("figure", "value"), rows)
    if args.plot:
        from snnsim.capsnet.plot import capsnet_figure
        x, y = ds.test[0][:8], ds.test[1][:8]
        figures["plot_png"] = str(capsnet_figure(model, torch.as_tensor(x), y, args.plot,
                                                 title=f"CapsNet ({config}) on {args.dataset}"))
        print(f"wrote {figures['plot_png']}")
    if args.json:
        print_json(figures)
    return 0
