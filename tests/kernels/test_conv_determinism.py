"""At a fixed thread count two runs are bit-identical: the conv backward hands chunks to threads
statically and sums the per-thread dw/db partials in thread order (across thread counts the
partition changes, so results may differ by rounding)."""
from __future__ import annotations

import numpy as np
import pytest

import minigrad
from minigrad import layers
from minigrad.kernels import conv as K
from minigrad.kernels import conv_plan as P


@pytest.fixture
def two_threads(monkeypatch: pytest.MonkeyPatch):
    before = minigrad.get_num_threads()
    minigrad.set_num_threads(2)
    monkeypatch.setattr(P, "_CHUNK_ELEMENTS", 4096)  # many chunks per thread
    monkeypatch.setattr(P, "_plans", {})
    yield
    minigrad.set_num_threads(before)


@pytest.mark.parametrize("path", ["direct", "implicit", "im2col"])
def test_conv_gradients_repeat_bit_for_bit_at_two_threads(two_threads, path: str) -> None:
    rng = np.random.default_rng(0)
    c = 16 if path == "implicit" else 1
    x = rng.standard_normal((24, 12, 12, c)).astype(np.float32)
    w = rng.standard_normal((3, 3, c, 32)).astype(np.float32)
    dy = rng.standard_normal((24, 10, 10, 32)).astype(np.float32)
    previous = K.force_path(path)
    try:
        assert K.plan("conv2d", x.shape, w.shape, x.dtype).c.fields()["n_chunks"] >= 4
        first = K.conv2d_backward(dy, x, w)
        for _ in range(3):
            for a, b in zip(first, K.conv2d_backward(dy, x, w)):
                assert np.array_equal(a, b)
    finally:
        K.force_path(previous)


def _train() -> list[np.ndarray]:
    minigrad.random.set_seed(7)
    model = minigrad.Sequential([
        layers.Input((12, 12, 1)), layers.Conv2D(8, 3, activation="relu"),
        layers.Conv2D(16, 3, activation="relu"), layers.MaxPooling2D(2), layers.Flatten(),
        layers.Dense(10, activation="softmax")])
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(1)
    x = rng.random((96, 12, 12, 1)).astype(np.float32)
    y = rng.integers(0, 10, 96)
    model.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0)
    return [wt.data.copy() for wt in model.weights]


def test_two_trainings_at_two_threads_are_bit_identical(two_threads) -> None:
    for a, b in zip(_train(), _train()):
        assert np.array_equal(a, b)
