"""End to end: one training epoch of the reference CNN on MNIST, minigrad vs PyTorch CPU.

The reference model (REFERENCE.md: 3 conv + 2 max-pool + 2 dense, 93,322 parameters), RMSprop
(lr 1e-3, rho 0.9) and categorical cross-entropy, batch 64 over the 60,000 training images scaled
to [0, 1] (6,400 under --quick), then test accuracy on the 10,000 test images (2,000). Both frameworks see
the same images in the same batch order (one fixed permutation, no shuffling inside the epoch) at
the same thread count; initialisation follows each framework's defaults. Each epoch runs in a
process of its own (harness.compare: minigrad and torch at its strongest, channels_last with kept
malloc, alternated over 2 rounds; torch as it comes is compared in bench_model's training step, to
keep the full run short), so peak memory (ru_maxrss, and VmHWM above the RSS before training) and
minor page faults, read right after the epoch, belong to one framework.

MNIST is read from $MINIGRAD_DATA, else ../shared/data/mnist beside the repository; without the
files the epoch runs on MNIST-shaped synthetic data (and the accuracy says nothing).
"""
from __future__ import annotations

import gzip
import math
import os
import resource
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from benchmarks import harness

GROUP = "end-to-end: reference CNN, one MNIST epoch (RMSprop, batch 64)"
ROOT = Path(__file__).resolve().parent.parent
BATCH = 64
QUICK_IMAGES, QUICK_TEST_IMAGES = 6_400, 2_000
FILES = {"x_train": "train-images-idx3-ubyte.gz", "y_train": "train-labels-idx1-ubyte.gz",
         "x_test": "t10k-images-idx3-ubyte.gz", "y_test": "t10k-labels-idx1-ubyte.gz"}


def mnist_dir() -> Path:
    """$MINIGRAD_DATA, else the shared data folder beside the repository."""
    return Path(os.environ.get("MINIGRAD_DATA") or ROOT.parent / "shared" / "data" / "mnist")


def _read_idx(path: Path, header: int) -> np.ndarray:
    # not minigrad.datasets.mnist: importing minigrad would apply its process-wide settings to
    # the torch process (minigrad's own loader, with its checksums, is tested in tests/)
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), np.uint8, offset=header)


def load(n_train: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, bool]:
    """(x_train (n, 28, 28, 1) in batch order, labels, x_test, labels, real); x float32 in [0, 1]."""
    folder = mnist_dir()
    real = all((folder / name).is_file() for name in FILES.values())
    if real:
        raw = {k: _read_idx(folder / name, 16 if k.startswith("x") else 8) for k, name in FILES.items()}
        raw["x_train"], raw["x_test"] = (raw[k].reshape(-1, 28, 28) for k in ("x_train", "x_test"))
    else:  # MNIST-shaped stand-in: same sizes and dtypes, so the same work per step
        rng = np.random.default_rng(0)
        raw = {"x_train": rng.integers(0, 256, (60_000, 28, 28), dtype=np.uint8),
               "y_train": rng.integers(0, 10, 60_000).astype(np.uint8),
               "x_test": rng.integers(0, 256, (10_000, 28, 28), dtype=np.uint8),
               "y_test": rng.integers(0, 10, 10_000).astype(np.uint8)}
    order = np.random.default_rng(0).permutation(len(raw["x_train"]))[:n_train]

    def scaled(x: np.ndarray) -> np.ndarray:
        out = x.astype(np.float32)[..., None]  # no float64 temporary of the whole set
        out /= 255.0
        return out

    n_test = QUICK_TEST_IMAGES if harness.quick() else len(raw["x_test"])
    return (scaled(raw["x_train"][order]), raw["y_train"][order].astype(np.int64),
            scaled(raw["x_test"][:n_test]), raw["y_test"][:n_test].astype(np.int64), real)


def _rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0), so the peak measured is the epoch's own."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _minigrad_epoch(data: list) -> tuple[float, Callable[[], float]]:
    """(seconds for the epoch, a function returning the test accuracy)."""
    import minigrad
    from minigrad.cli.demo import reference_cnn
    from minigrad.utils import to_categorical

    minigrad.set_seed(0)
    x, y, x_test, y_test = data
    model = reference_cnn()
    # the reference recipe: one-hot labels and categorical cross-entropy
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
    y_onehot = to_categorical(y, 10)
    start = time.perf_counter()
    model.fit(x, y_onehot, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    seconds = time.perf_counter() - start

    def accuracy() -> float:
        return float(model.evaluate(x_test, to_categorical(y_test, 10), batch_size=1000, verbose=0)[1])

    return seconds, accuracy


def _torch_epoch(data: list, channels_last: bool) -> tuple[float, Callable[[], float]]:
    """(seconds for the epoch, a function returning the test accuracy)."""
    import torch
    from torch import nn

    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = harness.torch_reference_cnn(torch).to(memory_format=fmt)
    # Keras' RMSprop defaults; softmax + categorical cross-entropy fused as CrossEntropyLoss on logits
    optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-3, alpha=0.9, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()
    x, y, x_test, y_test = data
    # (N, 28, 28, 1) NHWC with one channel has the memory layout of (N, 1, 28, 28) NCHW
    x_t = torch.from_numpy(x).reshape(len(x), 1, 28, 28)
    y_t = torch.from_numpy(y)
    start = time.perf_counter()
    for lo in range(0, len(x), BATCH):
        xb = x_t[lo:lo + BATCH].contiguous(memory_format=fmt)
        optimizer.zero_grad(set_to_none=True)
        loss_fn(model(xb), y_t[lo:lo + BATCH]).backward()
        optimizer.step()
    seconds = time.perf_counter() - start

    def accuracy() -> float:
        correct = 0
        with torch.no_grad():
            xt = torch.from_numpy(x_test).reshape(len(x_test), 1, 28, 28)
            for lo in range(0, len(xt), 1000):
                pred = model(xt[lo:lo + 1000].contiguous(memory_format=fmt)).argmax(1).numpy()
                correct += int((pred == y_test[lo:lo + 1000]).sum())
        return correct / len(x_test)

    return seconds, accuracy


def measure(side: harness.Side, threads: int) -> dict[str, dict[str, Any]]:
    """In one side's process: one epoch, its memory and faults, then the test accuracy."""
    n_train = QUICK_IMAGES if harness.quick() else 60_000
    *data, real = load(n_train)
    baseline_kib = _rss_kib("VmRSS")  # the framework is imported already (harness.setup_framework)
    epoch_peak_known = _reset_peak()
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    if side.framework == "minigrad":
        seconds, accuracy = _minigrad_epoch(data)
    else:
        seconds, accuracy = _torch_epoch(data, channels_last=side.channels_last)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    # memory and faults of the training epoch, before evaluation's batches of 1,000 add their own
    result = {
        "ms": seconds * 1e3, "faults": (usage.ru_minflt - faults) / math.ceil(n_train / BATCH),
        "peak_mib": usage.ru_maxrss / 1024,  # KiB on Linux
        "epoch_peak_mib": (_rss_kib("VmHWM") - baseline_kib) / 1024 if epoch_peak_known else None,
    }
    result["accuracy"] = accuracy()
    data_name = "MNIST" if real else "synthetic MNIST-shaped data (accuracy meaningless)"
    subset = f"{n_train:,} images" + (" (--quick subset)" if harness.quick() else "")
    return {f"one epoch, {subset} of {data_name}": result}


def _describe_one(name: str, r: dict[str, Any]) -> str:
    epoch_peak = "" if r["epoch_peak_mib"] is None else f" (+{r['epoch_peak_mib']:.0f} MiB in the epoch)"
    return (f"{name}: {r['ms'] / 1e3:.1f} s/epoch, test acc {r['accuracy']:.4f}, peak RSS "
            f"{r['peak_mib']:.0f} MiB{epoch_peak}, {r['faults']:.0f} minor faults/step")


def _describe(case: str, mine: dict, theirs: dict | None) -> str:
    return _describe_one("minigrad", mine) + ("; " + _describe_one("torch", theirs) if theirs else "")


def run(threads: int) -> list[dict[str, Any]]:
    """Rows: minigrad vs torch channels_last with kept malloc; ms per epoch."""
    rows, _ = harness.compare(__name__, GROUP, threads, full_rounds=2,
                              sides=(harness.MINIGRAD, harness.TORCH_BEST), describe=_describe)
    for r in rows:
        if r["side"] and "of MNIST" in r["base_case"] and "--quick" not in r["base_case"]:
            r["readme"] = "one MNIST epoch, reference CNN (60,000 images, batch 64)"
    return rows


if __name__ == "__main__":
    harness.standalone(run)
