"""The reference Keras CNN end to end: RMSprop training step (batch 64) and inference (batch 1000).

minigrad is timed through `model.fit` (shuffling, batching, callbacks, metrics included: the
per-step time is one fit over FIT_STEPS batches divided by FIT_STEPS) and `model.predict`. PyTorch
runs the equivalent `nn.Sequential` (logits + CrossEntropyLoss, RMSprop with Keras' rho/eps) with
a hand-written loop that also gathers each shuffled batch. Each framework runs in processes of its
own (harness.compare): minigrad, torch at its strongest (channels_last, kept malloc) and as it
comes (NCHW). Extra columns: steps/s and the projected seconds for one 60,000-image epoch (938
steps). Targets (issue 11), against the strongest torch: training step <= 0.75x, predict <= 0.8x.
A third case, a training step on batch 1, shows the per-step framework overhead (Python, dispatch,
fit loop) where the kernels have almost nothing to do.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from benchmarks import harness, table

GROUP = "model"
BATCH, PREDICT_BATCH, EPOCH_IMAGES = 64, 1000, 60_000
FIT_STEPS = 20
TARGETS = {"train step": 0.75, "predict": 0.8}  # ratio ceilings against torch best
OTHER_BUILD_TARGET = 1.10  # a portable build (this one) within 10 % of a native one (--other-build)
SIZES = {"train step": f"batch {BATCH}", "overhead step": "batch 1: per-step overhead",
         "predict": f"batch {PREDICT_BATCH}"}
README = {"train step": "reference CNN training step (batch 64, RMSprop, through fit)",
          "predict": "reference CNN predict (batch 1000)"}


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
    net = harness.torch_reference_cnn(torch)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    net = net.to(memory_format=fmt)
    opt = torch.optim.RMSprop(net.parameters(), lr=1e-3, alpha=0.9, eps=1e-7)
    loss_fn = torch.nn.CrossEntropyLoss()
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


def measure(side: harness.Side, threads: int) -> dict[str, dict[str, float]]:
    """In one side's process: ms and faults per training step (one call = FIT_STEPS) / predict."""
    if side.framework == "minigrad":
        cases = _minigrad_cases()
    else:
        import torch

        cases = _torch_cases(torch, side.channels_last)
    return {f"reference CNN {case} ({SIZES[case]})": harness.time_case(
        fn, per=1 if case == "predict" else FIT_STEPS, warmup=1, repeat=3 if harness.quick() else 5,
        min_time=0)
        for case, fn in cases.items()}


def _describe_one(case: str, r: dict) -> str:
    if "overhead step" in case:
        return f"{r['faults']:.0f} faults/step"
    if "train step" in case:
        steps = math.ceil(EPOCH_IMAGES / BATCH)
        return (f"{1e3 / r['ms']:.0f} steps/s, {r['ms'] * steps / 1e3:.1f} s per 60k epoch, "
                f"{r['faults']:.0f} faults/step")
    return f"{PREDICT_BATCH * 1e3 / r['ms']:.0f} images/s, {r['faults']:.0f} faults/call"


def _describe(case: str, mine: dict, theirs: dict | None) -> str:
    return _describe_one(case, mine) + (f"; torch {_describe_one(case, theirs)}" if theirs else "")


def run(threads: int) -> list[dict[str, Any]]:
    """Rows: train step, overhead step and predict x torch setups; targets on the strongest torch."""
    rows, _ = harness.compare(__name__, GROUP, threads, describe=_describe)
    for r in rows:
        kind = next(k for k in SIZES if f" {k} " in r["base_case"])
        if kind in TARGETS and r["side"] == harness.TORCH_BEST.name:
            table.add_check(r, f"{kind} / torch best, {threads} thr", r["ratio"],
                            ceiling=TARGETS[kind])
            r["readme"] = README[kind]
        elif kind in TARGETS and r["side"] == "minigrad-other":  # issue 11: portable vs native
            table.add_check(r, f"{kind}, this build / the other build, {threads} thr", r["ratio"],
                            ceiling=OTHER_BUILD_TARGET)
    return rows


if __name__ == "__main__":
    harness.standalone(run)
