"""Train the test-bed's :class:`~mesampler.testbed.net.MotionNet` from generated clips (CPU, a few minutes).

Usage::

    python -m mesampler.testbed.train --out src/mesampler/testbed/testbed.safetensors --seed 0

Fully determined by ``--seed`` (data from ``make_dataset(n, TRAIN_SEED)``, evaluation on
``make_dataset(n_test, TEST_SEED)``, ``torch.manual_seed(seed)``), the torch version and the thread count.
Augmentation maps each clip to a clip of a known class: a horizontal flip swaps left/right and the
rotation sense, a vertical flip swaps up/down and the rotation sense, time reversal swaps left/right,
up/down, the rotation sense and zoom in/out. Writes the weights (safetensors) and ``<out>.json``
with accuracy, n_test, seeds, train time and versions.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import time
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file
from torch import nn

from mesampler.testbed.config import CLASSES, TEST_SEED, TRAIN_SEED
from mesampler.testbed.generate import make_dataset
from mesampler.testbed.net import MEAN, STD, MotionNet

log = logging.getLogger(__name__)


def _swap(*pairs: tuple[str, str]) -> torch.Tensor:
    perm = list(range(len(CLASSES)))
    for a, b in pairs:
        i, j = CLASSES.index(a), CLASSES.index(b)
        perm[i], perm[j] = j, i
    return torch.tensor(perm)


_ROT = ("rotate_cw", "rotate_ccw")
_HFLIP = _swap(("translate_right", "translate_left"), _ROT)
_VFLIP = _swap(("translate_up", "translate_down"), _ROT)
_TFLIP = _swap(("translate_right", "translate_left"), ("translate_up", "translate_down"), _ROT, ("zoom_in", "zoom_out"))


def to_input(videos: torch.Tensor) -> torch.Tensor:
    """``(N, T, H, W, 3)`` uint8 -> ``(N, 3, T, H, W)`` float32 normalised as the registered model does."""
    x = videos.float() / 255
    x = (x - torch.tensor(MEAN)) / torch.tensor(STD)
    return x.permute(0, 4, 1, 2, 3)


def _augment(x: torch.Tensor, y: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Random label-consistent flips of ``(N, T, H, W, 3)`` uint8 clips with labels ``(N,)``."""
    for perm, dim in ((_HFLIP, 3), (_VFLIP, 2), (_TFLIP, 1)):
        flip = torch.rand(len(y), generator=gen) < 0.5
        x = torch.where(flip[:, None, None, None, None], x.flip(dim), x)
        y = torch.where(flip, perm[y], y)
    return x, y


@torch.no_grad()
def evaluate(net: nn.Module, videos: np.ndarray, labels: np.ndarray, *, batch_size: int = 64) -> float:
    """Top-1 accuracy of ``net`` on ``(N, T, H, W, 3)`` uint8 clips with labels ``(N,)``."""
    net.eval()
    correct = 0
    for i in range(0, len(labels), batch_size):
        logits = net(to_input(torch.from_numpy(videos[i : i + batch_size])))
        correct += int((logits.argmax(1).numpy() == labels[i : i + batch_size]).sum())
    return correct / max(len(labels), 1)


def train(
    *,
    seed: int = 0,
    n_train: int = 2400,
    n_test: int = 500,
    epochs: int = 12,
    batch_size: int = 32,
    lr: float = 1.5e-3,
    width: int = 8,
) -> tuple[MotionNet, dict]:
    """Train a :class:`MotionNet`; returns it (eval mode) and a record of the run (accuracy, times, config)."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    t0 = time.perf_counter()
    videos, labels, _ = make_dataset(n_train, TRAIN_SEED)
    test_videos, test_labels, _ = make_dataset(n_test, TEST_SEED)
    t_data = time.perf_counter() - t0
    log.info("generated %d train / %d test clips in %.1f s", n_train, n_test, t_data)

    net = MotionNet(len(CLASSES), width=width)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    steps = epochs * (n_train // batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.15)
    x_all, y_all = torch.from_numpy(videos), torch.from_numpy(labels)
    t1 = time.perf_counter()
    for epoch in range(epochs):
        net.train()
        order = torch.randperm(n_train, generator=gen)
        total = 0.0
        for i in range(n_train // batch_size):
            idx = order[i * batch_size : (i + 1) * batch_size]
            x, y = _augment(x_all[idx], y_all[idx], gen)
            loss = nn.functional.cross_entropy(net(to_input(x)), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
        log.info(
            "epoch %d/%d: loss %.4f (%.0f s)",
            epoch + 1,
            epochs,
            total / (n_train // batch_size),
            time.perf_counter() - t1,
        )
    t_train = time.perf_counter() - t1
    acc = evaluate(net, test_videos, test_labels)
    log.info("held-out accuracy %.4f on %d clips", acc, n_test)
    record = {
        "accuracy": acc,
        "n_test": n_test,
        "train_seed": TRAIN_SEED,
        "test_seed": TEST_SEED,
        "seed": seed,
        "n_train": n_train,
        "epochs": epochs,
        "batch_size": batch_size,
        "lr": lr,
        "width": width,
        "params": sum(p.numel() for p in net.parameters()),
        "data_seconds": round(t_data, 1),
        "train_seconds": round(t_train, 1),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "machine": f"{platform.machine()} {platform.processor() or platform.platform()}",
    }
    return net.eval(), record


def save(net: MotionNet, record: dict, out: Path) -> None:
    """Write ``out`` (safetensors weights, width in metadata) and ``out`` with suffix ``.json`` (``record``)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.contiguous() for k, v in net.state_dict().items()}
    save_file(state, str(out), metadata={"width": str(record["width"]), "classes": ",".join(CLASSES)})
    out.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", type=Path, required=True, help="weights file to write (.safetensors)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n-train", type=int, default=2400)
    p.add_argument("--n-test", type=int, default=500)
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--width", type=int, default=8)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    net, record = train(seed=args.seed, n_train=args.n_train, n_test=args.n_test, epochs=args.epochs, width=args.width)
    save(net, record, args.out)
    log.info("wrote %s (%d bytes)", args.out, args.out.stat().st_size)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
