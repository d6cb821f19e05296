"""The process's place in a distributed job; the training hooks read only this (no MPI import).

`world` is None unless minigrad.distributed.init() ran under an MPI launcher with more than one rank,
so the hooks cost one attribute check per step in ordinary training.
"""
from __future__ import annotations

from typing import Any

world: Any = None  # minigrad.distributed.world.World when data-parallel
rank = 0
size = 1
