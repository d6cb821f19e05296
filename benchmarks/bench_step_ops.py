"""Where a training step's time goes, op by op, at each thread count (minigrad only).

    python -m benchmarks.bench_step_ops [--threads 1,2] [--rounds 5] [--steps 20]

Each thread count runs in fresh processes of its own, alternated over rounds. In each, the reference
CNN is trained through `fit` (batch 64, RMSprop) with every registered op's forward and backward
timed (a forward keyed by its first input's shape, a backward by dy's, the op's output shape); the figures are medians over the rounds of ms per step. The last
column, the time at the first thread count over the time at each other, shows which kernels gain
from more threads inside a step (compare with the same kernels alone in bench_conv / bench_pool).
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any

from benchmarks import harness

BATCH, ROWS = 64, 12


def _timed(op: Any, totals: dict[str, float]) -> None:
    """Wrap one op's forward and backward so their time adds up in totals under 'name dir shape'."""
    forward, backward = op.forward, op.backward

    def timed_forward(ctx: Any, *inputs: Any, **attrs: Any) -> Any:
        t = time.perf_counter()
        out = forward(ctx, *inputs, **attrs)
        totals[f"{op.name} fwd {inputs[0].shape}"] += time.perf_counter() - t
        return out

    def timed_backward(ctx: Any, dy: Any) -> Any:
        t = time.perf_counter()
        out = backward(ctx, dy)
        totals[f"{op.name} bwd {dy.shape}"] += time.perf_counter() - t
        return out

    op.forward, op.backward = timed_forward, timed_backward


def measure(threads: int, steps: int) -> dict[str, float]:
    """In this process: ms per step of the whole step ('step') and of every op, over 3 fits."""
    import numpy as np

    import minigrad
    from minigrad import ops
    from minigrad.cli.demo import reference_cnn

    minigrad.set_num_threads(threads)
    totals: dict[str, float] = collections.defaultdict(float)
    for name in ops.names():
        _timed(ops.get(name), totals)
    model = reference_cnn()
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    x = rng.random((BATCH * steps, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, BATCH * steps)
    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)  # plans chosen, memory warm
    totals.clear()
    t = time.perf_counter()
    for _ in range(3):
        model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
    per_step = 1e3 / (3 * steps)
    return {"step": (time.perf_counter() - t) * per_step, **{k: v * per_step for k, v in totals.items()}}


def _child(threads: int, steps: int) -> dict[str, float]:
    env = {**os.environ, "MINIGRAD_NUM_THREADS": str(threads), "OMP_NUM_THREADS": str(threads)}
    out = subprocess.run([sys.executable, "-m", "benchmarks.bench_step_ops", "--child", str(threads),
                          "--steps", str(steps)], capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    """Alternate fresh processes per thread count; print the ops taking most of the step."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_step_ops", description=__doc__)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        print(json.dumps(measure(args.child, args.steps)))
        return 0
    try:
        threads = harness.parse_threads(args.threads)
        if args.rounds < 1 or args.steps < 1:
            raise ValueError(f"--rounds and --steps must be >= 1, received {args.rounds} and {args.steps}")
    except ValueError as exc:
        parser.error(str(exc))
    runs: dict[int, list[dict[str, float]]] = {n: [] for n in threads}
    for _ in range(args.rounds):
        for n in threads:
            runs[n].append(_child(n, args.steps))
    med = {n: {k: statistics.median(r.get(k, 0.0) for r in rs) for k in rs[0]} for n, rs in runs.items()}
    first = threads[0]
    keys = ["step"] + sorted((k for k in med[first] if k != "step"), key=lambda k: -med[first][k])[:ROWS]
    print(f"ms per step, medians over {args.rounds} rounds (batch {BATCH}); last column: "
          f"{first}-thread time / the others'")
    print(f"{'':40s}" + "".join(f"{n:>9d} thr" for n in threads))
    for k in keys:
        cells = "".join(f"{med[n].get(k, 0.0):13.3f}" for n in threads)
        gains = " ".join(f"{med[first][k] / med[n][k]:.2f}x" for n in threads[1:] if med[n].get(k))
        print(f"{k:40s}{cells}   {gains}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
