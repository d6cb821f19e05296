"""End to end: one training epoch of the reference CNN on MNIST, minigrad vs PyTorch CPU.

The reference model (REFERENCE.md: 3 conv + 2 max-pool + 2 dense, 93,322 parameters), RMSprop
(lr 1e-3, rho 0.9) and categorical cross-entropy, batch 64 over the 60,000 training images scaled
to [0, 1] (6,400 under --quick), then test accuracy on the 10,000 test images. Both frameworks see
the same images in the same batch order (one fixed permutation, no shuffling inside the epoch) at
the same thread count; initialisation follows each framework's defaults. Each epoch runs in a
process of its own so that peak memory (ru_maxrss, and VmHWM above the RSS before training) and
minor page faults, all read right after the training epoch, belong to one framework:
minigrad, PyTorch NCHW as it comes, and PyTorch's strongest setup (channels_last, glibc told to keep
freed memory through MALLOC_* variables in the child's environment).

MNIST is read from $MINIGRAD_DATA, else ../shared/data/mnist beside the repository.
"""
from __future__ import annotations

import importlib.util
import json
import math
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from benchmarks import harness

GROUP = "end-to-end: reference CNN, one MNIST epoch (RMSprop, batch 64)"
ROOT = Path(__file__).resolve().parent.parent
BATCH = 64
QUICK_IMAGES = 6_400
MARK = "@@bench-e2e-child@@ "
# torch's strongest allocator setup: no mmap/munmap per big tensor, no trimming of the heap
KEEP_MALLOC = {"MALLOC_MMAP_THRESHOLD_": "33554432", "MALLOC_MMAP_MAX_": "0",
               "MALLOC_TRIM_THRESHOLD_": "4294967296"}


def mnist_dir() -> Path:
    """$MINIGRAD_DATA, else the shared data folder beside the repository."""
    return Path(os.environ.get("MINIGRAD_DATA") or ROOT.parent / "shared" / "data" / "mnist")


def load(n_train: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train (n, 28, 28, 1) in batch order, labels, x_test, labels); x float32 in [0, 1]."""
    from minigrad.datasets import mnist

    (x_train, y_train), (x_test, y_test) = mnist.load_data(mnist_dir())
    order = np.random.default_rng(0).permutation(len(x_train))[:n_train]

    def scaled(x: np.ndarray) -> np.ndarray:
        out = x.astype(np.float32)[..., None]  # no float64 temporary of the whole set
        out /= 255.0
        return out

    return scaled(x_train[order]), y_train[order].astype(np.int64), scaled(x_test), y_test.astype(np.int64)


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


def _minigrad_epoch(data: tuple, threads: int) -> tuple[float, Callable[[], float]]:
    """(seconds for the epoch, a function returning the test accuracy)."""
    import minigrad
    from minigrad.cli.demo import reference_cnn
    from minigrad.utils import to_categorical

    minigrad.set_num_threads(threads)
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


def _torch_epoch(data: tuple, threads: int, channels_last: bool) -> tuple[float, Callable[[], float]]:
    """(seconds for the epoch, a function returning the test accuracy)."""
    import torch
    from torch import nn

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3), nn.ReLU(), nn.Flatten(),
        nn.Linear(576, 64), nn.ReLU(), nn.Linear(64, 10),
    ).to(memory_format=fmt)
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


def child(framework: str, threads: int, n_train: int) -> None:
    """In a fresh process: one epoch of `framework`, then one marked JSON line of measurements."""
    data = load(n_train)
    importlib.import_module("minigrad" if framework == "minigrad" else "torch")  # libraries: baseline
    baseline_kib = _rss_kib("VmRSS")
    epoch_peak_known = _reset_peak()
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    if framework == "minigrad":
        seconds, accuracy = _minigrad_epoch(data, threads)
    else:
        seconds, accuracy = _torch_epoch(data, threads, channels_last=framework == "torch-strong")
    # memory and faults of the training epoch, before evaluation's batches of 1,000 add their own
    result = {
        "seconds": seconds, "steps": math.ceil(n_train / BATCH),
        "faults": resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults,
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,  # KiB on Linux
        "epoch_peak_mib": (_rss_kib("VmHWM") - baseline_kib) / 1024 if epoch_peak_known else None,
    }
    result["accuracy"] = accuracy()
    print(MARK + json.dumps(result), flush=True)


def _spawn(framework: str, threads: int, n_train: int) -> dict[str, Any]:
    env = dict(os.environ, **{var: str(threads) for var in harness.THREAD_VARS})
    if framework == "torch-strong":
        env.update(KEEP_MALLOC)
    code = f"from benchmarks.bench_e2e import child; child({framework!r}, {threads}, {n_train})"
    proc = subprocess.run([sys.executable, "-X", "faulthandler", "-c", code], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    marked = [line for line in proc.stdout.splitlines() if line.startswith(MARK)]
    if proc.returncode != 0 or not marked:
        raise RuntimeError(f"bench_e2e: the {framework} epoch failed (exit {proc.returncode}): "
                           f"{proc.stderr.strip()[-2000:]}")
    return json.loads(marked[-1][len(MARK):])


def _describe(name: str, r: dict[str, Any]) -> str:
    epoch_peak = "" if r["epoch_peak_mib"] is None else f" (+{r['epoch_peak_mib']:.0f} MiB in the epoch)"
    return (f"{name}: {r['seconds']:.1f} s/epoch, test acc {r['accuracy']:.4f}, peak RSS "
            f"{r['peak_mib']:.0f} MiB{epoch_peak}, {r['faults'] / r['steps']:.0f} minor faults/step")


def run(threads: int) -> list[dict]:
    """Rows: minigrad vs torch NCHW, and vs torch channels_last with kept malloc; ms per epoch."""
    from minigrad.datasets import mnist

    missing = [n for n in mnist.FILES if not (mnist_dir() / n).is_file()]
    if missing:
        raise FileNotFoundError(f"bench_e2e: MNIST files {missing} are not in {mnist_dir()}; set "
                                "MINIGRAD_DATA to the folder that holds them")
    n_train = QUICK_IMAGES if harness.quick() else 60_000
    subset = f"{n_train:,} images" + (" (--quick subset)" if harness.quick() else "")
    mg = _spawn("minigrad", threads, n_train)
    torch_present = importlib.util.find_spec("torch") is not None
    rows = []
    for framework, setup in (("torch", "NCHW"), ("torch-strong", "channels_last + kept malloc")):
        tr = _spawn(framework, threads, n_train) if torch_present else None
        extra = _describe("minigrad", mg) + ("; " + _describe("torch", tr) if tr else "")
        rows.append(harness.row(GROUP, f"{subset}, vs torch {setup}", mg["seconds"] * 1e3,
                                tr["seconds"] * 1e3 if tr else None, extra))
        if not torch_present:
            break
    return rows


if __name__ == "__main__":
    harness.standalone(run)
