"""Data-parallel training of the reference CNN over MPI ranks, beside PyTorch DDP (gloo).

    python -m benchmarks.bench_distributed [--ranks 1,2] [--steps 40] [--batch 64]

Each (framework, rank count) runs in its own `mpiexec -n R` job, one thread per rank, on MNIST-sized
random data (28x28x1, 10 classes). Every rank takes `--batch` images per step (the global batch is
R x batch, DDP's convention): minigrad through `fit(batch_size=R*batch)` after
`minigrad.distributed.init()`, PyTorch through DistributedDataParallel with the gloo backend and
RMSprop, gathering each shuffled batch as fit does. Reported: images/s over the whole job, the
median step time, and for minigrad the time per step spent in the gradient all-reduce (waiting for
the slower rank included). Needs `pip install ".[mpi,bench]"`; prints README-ready lines.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks import harness

ROOT = Path(__file__).resolve().parents[1]


def _data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.random((n, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, n)


def _minigrad_child(steps: int, batch: int) -> dict:
    import minigrad
    from minigrad.cli.demo import reference_cnn

    minigrad.distributed.init()
    size = minigrad.distributed.size()
    model = reference_cnn()
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
    warm = 5
    x, labels = _data((warm + steps) * batch * size, 0)
    y = minigrad.to_categorical(labels, 10)
    n_warm = warm * batch * size
    model.fit(x[:n_warm], y[:n_warm], batch_size=batch * size, epochs=1, verbose=0)
    before = minigrad.distributed.stats()
    start = time.perf_counter()
    model.fit(x[n_warm:], y[n_warm:], batch_size=batch * size, epochs=1, verbose=0)
    seconds = time.perf_counter() - start
    after = minigrad.distributed.stats()
    comm = (after["gradient_seconds"] - before["gradient_seconds"]) / steps
    other = (after["seconds"] - before["seconds"]) / steps - comm
    return {"seconds": seconds, "comm_ms": comm * 1e3, "other_collectives_ms": other * 1e3,
            "allreduce_ms": _pure_allreduce_ms(model)}


def _pure_allreduce_ms(model: object) -> float | None:
    """Median all-reduce of the flat gradient buffer when every rank is already there (no waiting)."""
    from minigrad.distributed import _state

    world = _state.world
    if world is None:
        return None
    buf = model.optimizer._layout.groups[0].g
    times = []
    for _ in range(30):
        world.comm.Barrier()
        start = time.perf_counter()
        world.allreduce_(buf, "benchmark")
        times.append(time.perf_counter() - start)
    return float(np.median(times)) * 1e3


def _torch_child(steps: int, batch: int) -> dict:
    import torch
    import torch.distributed as dist

    torch.set_num_threads(1)
    rank, size = int(os.environ.get("PMI_RANK", 0)), int(os.environ.get("PMI_SIZE", 1))
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{os.environ['BENCH_PORT']}",
                            rank=rank, world_size=size)
    net = harness.torch_reference_cnn(torch)
    model = torch.nn.parallel.DistributedDataParallel(net)
    opt = torch.optim.RMSprop(model.parameters(), lr=1e-3, alpha=0.9, eps=1e-7)
    loss_fn = torch.nn.CrossEntropyLoss()
    warm = 5
    x_np, labels = _data((warm + steps) * batch, rank)
    x = torch.from_numpy(x_np).permute(0, 3, 1, 2).contiguous()
    y = torch.from_numpy(labels)

    def run(first: int, count: int) -> None:
        order = torch.randperm(count * batch) + first * batch
        for i in range(count):
            idx = order[i * batch:(i + 1) * batch]
            opt.zero_grad(set_to_none=True)
            loss_fn(model(x[idx]), y[idx]).backward()
            opt.step()

    run(0, warm)
    dist.barrier()
    start = time.perf_counter()
    run(warm, steps)
    dist.barrier()
    seconds = time.perf_counter() - start
    dist.destroy_process_group()
    return {"seconds": seconds, "comm_ms": None, "other_collectives_ms": None, "allreduce_ms": None}


def _child(framework: str, steps: int, batch: int) -> None:
    result = (_minigrad_child if framework == "minigrad" else _torch_child)(steps, batch)
    rank = int(os.environ.get("PMI_RANK", 0))
    if rank == 0:
        print("RESULT " + json.dumps(result), flush=True)


def _launch(framework: str, ranks: int, steps: int, batch: int, port: int) -> dict:
    mpiexec = Path(sys.executable).with_name("mpiexec")
    env = dict(os.environ, MINIGRAD_NUM_THREADS="1", OMP_NUM_THREADS="1", BENCH_PORT=str(port),
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    cmd = [str(mpiexec if mpiexec.exists() else "mpiexec"), "-n", str(ranks), sys.executable, "-m",
           "benchmarks.bench_distributed", "--child", framework, "--steps", str(steps), "--batch", str(batch)]
    proc = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=1800)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"bench_distributed: {framework} on {ranks} ranks failed:\n{proc.stdout}\n{proc.stderr}")
    result = json.loads(lines[-1][7:])
    result.update(framework=framework, ranks=ranks, images_per_s=steps * batch * ranks / result["seconds"],
                  step_ms=result["seconds"] / steps * 1e3)
    return result


def main(argv: list[str] | None = None) -> None:
    """Run every (framework, ranks) job and print a table and README lines."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ranks", default="1,2")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--batch", type=int, default=64, help="images per rank per step")
    parser.add_argument("--frameworks", default="minigrad,torch")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child, args.steps, args.batch)
        return
    load = os.getloadavg()[0]
    results = []
    for i, framework in enumerate(args.frameworks.split(",")):
        for ranks in (int(r) for r in args.ranks.split(",")):
            results.append(_launch(framework, ranks, args.steps, args.batch, 29500 + 10 * i + ranks))
    print(f"reference CNN, {args.batch} images per rank per step, {args.steps} steps, 1 thread per rank; "
          f"load average before: {load:.2f}, after: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print("| framework | ranks | images/s | step (ms) | in gradient all-reduce per step, waiting included "
          "(ms) | other collectives per step (ms) | all-reduce alone (ms) |")
    print("|---|---:|---:|---:|---:|---:|---:|")

    def ms(value: float | None) -> str:
        return "–" if value is None else f"{value:.2f}"

    for r in results:
        print(f"| {r['framework']} | {r['ranks']} | {r['images_per_s']:.0f} | {r['step_ms']:.1f} | "
              f"{ms(r['comm_ms'] if r['ranks'] > 1 else None)} | "
              f"{ms(r['other_collectives_ms'] if r['ranks'] > 1 else None)} | {ms(r['allreduce_ms'])} |")
    by = {(r["framework"], r["ranks"]): r for r in results}
    if ("minigrad", 1) in by and ("minigrad", 2) in by:
        print(f"minigrad 2 ranks / 1 rank images/s: "
              f"{by['minigrad', 2]['images_per_s'] / by['minigrad', 1]['images_per_s']:.2f}x (target >= 1.8x)")
    if ("minigrad", 2) in by and ("torch", 2) in by:
        print(f"minigrad / PyTorch DDP (gloo) 2-rank step time: "
              f"{by['minigrad', 2]['step_ms'] / by['torch', 2]['step_ms']:.2f} (target <= 0.75)")


if __name__ == "__main__":
    main()
