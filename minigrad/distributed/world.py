"""World: the collectives data-parallel training needs, each watched, plus sharding and averaging.

A rank whose peer died or diverged does not hang: the watchdog thread aborts the job naming the
ranks (watchdog.py), MPI errors come back as DistributedError, and the except hook turns any
uncaught error into MPI_Abort, so mpiexec ends the other ranks and names the one that failed.
"""
from __future__ import annotations

import json
import os
import socket
import sys
import time
from typing import Any

import numpy as np

from minigrad.distributed import DistributedError
from minigrad.distributed.watchdog import Watchdog, abort_all, describe_peers

_DEFAULT_TIMEOUT = 300.0


def check_timeout(value: float | None) -> float:
    """init()'s timeout, or $MINIGRAD_DISTRIBUTED_TIMEOUT, or 300 s, as positive seconds."""
    raw = value if value is not None else os.environ.get("MINIGRAD_DISTRIBUTED_TIMEOUT", _DEFAULT_TIMEOUT)
    try:
        seconds = float(raw)
    except (TypeError, ValueError):
        seconds = -1.0
    if not seconds > 0:
        raise ValueError(f"minigrad.distributed.init: timeout must be a positive number of seconds, received {raw!r}")
    return seconds


class World:
    """MPI_COMM_WORLD with watched collectives, batch sharding and the gradient average."""

    def __init__(self, mpi: Any, comm: Any, timeout: float | None) -> None:
        self.MPI, self.comm = mpi, comm
        self.rank, self.size = comm.Get_rank(), comm.Get_size()
        self.timeout = check_timeout(timeout)
        self.grad_weight: float | None = None  # this rank's share of the current global batch
        self.seen = 0  # samples this rank took since the last reset (weights the log average)
        self.reseed = False  # give this rank its own random stream at the next batch
        self.shared_rng: Any = None  # the stream every rank shares, set aside while split
        self.stats = {"calls": 0, "seconds": 0.0, "gradient_calls": 0, "gradient_seconds": 0.0}
        self.peers = comm.allgather((socket.gethostname(), os.getpid()))  # to name a dead rank later
        comm.Set_errhandler(mpi.ERRORS_RETURN)  # a failed peer raises here instead of killing us mute
        self.watchdog = Watchdog(self)

    # ----- process setup
    def share_cores(self) -> None:
        """N ranks on one machine: each gets cores // N OpenMP threads unless the user chose."""
        if "MINIGRAD_NUM_THREADS" in os.environ:
            return
        from minigrad.threads import _default_threads, set_num_threads

        local = self.comm.Split_type(self.MPI.COMM_TYPE_SHARED)
        try:
            set_num_threads(max(1, _default_threads() // local.Get_size()))
        finally:
            local.Free()

    def install_excepthook(self) -> None:
        """An uncaught exception on any rank names the rank and aborts every rank (no hang)."""
        previous = sys.excepthook

        def hook(kind: type, value: BaseException, tb: Any) -> None:
            previous(kind, value, tb)
            sys.stderr.write(f"minigrad.distributed: rank {self.rank} of {self.size} failed with "
                             f"{kind.__name__}: {value}; aborting all ranks\n")
            sys.stderr.flush()
            abort_all(self.comm)

        sys.excepthook = hook

    # ----- watched collectives
    def _call(self, what: str, call: Any, *args: Any) -> None:
        self.watchdog.enter(what)
        start = time.perf_counter()
        try:
            call(*args)
        except self.MPI.Exception as e:
            raise DistributedError(f"minigrad.distributed: rank {self.rank} of {self.size} failed in '{what}': "
                                   f"{describe_peers(self.rank, self.peers)[1]} ({e.Get_error_string()})") from None
        finally:
            self.watchdog.leave()
        self.stats["calls"] += 1
        self.stats["seconds"] += time.perf_counter() - start

    def allreduce_(self, buf: np.ndarray, what: str, op: str = "sum") -> np.ndarray:
        """buf <- op over ranks of buf, in place."""
        self._call(what, self.comm.Allreduce, self.MPI.IN_PLACE, buf, self.MPI.SUM if op == "sum" else self.MPI.MAX)
        return buf

    def bcast_(self, buf: np.ndarray, what: str) -> np.ndarray:
        """buf <- rank 0's buf, in place (buf must be C-contiguous)."""
        self._call(what, self.comm.Bcast, buf, 0)
        return buf

    def bcast_tree(self, tree: Any, what: str) -> Any:
        """Rank 0's tree of JSON values and ndarrays on every rank (JSON + raw arrays, no pickle)."""
        arrays: list[np.ndarray] = []
        header = b""
        if self.rank == 0:
            doc = json.dumps([_pack(tree, arrays), [(a.dtype.str, a.shape) for a in arrays]],
                             default=_json_scalar)
            header = doc.encode()
        length = self.bcast_(np.array([len(header)], np.int64), f"{what} (size)")
        buf = np.frombuffer(header, np.uint8).copy() if self.rank == 0 else np.empty(int(length[0]), np.uint8)
        packed, specs = json.loads(self.bcast_(buf, f"{what} (header)").tobytes())
        if self.rank != 0:
            arrays = [np.empty(shape, np.dtype(dtype)) for dtype, shape in specs]
        arrays = [self.bcast_(np.ascontiguousarray(a), f"{what} (array {i})") for i, a in enumerate(arrays)]
        return _unpack(packed, arrays)

    # ----- data and gradients
    def shard(self, sel: Any, n: int) -> Any:
        """This rank's contiguous part of one global batch (a slice or index array over n samples).

        A rank left without samples (a last batch smaller than the job) repeats the batch's last
        sample with gradient weight 0, so every rank still takes part in each step's all-reduce.
        """
        if isinstance(sel, slice):
            start = sel.start or 0
            m = min(sel.stop, n) - start
        else:
            m = len(sel)
        lo, hi = self.rank * m // self.size, (self.rank + 1) * m // self.size
        self.grad_weight = (hi - lo) / m
        self.seen += hi - lo
        if self.reseed:
            self.split_stream()
        if hi == lo:
            lo, hi = m - 1, m
        return slice(start + lo, start + hi) if isinstance(sel, slice) else sel[lo:hi]

    def split_stream(self) -> None:
        """Each rank draws from its own stream until join_stream(); the shared one is set aside.

        The shuffle order comes from the shared stream (identical on every rank); dropout and other
        draws during the epoch must differ between ranks, or every rank would drop the same units.
        Setting the shared stream aside unconsumed keeps the next epoch's order what one process
        would draw, and is what BackupAndRestore saves at the epoch's end.
        """
        from minigrad import random as mg_random

        self.reseed = False
        shared = mg_random.generator()
        bitgen = shared.bit_generator
        if hasattr(bitgen, "jumped"):  # PCG64's jumps give provably independent streams
            mine = np.random.Generator(bitgen.jumped(self.rank + 1))
        else:
            mine = np.random.default_rng([self.rank, *json.dumps(bitgen.state, default=str).encode()])
        self.shared_rng = shared
        mg_random._rng = mine  # minigrad.random's one generator (no public setter for an instance)

    def join_stream(self) -> None:
        """Back to the shared stream set aside by split_stream()."""
        from minigrad import random as mg_random

        if self.shared_rng is not None:
            mg_random._rng, self.shared_rng = self.shared_rng, None

    def reduce_gradients(self, layout: Any, active: list[bool]) -> list[bool]:
        """Average the flat gradient buffers over ranks in place; every weight counts as active.

        Each rank scales by its share of the global batch, then one SUM all-reduce per dtype
        buffer: equal to the gradient of the whole batch's mean loss, even for uneven shards.
        """
        if not all(active):  # a weight backward did not reach here may be reached on another rank
            for i, on in enumerate(active):
                if not on:
                    layout.grad_views[i].fill(0)
                    layout.weights[i].grad = layout.grad_views[i]
        weight = self.grad_weight if self.grad_weight is not None else 1.0 / self.size
        self.grad_weight = None
        start = time.perf_counter()
        for group in layout.groups:
            if weight != 1.0:
                group.g *= weight
            self.allreduce_(group.g, "gradient all-reduce")
        self.stats["gradient_calls"] += 1
        self.stats["gradient_seconds"] += time.perf_counter() - start
        return [True] * len(active)

    def average_logs(self, logs: dict[str, Any], what: str) -> None:
        """Replace the numeric logs by their mean over ranks, weighted by the samples each rank saw."""
        keys = [k for k, v in logs.items() if isinstance(v, (int, float, np.number)) and not isinstance(v, bool)]
        weight = float(self.seen) if self.seen else 1.0
        buf = np.array([float(logs[k]) * weight for k in keys] + [weight, float(len(keys))], np.float64)
        self.allreduce_(buf, what)
        if buf[-1] != len(keys) * self.size:
            raise DistributedError(f"minigrad.distributed: rank {self.rank} logs {keys} in '{what}', "
                                   "but the ranks disagree on the number of logged values")
        for k, total in zip(keys, buf[:-2]):
            logs[k] = float(total / buf[-2])

    def any(self, flag: bool, what: str) -> bool:
        """True on every rank when flag is True on any rank."""
        return bool(self.allreduce_(np.array([int(flag)], np.int32), what, op="max")[0])


def _json_scalar(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"minigrad.distributed: cannot broadcast a {type(value).__name__}")


def _pack(tree: Any, arrays: list[np.ndarray]) -> Any:
    """Arrays replaced by {'__array__': k}, in order of appearance."""
    if isinstance(tree, np.ndarray):
        arrays.append(tree)
        return {"__array__": len(arrays) - 1}
    if isinstance(tree, dict):
        return {"__dict__": [[k, _pack(v, arrays)] for k, v in tree.items()]}
    if isinstance(tree, (list, tuple)):
        return [_pack(v, arrays) for v in tree]
    return tree


def _unpack(tree: Any, arrays: list[np.ndarray]) -> Any:
    if isinstance(tree, dict):
        if "__array__" in tree:
            return arrays[tree["__array__"]]
        return {k: _unpack(v, arrays) for k, v in tree["__dict__"]}
    if isinstance(tree, list):
        return [_unpack(v, arrays) for v in tree]
    return tree
