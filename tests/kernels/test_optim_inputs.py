"""Optimizer kernel wrappers refuse buffers that overlap (an in-place update would read what it wrote)."""
import numpy as np
import pytest

from minigrad.kernels import optim as K


def test_overlapping_buffers_are_refused_naming_the_op_and_both_buffers():
    w, g, m, v = (np.zeros(8) for _ in range(4))
    with pytest.raises(ValueError, match="sgd_update: w and g share memory"):
        K.sgd_update(w, w, None, lr=0.1)
    with pytest.raises(ValueError, match="adam_update: m and v share memory"):
        K.adam_update(w, g, m, m, None, alpha=0.1)
    with pytest.raises(ValueError, match="ema_update: average and w share memory"):
        K.ema_update(w, w, 0.5)
    halves = np.zeros(16)
    with pytest.raises(ValueError, match="adagrad_update: w and accumulator share memory"):
        K.adagrad_update(halves[:8], g, halves[4:12], lr=0.1)
    K.adam_update(w, g, m, v, None, alpha=0.1)  # separate buffers: fine
