"""Training and evaluation of BNNs: Adam on latent weights clipped to [−1, 1], cosine LR decay."""
from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from mapping.networks.data import N_CLASSES, check_dataset
from photonics.validation import check_int, check_positive, check_seed

__all__ = ["train", "evaluate", "predict", "clip_latent_weights"]


def clip_latent_weights(model: nn.Module) -> None:
    """Clip the latent real weights of every binary layer to [−1, 1] (in place)."""
    with torch.no_grad():
        for m in model.modules():
            if getattr(m, "binary", False):
                m.weight.clamp_(-1.0, 1.0)


def _final(out):
    """The logits of a model's output: a tensor, or the last of a multi-exit model's tuple."""
    return out[-1] if isinstance(out, (tuple, list)) else out


def predict(model: nn.Module, images: torch.Tensor, batch_size: int = 250) -> torch.Tensor:
    """Eval-mode class predictions (int64; of the last exit of a multi-exit model) in batches;
    restores the training flag."""
    batch_size = check_int("batch_size", batch_size, lo=1)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            return torch.cat([_final(model(images[i : i + batch_size])).argmax(1) for i in range(0, len(images), batch_size)])
    finally:
        model.train(was_training)


def evaluate(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 250) -> float:
    """Eval-mode accuracy (fraction correct) on (images, labels)."""
    images, labels = check_dataset(images, labels, image_shape=getattr(model, "input_shape", None))
    return float((predict(model, images, batch_size) == labels).double().mean())


def train(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, *, epochs: int, batch_size: int = 100,
          lr: float = 1e-3, seed: int = 0, val: tuple | None = None, progress: bool = True,
          log: Callable[[dict], None] | None = None, loss: Callable | None = None) -> list[dict]:
    """Train with cross-entropy (or ``loss(model_output, labels)``, e.g.
    :func:`mapping.networks.hybrid.joint_loss`), Adam and a per-step cosine LR decay to 0; returns per-epoch history.

    Each history row: ``epoch``, ``train_loss`` (mean over the epoch's batches), ``lr`` (at the
    epoch's end) and, when ``val = (images, labels)`` is given, ``val_accuracy`` (of the last exit); ``log`` is
    called with each row as soon as its epoch ends.
    Shuffling uses ``torch.Generator().manual_seed(seed)``.
    """
    epochs = check_int("epochs", epochs, lo=1)
    batch_size = check_int("batch_size", batch_size, lo=1)
    lr = check_positive("lr", lr)
    seed = check_seed("seed", seed)
    shape = getattr(model, "input_shape", None)
    images, labels = check_dataset(images, labels, n_classes=N_CLASSES, image_shape=shape)
    if val is not None:
        val = check_dataset(*val, n_classes=N_CLASSES, image_shape=shape)
    loss_fn = F.cross_entropy if loss is None else loss
    gen = torch.Generator().manual_seed(seed)
    steps = math.ceil(len(images) / batch_size)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: 0.5 * (1.0 + math.cos(math.pi * min(k, epochs * steps) / (epochs * steps))))
    history = []
    for epoch in range(1, epochs + 1):
        model.train()
        order = torch.randperm(len(images), generator=gen)
        total, bar = 0.0, tqdm(range(steps), desc=f"epoch {epoch}/{epochs}", disable=not progress, leave=False)
        for k in bar:
            idx = order[k * batch_size : (k + 1) * batch_size]
            batch_loss = loss_fn(model(images[idx]), labels[idx])
            opt.zero_grad(set_to_none=True)
            batch_loss.backward()
            opt.step()
            sched.step()
            clip_latent_weights(model)
            value = batch_loss.item()
            total += value
            if k % 50 == 0:
                bar.set_postfix(loss=f"{value:.3f}")
        bar.close()
        row = {"epoch": epoch, "train_loss": total / steps, "lr": opt.param_groups[0]["lr"]}
        if val is not None:
            row["val_accuracy"] = evaluate(model, *val)
        history.append(row)
        if log is not None:
            log(row)
    model.eval()
    return history
