"""The one global random generator: initializers, dropout and shuffling all draw from it."""
from __future__ import annotations

from typing import Any

import numpy as np

from minigrad import validation

_rng = np.random.default_rng()


def set_seed(seed: int) -> None:
    """Make every random draw in minigrad reproducible from here on."""
    global _rng
    _rng = np.random.default_rng(validation.integer(seed, "set_seed", "seed", low=0))


def generator() -> np.random.Generator:
    """The global generator (use it, do not keep it: set_seed replaces it)."""
    return _rng


def get_state() -> dict[str, Any]:
    """JSON-serialisable state of the global generator (for checkpoints)."""
    return _rng.bit_generator.state


def set_state(state: dict[str, Any]) -> None:
    """Restore a state from get_state()."""
    global _rng
    bitgen = getattr(np.random, state["bit_generator"])()
    bitgen.state = state
    _rng = np.random.Generator(bitgen)
