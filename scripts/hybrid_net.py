"""Hybrid-Net on MNIST: pick the binary layers to promote to k bits by PCA, train the mixed-precision
and full-precision networks, and write their checkpoints (atomically).

    python scripts/hybrid_net.py --epochs-mixed 6 --epochs-fp 6

1. loads the binary ``mnist-cnn`` checkpoint (``--binary``, default the shipped one; train it
   first with ``scripts/train_pretrained.py --model mnist-cnn`` if it is missing);
2. counts, per layer, the principal components explaining ``--variance`` (99.9 %) of the
   BatchNorm outputs before each sign on the first ``--pca-images`` training images
   (:func:`mapping.networks.hybridnet.pca_component_counts`) and selects the layers whose count
   rises by at least ``--margin`` (2) over the previous layer's
   (:func:`~mapping.networks.hybridnet.select_layers`);
3. builds ``mnist-cnn-mixed`` promoting the selected layers to ``--bits`` (2) bits (LSQ
   quantisers), initialised from the binary checkpoint wherever names and shapes match (its
   weights are the stored ±1 signs; each LSQ weight step is re-initialised from them), and
   trains it; if the selection is empty it promotes the layer with the largest count rise
   instead and says so in the metadata (the selection's own answer is recorded either way);
4. trains ``mnist-cnn-fp`` (full precision) from scratch as the reference;
5. reports the MNIST test accuracy of binary, mixed and full precision, checks that each
   written checkpoint reloads to the same test predictions (plain torch evaluation), and
   records the PCA counts, the selection, the settings, this command and the accuracies in the
   metadata of ``mnist-cnn-mixed.bnn`` and ``mnist-cnn-fp.bnn`` (``--out-dir``, default
   ``mapping/networks/pretrained``).
"""
from __future__ import annotations

import argparse
import math
import platform
import shlex
import sys
import time
from pathlib import Path

import torch
from tqdm.auto import tqdm

from mapping.networks import architectures, checkpoints
from mapping.networks.data import load_mnist
from mapping.networks.hybridnet import pca_component_counts, select_layers
from mapping.networks.training import evaluate, predict, train


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--binary", type=Path, default=checkpoints.PRETRAINED_DIR / f"mnist-cnn{checkpoints.SUFFIX}",
                   help="binary mnist-cnn checkpoint to analyse and initialise from")
    p.add_argument("--out-dir", type=Path, default=checkpoints.PRETRAINED_DIR, help="folder for the two checkpoints")
    p.add_argument("--pca-images", type=int, default=2000, help="training images for the PCA (>= 1)")
    p.add_argument("--variance", type=float, default=0.999, help="explained-variance threshold, in (0, 1]")
    p.add_argument("--margin", type=int, default=2, help="count rise that makes a layer significant (>= 1)")
    p.add_argument("--bits", type=int, default=2, help="weight and activation bits of promoted layers")
    p.add_argument("--epochs-mixed", type=int, default=6, help="training epochs of the mixed network (>= 1)")
    p.add_argument("--epochs-fp", type=int, default=6, help="training epochs of the full-precision network (>= 1)")
    p.add_argument("--lr-mixed", type=float, default=1e-3, help="initial Adam learning rate of the mixed network")
    p.add_argument("--lr-fp", type=float, default=2e-3, help="initial Adam learning rate of the full-precision network")
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--seed", type=int, default=0, help="seed for initialisation and shuffling (>= 0)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.add_argument("--train-limit", type=int, default=None, help="use only the first N training images (smoke runs)")
    p.add_argument("--eval-limit", type=int, default=None, help="use only the first N validation and test images (smoke runs)")
    p.add_argument("--no-progress", action="store_true", help="hide the tqdm progress bars")
    args = p.parse_args(argv)
    for name, lo in (("pca_images", 1), ("margin", 1), ("bits", 1), ("epochs_mixed", 1), ("epochs_fp", 1), ("batch_size", 1),
                     ("seed", 0), ("threads", 1), ("train_limit", 1), ("eval_limit", 1)):
        value = getattr(args, name)
        if value is not None and value < lo:
            p.error(f"--{name.replace('_', '-')}={value} is out of range; allowed: >= {lo}")
    if not 0 < args.variance <= 1:
        p.error(f"--variance={args.variance} is out of range; allowed: > 0 and <= 1")
    for name in ("lr_mixed", "lr_fp"):
        if not getattr(args, name) > 0:
            p.error(f"--{name.replace('_', '-')}={getattr(args, name)} is out of range; allowed: > 0")
    if not args.binary.is_file():
        p.error(f"--binary={args.binary} does not exist; train it with: python scripts/train_pretrained.py --model mnist-cnn")
    if not args.out_dir.is_dir():
        p.error(f"--out-dir={args.out_dir} is not a folder")
    return args


def promotion(counts, selection: list[str]) -> tuple[list[str], str]:
    """The layers to promote and why: the selection, or (if it is empty) the middle layer with the
    largest count rise over its predecessor (first one on a tie)."""
    if selection:
        return selection, "Hybrid-Net selection"
    names, values = list(counts["layer"]), [int(v) for v in counts["components"]]
    rises = {names[i]: values[i] - values[i - 1] for i in range(1, len(names) - 1)}
    if not rises:
        raise SystemExit(f"the network has no middle layer to promote (layers: {names})")
    best = max(rises, key=rises.get)
    return [best], f"selection empty: promoted {best}, the layer with the largest count rise ({rises[best]})"


def init_from_binary(mixed: torch.nn.Module, binary: torch.nn.Module) -> list[str]:
    """Copy every binary-model tensor whose name and shape match into ``mixed``; re-initialise each
    LSQ weight step from the copied weights (quant's initial rule, 2·mean|w|/sqrt(Q)). Returns the keys copied."""
    source, target = binary.state_dict(), mixed.state_dict()
    copied = {k: v.to(target[k].dtype) for k, v in source.items() if k in target and target[k].shape == v.shape}
    mixed.load_state_dict(copied, strict=False)
    with torch.no_grad():
        for m in mixed.modules():
            if getattr(m, "quantized", False) and m.weight_step is not None:
                m.weight_step.copy_((2 * m.weight.abs().mean() / math.sqrt(m.weight_levels)).clamp_min(1e-4))
    return sorted(copied)


def _check_reload(model, path: Path, images: torch.Tensor) -> None:
    back = checkpoints.load(path, arch=model.arch)
    if not torch.equal(predict(back, images), predict(model, images)):
        raise RuntimeError(f"checkpoint {path} does not reproduce the trained model's test predictions")


def _log(name: str):
    def log(row: dict) -> None:
        tqdm.write(f"{name} epoch {row['epoch']:3d}  loss {row['train_loss']:.4f}  val {100 * row['val_accuracy']:.2f} %")
    return log


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    command = "python scripts/hybrid_net.py " + shlex.join(sys.argv[1:] if argv is None else argv)
    torch.set_num_threads(args.threads)
    x_train, y_train = load_mnist("train")
    if args.train_limit is not None:
        x_train, y_train = x_train[: args.train_limit], y_train[: args.train_limit]
    val, test = load_mnist("val"), load_mnist("test")
    if args.eval_limit is not None:
        val, test = ((x[: args.eval_limit], y[: args.eval_limit]) for x, y in (val, test))
    binary = checkpoints.load(args.binary, arch="mnist-cnn")
    binary_accuracy = evaluate(binary, *test)

    t0 = time.process_time()
    counts = pca_component_counts(binary, x_train[: args.pca_images], variance=args.variance)
    selection = select_layers(counts, margin=args.margin)
    promote, reason = promotion(counts, selection)
    pca_seconds = time.process_time() - t0
    print(counts.to_string(index=False), flush=True)
    print(f"selection (margin {args.margin}): {selection}; promoting {promote} ({reason})", flush=True)
    shared = {
        "pca_counts": counts.to_dict(orient="records"), "pca_images": min(args.pca_images, len(x_train)),
        "pca_variance": args.variance, "pca_seconds_cpu": round(pca_seconds, 1), "selection_margin": args.margin,
        "selection": selection, "promoted": promote, "promotion_reason": reason,
        "binary_checkpoint": args.binary.name, "binary_test_accuracy": binary_accuracy,
        "train_images": len(x_train), "val_images": len(val[0]), "test_images": len(test[0]), "seed": args.seed, "batch_size": args.batch_size,
        "threads": args.threads, "command": command, "torch_version": torch.__version__,
        "python_version": platform.python_version(),
    }

    results = {"mnist-cnn": binary_accuracy}
    runs = [("mnist-cnn-mixed", {"promote": promote, "bits": args.bits, "method": "lsq"}, args.epochs_mixed, args.lr_mixed),
            ("mnist-cnn-fp", {}, args.epochs_fp, args.lr_fp)]
    for arch, hparams, epochs, lr in runs:
        torch.manual_seed(args.seed)
        model = architectures.build(arch, **hparams)
        extra = {"initialised_from": {"checkpoint": args.binary.name, "tensors": init_from_binary(model, binary)}} \
            if arch == "mnist-cnn-mixed" else {"initialised_from": "random (torch.manual_seed(seed))"}
        t0 = time.process_time()
        history = train(model, x_train, y_train, epochs=epochs, batch_size=args.batch_size, lr=lr, seed=args.seed,
                        val=val, progress=not args.no_progress, log=_log(arch))
        seconds = time.process_time() - t0
        accuracy = evaluate(model, *test)
        metadata = {"test_accuracy": accuracy, "val_accuracy": history[-1]["val_accuracy"], "epochs": epochs, "lr": lr,
                    "train_seconds_cpu": round(seconds, 1), "history": history, **extra, **shared}
        path = checkpoints.save(model, args.out_dir / f"{arch}{checkpoints.SUFFIX}", metadata)
        _check_reload(model, path, test[0])
        results[arch] = accuracy
        print(f"{arch}: test accuracy {100 * accuracy:.2f} % after {epochs} epochs ({seconds:.0f} s CPU) -> {path}", flush=True)
    print("test accuracy: " + ", ".join(f"{k} {100 * v:.2f} %" for k, v in results.items()), flush=True)
    return results


if __name__ == "__main__":
    main()
