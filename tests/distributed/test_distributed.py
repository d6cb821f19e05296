"""Data-parallel training end to end: the tests start `mpiexec -n 2` themselves, on loopback.

worker.py is the training script; every run is bounded by a timeout. Skipped, with the reason, when
mpi4py or mpiexec is missing (`pip install ".[mpi]"` brings both).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

WORKER = Path(__file__).with_name("worker.py")
ROOT = Path(__file__).resolve().parents[2]
RUN_TIMEOUT = 120  # seconds for one mpiexec run; a run that needs more has hung


def _mpiexec() -> str | None:
    beside = Path(sys.executable).with_name("mpiexec")  # the mpich wheel puts it in the venv's bin
    return str(beside) if beside.exists() else shutil.which("mpiexec")


def _have_mpi4py() -> bool:
    import importlib.util

    return importlib.util.find_spec("mpi4py") is not None


needs_mpi = pytest.mark.skipif(not (_have_mpi4py() and _mpiexec()),
                               reason="needs mpi4py and mpiexec: pip install \".[mpi]\" (mpi4py + mpich wheels)")


def _env(**extra: str) -> dict[str, str]:
    # one conv path everywhere: a choice by timing may differ between ranks and runs, and with it the
    # rounding, while these tests compare runs bit for bit
    env = dict(os.environ, MINIGRAD_NUM_THREADS="1", MINIGRAD_CONV_ALGO="im2col", PYTHONPATH=os.pathsep.join(
        [str(ROOT), os.environ.get("PYTHONPATH", "")]), **extra)
    env.pop("CI", None)  # the worker draws no hypothesis examples
    return env


def _run(out: Path, scenario: str, ranks: int | None, *launcher: str, **env: str) -> subprocess.CompletedProcess:
    """worker.py under `mpiexec -n ranks` (ranks=None: one plain process without MPI)."""
    out.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, str(WORKER), str(out), scenario]
    if ranks is None:
        env["WORKER_DISTRIBUTED"] = "0"
    else:
        cmd = [_mpiexec(), *launcher, "-n", str(ranks), *cmd]
    return subprocess.run(cmd, env=_env(**env), capture_output=True, text=True, timeout=RUN_TIMEOUT)


def _weights(out: Path, rank: int) -> list[np.ndarray]:
    with np.load(out / f"weights-{rank}.npz") as f:
        return [f[k] for k in f.files]


def _ok(proc: subprocess.CompletedProcess) -> None:
    assert proc.returncode == 0, f"worker failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"


def test_import_minigrad_loads_no_mpi() -> None:
    code = "import sys, minigrad; minigrad.distributed.rank(); print('mpi4py' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], env=_env(), capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr


def test_cross_replica_mean_on_one_process_matches_its_twin_for_a_python_sequence() -> None:
    # found by the fuzz harness (dev profile): the twin returned the tuple itself, not an array
    from minigrad import ops

    op = ops.get("cross_replica_mean")
    assert np.array_equal(ops.apply("cross_replica_mean", (0, 0)).data, op.reference((0, 0)))
    assert isinstance(op.reference((0, 0)), np.ndarray)


def test_init_without_mpi4py_names_the_extra() -> None:
    code = ("import sys; sys.modules['mpi4py'] = None\n"  # what an environment without mpi4py sees
            "import minigrad\n"
            "try:\n    minigrad.distributed.init()\n"
            "except minigrad.distributed.DistributedError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], env=_env(), capture_output=True, text=True, timeout=60)
    message = out.stdout
    assert "mpi4py is not installed" in message, message + out.stderr
    assert "[mpi]\"" in message or "mpi extra" in message, message  # pip install "<dist>[mpi]"


@pytest.mark.parametrize("timeout", [-1, 0, "soon"])
def test_init_refuses_a_timeout_that_is_not_positive(timeout: object) -> None:
    import minigrad

    with pytest.raises(ValueError, match=r"minigrad.distributed.init: timeout must be a positive number"):
        minigrad.distributed.init(timeout=timeout)
    assert minigrad.distributed.size() == 1 and minigrad.distributed.is_primary()


def _world(rank: int, size: int):
    """A World's sharding state without MPI (shard() itself never communicates)."""
    from minigrad.distributed.world import World

    world = World.__new__(World)
    world.rank, world.size, world.grad_weight, world.seen, world.reseed = rank, size, None, 0, False
    return world


@pytest.mark.parametrize("m", [1, 2, 5, 16])
def test_shards_cover_each_global_batch_once_with_weights_summing_to_one(m: int) -> None:
    order = np.random.default_rng(m).permutation(40)[:m]  # a shuffled global batch of m samples
    parts, weights = [], []
    for rank in range(3):
        world = _world(rank, 3)
        mine = world.shard(order, 40)
        assert len(mine) >= 1  # every rank computes, so every rank joins the all-reduce
        weights.append(world.grad_weight)
        parts.append(mine if world.grad_weight else mine[:0])  # weight 0: a stand-in sample
        # the unshuffled last batch (a slice running past n) splits the same way
        start = 40 - m
        as_slice = _world(rank, 3).shard(slice(start, start + 16), 40)
        np.testing.assert_array_equal(np.arange(40)[as_slice], _world(rank, 3).shard(np.arange(start, 40), 40))
    np.testing.assert_array_equal(np.concatenate(parts), order)
    assert sum(weights) == pytest.approx(1.0)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One process with global batch 16, and 2 ranks with 8 each (twice), on the same sample order."""
    if not (_have_mpi4py() and _mpiexec()):
        pytest.skip("needs mpi4py and mpiexec")
    base = tmp_path_factory.mktemp("dist")
    dirs = {"one": base / "one", "two": base / "two", "two_again": base / "two_again"}
    _ok(_run(dirs["one"], "plain", None))
    _ok(_run(dirs["two"], "plain", 2))
    _ok(_run(dirs["two_again"], "plain", 2))
    return dirs


@needs_mpi
def test_two_ranks_end_with_the_weights_of_one_process(runs: dict[str, Path]) -> None:
    one, r0, r1 = _weights(runs["one"], 0), _weights(runs["two"], 0), _weights(runs["two"], 1)
    for a, b, c in zip(one, r0, r1):
        np.testing.assert_array_equal(b, c)  # every rank holds the same weights, bit for bit
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)  # float32 rounding of split sums
    for a, b in zip(r0, _weights(runs["two_again"], 0)):
        np.testing.assert_array_equal(a, b)  # a fixed reduction order: runs repeat bit for bit


@needs_mpi
def test_synchronized_batch_normalization_sees_the_global_batch(tmp_path: Path) -> None:
    _ok(_run(tmp_path / "one", "syncbn", None))
    _ok(_run(tmp_path / "two", "syncbn", 2))
    one, r0, r1 = _weights(tmp_path / "one", 0), _weights(tmp_path / "two", 0), _weights(tmp_path / "two", 1)
    assert len(one) == 10  # gamma, beta and both moving statistics are in the comparison
    for a, b, c in zip(one, r0, r1):
        np.testing.assert_array_equal(b, c)
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)


@needs_mpi
def test_logs_are_averaged_and_identical_on_every_rank(runs: dict[str, Path]) -> None:
    h0, h1, h_one = (json.loads((runs[k] / f"history-{r}.json").read_text()) for k, r in
                     (("two", 0), ("two", 1), ("one", 0)))
    assert h0 == h1
    for key, values in h_one["history"].items():
        np.testing.assert_allclose(h0["history"][key], values, rtol=1e-5)
    np.testing.assert_allclose(h0["evaluate"], h_one["evaluate"], rtol=1e-5)


@needs_mpi
def test_only_rank_0_writes_checkpoints_and_logs(runs: dict[str, Path]) -> None:
    names = sorted(p.name for p in runs["two"].iterdir())
    assert [n for n in names if n.startswith("r0-")] == ["r0-ckpt-1.mg", "r0-ckpt-2.mg", "r0-ckpt-3.mg", "r0-log.csv"]
    assert not [n for n in names if n.startswith("r1-")]
    assert len((runs["two"] / "r0-log.csv").read_text().splitlines()) == 4  # header + 3 epochs


@needs_mpi
def test_a_killed_rank_stops_the_job_and_the_backup_resumes_on_any_rank_count(
        runs: dict[str, Path], tmp_path: Path) -> None:
    started = time.monotonic()
    proc = _run(tmp_path / "kill", "kill", 2)
    assert proc.returncode != 0 and time.monotonic() - started < 60
    pid = (tmp_path / "kill" / "pid-1").read_text()
    report = proc.stdout + proc.stderr
    assert "BAD TERMINATION" in report and f"PID {pid}" in report, report  # mpiexec names rank 1's process
    load = f"import worker; worker.build().load_weights({str(tmp_path / 'kill' / 'r0-ckpt-1.mg')!r})"
    _ok(subprocess.run([sys.executable, "-c", load], cwd=WORKER.parent, env=_env(), capture_output=True,
                       text=True, timeout=60))  # the checkpoint written before the fault is intact
    for ranks, reference in ((2, "two"), (None, "one")):
        resumed = tmp_path / f"resume-{ranks}"
        shutil.copytree(tmp_path / "kill" / "backup", resumed / "backup")
        _ok(_run(resumed, "plain", ranks))
        history = json.loads((resumed / "history-0.json").read_text())["history"]
        assert len(history["loss"]) == 3  # History came back from the backup too
        for a, b in zip(_weights(resumed, 0), _weights(runs[reference], 0)):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    for a, b in zip(_weights(tmp_path / "resume-2", 0), _weights(runs["two"], 0)):
        np.testing.assert_array_equal(a, b)  # same rank count: the resumed run is the uninterrupted one


@needs_mpi
def test_a_rank_that_raises_names_itself_and_stops_every_rank(tmp_path: Path) -> None:
    proc = _run(tmp_path, "raise", 2)
    assert proc.returncode != 0
    assert "rank 1 of 2 failed with RuntimeError: injected failure on rank 1" in proc.stderr, proc.stderr


@needs_mpi
def test_a_stop_decided_on_one_rank_stops_every_rank_at_that_batch(tmp_path: Path) -> None:
    _ok(_run(tmp_path, "stop", 2))
    h0, h1 = (json.loads((tmp_path / f"history-{r}.json").read_text())["history"] for r in (0, 1))
    assert h0 == h1 and len(h0["loss"]) == 1
    with np.load(tmp_path / "weights-0.npz") as w0, np.load(tmp_path / "weights-1.npz") as w1:
        assert all(np.array_equal(w0[k], w1[k]) for k in w0.files)


@needs_mpi
def test_a_hanging_rank_is_reported_after_the_timeout(tmp_path: Path) -> None:
    started = time.monotonic()
    proc = _run(tmp_path, "hang", 2, WORKER_TIMEOUT="3")
    assert proc.returncode != 0 and time.monotonic() - started < 60
    assert re.search(r"rank 0 of 2 waited in 'stop decision \(epoch 1\)' for [34] s", proc.stderr), proc.stderr


@needs_mpi
def test_when_the_launcher_leaves_survivors_running_the_watchdog_names_the_dead_rank(tmp_path: Path) -> None:
    # -disable-auto-cleanup, and ranks that are not mpiexec's direct children (as under a wrapper
    # script), leave rank 0 waiting on a dead peer; each rank's stderr goes to its own file
    script = f'"{sys.executable}" "{WORKER}" "{tmp_path}" kill 2> "{tmp_path}/err-$PMI_RANK"'
    started = time.monotonic()
    proc = subprocess.run([_mpiexec(), "-disable-auto-cleanup", "-n", "2", "sh", "-c", script],
                          env=_env(), capture_output=True, text=True, timeout=RUN_TIMEOUT)
    assert proc.returncode != 0 and time.monotonic() - started < 60
    pid = (tmp_path / "pid-1").read_text()
    assert f"rank 1 (pid {pid} on " in (tmp_path / "err-0").read_text()
