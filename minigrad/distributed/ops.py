"""cross_replica_mean: the one op that talks to other ranks (BatchNormalization(synchronized=True)).

Registered at `import minigrad` like every op; on one process it is the identity.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.distributed import _state
from minigrad.ops.base import Context, Op, register, strategies


def _share(world: Any) -> float:
    """This rank's share of the global batch (World.shard sets it per batch; 1/N otherwise)."""
    return world.grad_weight if world.grad_weight is not None else 1.0 / world.size


@register("cross_replica_mean")
class CrossReplicaMean(Op):
    """y = sum over ranks r of s_r * x_r, s_r = rank r's share of the global batch (y = x on one process).

    dx = sum over ranks of s_r * dy_r, the same on every rank: each rank later scales its weight
    gradients by its own s_r before they are summed (World.reduce_gradients), which completes the
    chain rule for the job's loss sum_r s_r * L_r.
    """

    def check(self, x: np.ndarray) -> tuple[Any, float] | None:
        """(world, this rank's share), or None on one process."""
        world = _state.world
        return None if world is None else (world, _share(world))

    def forward(self, ctx: Context, x: np.ndarray) -> np.ndarray:
        if ctx.plan is None:
            return x.copy()
        world, share = ctx.plan
        return world.allreduce_(np.ascontiguousarray(x * share), "cross_replica_mean")

    def backward(self, ctx: Context, dy: np.ndarray) -> tuple[np.ndarray]:
        if ctx.plan is None:
            return (dy,)
        world, share = ctx.plan
        return (world.allreduce_(np.ascontiguousarray(dy * share), "cross_replica_mean (backward)"),)

    def reference(self, x: np.ndarray) -> np.ndarray:
        return np.array(x)  # an array even for a Python sequence, as forward returns

    def strategy(self):
        st, S = strategies()
        return S.op_inputs(S.arrays())
