"""The reference Keras CNN end to end: RMSprop training step (batch 64) and inference (batch 1000).

minigrad is timed through `model.fit` (shuffling, batching, callbacks, metrics included: the
per-step time is one fit over FIT_STEPS batches divided by FIT_STEPS) and `model.predict`. PyTorch
runs the equivalent `nn.Sequential` (logits + CrossEntropyLoss, RMSprop with Keras' rho/eps) with
a hand-written loop that also gathers each shuffled batch, in the same process and thread count:
NCHW as it comes, channels_last, and channels_last after telling glibc to keep freed memory (its
strongest setup here; minigrad is re-measured under it too). Extra columns: steps/s and the
projected seconds for one 60,000-image epoch (938 steps). Target: ratio <= 1.0 (aim 0.75) against
the strongest torch. A third case, a training step on batch 1, shows the per-step framework
overhead (Python, dispatch, fit loop) where the kernels have almost nothing to do.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from benchmarks import harness
from benchmarks.bench_conv import _faults_per_call

GROUP = "model"
BATCH, PREDICT_BATCH, EPOCH_IMAGES = 64, 1000, 60_000
FIT_STEPS = 20


def _data(n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.random((n, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, n)


def reference_model() -> Any:
    """The REFERENCE.md CNN, compiled as in the Keras tutorial."""
    from minigrad.cli.demo import reference_cnn

    model = reference_cnn()
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def _minigrad_cases() -> dict[str, Callable[[], object]]:
    import minigrad

    minigrad.set_seed(0)
    model = reference_model()
    x, labels = _data(BATCH * FIT_STEPS)
    y = minigrad.to_categorical(labels, 10)
    x_test, _ = _data(PREDICT_BATCH)
    model.fit(x[:BATCH * 2], y[:BATCH * 2], batch_size=BATCH, verbose=0)  # build + pack the optimizer
    return {
        "train step": lambda: model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0),
        "overhead step": lambda: model.fit(x[:FIT_STEPS], y[:FIT_STEPS], batch_size=1, epochs=1, verbose=0),
        "predict": lambda: model.predict(x_test, batch_size=PREDICT_BATCH, verbose=0),
    }


def _torch_cases(torch: Any, channels_last: bool) -> dict[str, Callable[[], object]]:
    nn = torch.nn
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3), nn.ReLU(), nn.Flatten(),
        nn.Linear(576, 64), nn.ReLU(), nn.Linear(64, 10))
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    net = net.to(memory_format=fmt)
    opt = torch.optim.RMSprop(net.parameters(), lr=1e-3, alpha=0.9, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()
    x_np, labels = _data(BATCH * FIT_STEPS)
    x = torch.from_numpy(x_np).permute(0, 3, 1, 2).contiguous()
    y = torch.from_numpy(labels)
    x_test = torch.from_numpy(_data(PREDICT_BATCH)[0]).permute(0, 3, 1, 2).contiguous().to(memory_format=fmt)

    def epoch(n: int = len(x), batch: int = BATCH) -> None:
        order = torch.randperm(n)
        for start in range(0, n, batch):
            idx = order[start:start + batch]
            xb, yb = x[idx].contiguous(memory_format=fmt), y[idx]
            opt.zero_grad()
            loss_fn(net(xb), yb).backward()
            opt.step()

    def predict() -> None:
        with torch.no_grad():
            net(x_test)

    epoch()
    return {"train step": epoch, "overhead step": lambda: epoch(FIT_STEPS, 1), "predict": predict}


def _measure(cases: dict[str, Callable[[], object]]) -> dict[str, tuple[float, float]]:
    """(median ms, minor page faults) per training step (one call = FIT_STEPS steps) / per predict."""
    out = {}
    for case, fn in cases.items():
        per = 1 if case == "predict" else FIT_STEPS
        ms = harness.median_ms(fn, warmup=1, repeat=7, min_time=0.0)
        out[case] = (ms / per, _faults_per_call(fn, calls=2) / per)
    return out


def _extra(case: str, ms: float, faults: float) -> str:
    if case == "overhead step":
        return f"{faults:.0f} faults/step"
    if case == "train step":
        steps = math.ceil(EPOCH_IMAGES / BATCH)
        return f"{1e3 / ms:.0f} steps/s, {ms * steps / 1e3:.1f} s per 60k epoch, {faults:.0f} faults/step"
    return f"{PREDICT_BATCH * 1e3 / ms:.0f} images/s, {faults:.0f} faults/call"


def run(threads: int) -> list[dict]:
    """Rows: train step and predict x torch setups (NCHW, channels_last; default and kept malloc)."""
    from minigrad.threads import set_num_threads

    set_num_threads(threads)
    rows = []
    for phase, case, label, (ms, faults), (t_ms, t_faults) in harness.malloc_phases(
            _minigrad_cases, _torch_cases, _measure):
        size = {"train step": f"batch {BATCH}", "overhead step": "batch 1: per-step overhead",
                "predict": f"batch {PREDICT_BATCH}"}[case]
        extra = _extra(case, ms, faults) + (f"; torch {_extra(case, t_ms, t_faults)}" if label else "")
        rows.append(harness.row(GROUP, f"reference CNN {case} ({size}) vs torch {label or '-'} "
                                       f"({phase})", ms, t_ms, extra))
    return rows


if __name__ == "__main__":
    harness.standalone(run)
