"""Data-parallel training over MPI: `minigrad.distributed.init()` and `mpirun -n N python train.py`.

After `init()`, every `fit`/`evaluate`/`train_on_batch` in the process runs data-parallel over the
ranks of MPI_COMM_WORLD: rank 0's weights, optimizer and random state are broadcast when fit
starts, each rank trains on its shard of every global batch (`batch_size` stays the global batch,
as in Keras' `keras.distribution.DataParallel`), the flat gradient buffer is averaged with one
in-place all-reduce per step, logs are averaged, and only rank 0 prints and writes files.
See docs/DISTRIBUTED.md for the full semantics.

Importing this package imports no MPI library: mpi4py is loaded by `init()` only.
"""
from __future__ import annotations

from typing import Any

from minigrad.distributed import _state
from minigrad.errors import MinigradError

__all__ = ["init", "rank", "size", "is_primary", "stats", "DistributedError"]


class DistributedError(MinigradError, RuntimeError):
    """A collective failed or timed out, or MPI is missing; the message names the rank."""


def _install_hint() -> str:
    """'pip install "minigrad[mpi]"' with the distribution name this copy was installed under."""
    try:
        from importlib.metadata import packages_distributions

        dist = (packages_distributions().get("minigrad") or [None])[0]
    except Exception:  # metadata is only a better hint; never fail the error message on it
        dist = None
    return f'pip install "{dist}[mpi]"' if dist else "install minigrad with its mpi extra"


def init(timeout: float | None = None, set_threads: bool = True) -> None:
    """Join the MPI job (MPI_COMM_WORLD) and make fit/evaluate data-parallel over its ranks.

    timeout: seconds any collective may wait for the other ranks before this rank stops the job
    with an error (default $MINIGRAD_DISTRIBUTED_TIMEOUT or 300). set_threads: give each rank an
    equal share of the machine's cores (unless MINIGRAD_NUM_THREADS is set), so N ranks on one
    machine do not oversubscribe it. Calling init() again is a no-op.
    """
    if _state.world is not None:
        return
    from minigrad.distributed.world import World, check_timeout

    timeout = check_timeout(timeout)
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise DistributedError(
            f"minigrad.distributed.init: mpi4py is not installed ({e}); {_install_hint()} "
            "(it brings mpi4py and the MPICH library), then start the script with "
            "'mpiexec -n 2 python train.py'") from None
    if MPI.COMM_WORLD.Get_size() == 1:  # `python train.py` or `mpiexec -n 1`: train as usual
        return
    world = World(MPI, MPI.COMM_WORLD, timeout)
    _state.rank, _state.size = world.rank, world.size
    if set_threads:
        world.share_cores()
    world.install_excepthook()
    _state.world = world


def rank() -> int:
    """This process's rank in the job (0 before init() or without MPI)."""
    return _state.rank


def size() -> int:
    """The number of ranks in the job (1 before init() or without MPI)."""
    return _state.size


def is_primary() -> bool:
    """True on rank 0, the rank that prints and writes checkpoints; use it to guard your own files."""
    return _state.rank == 0


def stats() -> dict[str, Any]:
    """Collective calls and seconds spent in them since init() (what the benchmark reports)."""
    world = _state.world
    if world is None:
        return {"calls": 0, "seconds": 0.0, "gradient_calls": 0, "gradient_seconds": 0.0}
    return dict(world.stats)


from minigrad.distributed import ops as _ops  # noqa: E402,F401  (registers cross_replica_mean)
