"""fit/evaluate/predict on generators, iterables and PyDataset/Sequence objects; sample and class weights.

Written the way the Keras guides write them: a generator with steps_per_epoch, a PyDataset subclass
with on_epoch_end, weighted losses checked against their NumPy formula.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import minigrad
from minigrad import layers, models, optimizers
from minigrad.models.adapters import RAN_OUT


def regression(n: int = 48, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 3)).astype(np.float32)
    return x, (x @ np.array([[1.0], [-2.0], [0.5]], np.float32) + 0.3).astype(np.float32)


def linear(seed: int = 0, lr: float = 0.05, **compile_kwargs) -> models.Sequential:
    minigrad.set_seed(seed)
    model = models.Sequential([layers.Dense(1, input_shape=(3,))])
    compile_kwargs.setdefault("loss", "mse")
    model.compile(optimizer=optimizers.SGD(learning_rate=lr), **compile_kwargs)
    return model


def batch_generator(x: np.ndarray, y: np.ndarray, batch_size: int, forever: bool = True):
    while True:
        for i in range(0, len(x), batch_size):
            yield x[i:i + batch_size], y[i:i + batch_size]
        if not forever:
            return


class Batches(minigrad.utils.PyDataset):
    """The Keras guide's PyDataset: batch idx of (x, y), with an epoch counter in on_epoch_end."""

    def __init__(self, x: np.ndarray, y: np.ndarray, batch_size: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.x, self.y, self.batch_size = x, y, batch_size
        self.epochs_ended, self.reads = 0, []

    def __len__(self) -> int:
        return math.ceil(len(self.x) / self.batch_size)

    def __getitem__(self, idx: int):
        self.reads.append(idx)
        low = idx * self.batch_size
        high = min(low + self.batch_size, len(self.x))
        return self.x[low:high], self.y[low:high]

    def on_epoch_end(self) -> None:
        self.epochs_ended += 1


def test_generator_with_steps_per_epoch_trains_and_keeps_reading_where_it_stopped() -> None:
    x, y = regression()
    drawn = []

    def gen():
        for xb, yb in batch_generator(x, y, 8):
            drawn.append(len(xb))
            yield xb, yb

    model = linear()
    history = model.fit(gen(), steps_per_epoch=4, epochs=3, verbose=0)
    assert history.epoch == [0, 1, 2] and len(drawn) == 12  # lazily: exactly steps * epochs batches
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert model.evaluate(gen(), steps=2, verbose=0) == pytest.approx(model.evaluate(x[:16], y[:16], verbose=0))
    assert model.predict(gen(), steps=3, verbose=0).shape == (24, 1)


def test_a_generator_that_runs_out_warns_like_keras_and_stops() -> None:
    x, y = regression(n=24)
    model = linear()
    with pytest.warns(UserWarning, match="ran out of data; interrupting training"):
        history = model.fit(batch_generator(x, y, 8, forever=False), steps_per_epoch=5, epochs=3, verbose=0)
    assert history.epoch == [0]  # 3 batches, then nothing left for epochs 2 and 3
    with pytest.warns(UserWarning, match=RAN_OUT[:30]):  # without steps: the second epoch finds it empty
        history = model.fit(batch_generator(x, y, 8, forever=False), epochs=3, verbose=0)
    assert history.epoch == [0]


def test_pydataset_subclass_runs_len_batches_per_epoch_and_on_epoch_end() -> None:
    x, y = regression()
    data = Batches(x, y, 10)
    model = linear()
    model.fit(data, epochs=2, shuffle=False, verbose=0)
    assert data.reads == [0, 1, 2, 3, 4] * 2 and data.epochs_ended == 2
    data.reads.clear()
    model.fit(data, epochs=1, verbose=0)  # shuffle=True shuffles the batch order, as Keras does
    assert sorted(data.reads) == [0, 1, 2, 3, 4]
    data.reads.clear()
    assert model.predict(data, verbose=0).shape == (48, 1) and data.reads == [0, 1, 2, 3, 4]
    assert minigrad.utils.Sequence is minigrad.utils.PyDataset
    assert (data.workers, data.use_multiprocessing, data.max_queue_size) == (1, False, 10)


def test_steps_shorter_than_a_pydataset_continue_across_epochs() -> None:
    x, y = regression()
    data = Batches(x, y, 12)  # 4 batches
    linear().fit(data, steps_per_epoch=2, epochs=3, shuffle=False, verbose=0)
    assert data.reads == [0, 1, 2, 3, 0, 1] and data.epochs_ended == 3


def test_an_endless_getitem_object_is_bounded_by_steps_and_refused_without() -> None:
    x, y = regression(n=8)

    class Endless:  # never raises IndexError and has no __len__: once grew a process to 24 GB
        reads = 0

        def __getitem__(self, i):
            Endless.reads += 1
            return x, y

    model = linear()
    model.fit(Endless(), steps_per_epoch=3, epochs=2, verbose=0)
    model.evaluate(Endless(), steps=2, verbose=0)
    assert model.predict(Endless(), steps=2, verbose=0).shape == (16, 1)
    assert Endless.reads == 10
    for call in (lambda: model.fit(Endless(), verbose=0), lambda: model.predict(Endless(), verbose=0),
                 lambda: model.fit(x, y, validation_data=Endless(), verbose=0)):
        with pytest.raises(ValueError, match="never ends; pass (steps_per_epoch|steps|validation_steps)="):
            call()


def test_a_list_of_batches_is_reread_every_epoch() -> None:
    x, y = regression(n=16)
    batches = [(x[:8], y[:8]), (x[8:], y[8:])]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        history = linear().fit(batches, epochs=3, verbose=0, validation_data=batches)
    assert history.epoch == [0, 1, 2] and len(history.history["val_loss"]) == 3


def test_stream_arguments_follow_keras_rules() -> None:
    x, y = regression(n=16)
    model = linear()
    with pytest.raises(ValueError, match="`y` should not be passed"):
        model.fit(batch_generator(x, y, 8), y, steps_per_epoch=1, verbose=0)
    with pytest.raises(ValueError, match="`sample_weight` should not be passed"):
        model.fit(Batches(x, y, 8), sample_weight=np.ones(16), verbose=0)
    with pytest.raises(ValueError, match="validation_split is only supported for NumPy arrays"):
        model.fit(batch_generator(x, y, 8), steps_per_epoch=1, validation_split=0.2, verbose=0)
    with pytest.warns(UserWarning, match="batch_size=4 is ignored because x is a Python generator"):
        model.fit(batch_generator(x, y, 8), batch_size=4, steps_per_epoch=1, verbose=0)
    with pytest.raises(ValueError, match="fit: expected steps_per_epoch to be a positive int or None"):
        model.fit(x, y, steps_per_epoch=0, verbose=0)
    with pytest.raises(ValueError, match="each batch must be"):
        model.fit(iter([(x, y, None, None)]), verbose=0)


def test_sample_weight_weights_the_loss_as_keras_sum_over_batch_size() -> None:
    x, y = regression(n=16)
    w = np.linspace(0.0, 2.0, 16).astype(np.float32)
    model = linear(lr=0.1)
    kernel, bias = (a.astype(np.float64) for a in model.get_weights())
    residual = x @ kernel + bias - y
    expected = float(np.mean(w * residual[:, 0] ** 2))  # sum(w * loss) / N, not / sum(w)
    assert model.evaluate(x, y, sample_weight=w, batch_size=16, verbose=0) == pytest.approx(expected, rel=1e-5)
    model.train_on_batch(x, y, sample_weight=w)
    grad_k = 2.0 / 16 * x.T.astype(np.float64) @ (w[:, None] * residual)
    grad_b = 2.0 / 16 * np.sum(w[:, None] * residual, axis=0)
    new_kernel, new_bias = model.get_weights()
    np.testing.assert_allclose(new_kernel, kernel - 0.1 * grad_k, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(new_bias, bias - 0.1 * grad_b, rtol=1e-5, atol=1e-6)


def test_class_weight_equals_the_matching_sample_weight_and_keras_errors() -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((30, 3)).astype(np.float32)
    labels = rng.integers(0, 3, 30)
    cw = {0: 1.0, 1: 4.0, 2: 0.5}
    runs = []
    for kwargs in ({"class_weight": cw}, {"sample_weight": np.array([cw[c] for c in labels])}):
        minigrad.set_seed(1)
        model = models.Sequential([layers.Dense(3, activation="softmax", input_shape=(3,))])
        model.compile(optimizer="sgd", loss="categorical_crossentropy")
        model.fit(x, minigrad.to_categorical(labels, 3), epochs=2, batch_size=10, shuffle=False, verbose=0,
                  **kwargs)
        runs.append(model.get_weights())
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)
    model = linear()
    xr, yr = regression(n=8)
    with pytest.raises(ValueError, match="class_weight and sample_weight at the same time"):
        model.fit(xr, yr, class_weight={0: 1.0}, sample_weight=np.ones(8), verbose=0)
    with pytest.raises(ValueError, match="integer class indices"):
        model.fit(xr, yr, class_weight={"a": 1.0}, verbose=0)
    seq = models.Sequential([layers.Dense(2, input_shape=(4, 3))])
    seq.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="rank 3 or more"):
        seq.fit(np.zeros((8, 4, 3), np.float32), np.zeros((8, 4, 2), np.float32), class_weight={0: 2.0},
                verbose=0)


def test_weighted_metrics_and_a_three_tuple_validation_data() -> None:
    x, y = regression(n=16)
    w = np.arange(16, dtype=np.float32) % 3
    model = linear(metrics=["mae"], weighted_metrics=["mae"])
    logs = model.evaluate(x, y, sample_weight=w, batch_size=5, verbose=0, return_dict=True)
    err = np.abs(model.predict(x, verbose=0) - y)[:, 0]
    assert logs["mae"] == pytest.approx(err.mean(), rel=1e-5)
    assert logs["weighted_mae"] == pytest.approx(np.sum(w * err) / np.sum(w), rel=1e-5)
    assert model.metrics_names == ["loss", "mae", "weighted_mae"]
    history = model.fit(x, y, epochs=1, verbose=0, validation_data=(x, y, w))
    assert history.history["val_weighted_mae"][0] == pytest.approx(
        model.evaluate(x, y, sample_weight=w, verbose=0, return_dict=True)["weighted_mae"], rel=1e-6)


def test_validation_freq_and_validation_steps() -> None:
    x, y = regression()
    data = Batches(x, y, 8)
    history = linear().fit(x, y, epochs=4, verbose=0, validation_data=data, validation_steps=2,
                           validation_freq=2)
    assert len(history.history["loss"]) == 4 and len(history.history["val_loss"]) == 2
    assert data.reads == [0, 1, 0, 1]  # each validation starts again from the first batch
    history = linear().fit(x, y, epochs=3, verbose=0, validation_split=0.25, validation_freq=[1, 3])
    assert len(history.history["val_loss"]) == 2


def test_evaluate_steps_on_arrays_reads_only_that_many_batches() -> None:
    x, y = regression()
    model = linear()
    assert model.evaluate(x, y, batch_size=8, steps=2, verbose=0) == pytest.approx(
        model.evaluate(x[:16], y[:16], verbose=0))
    assert model.predict(x, steps=3, verbose=0).shape == (48, 1)  # steps alone set batch_size = ceil(48/3)


def test_validation_split_holds_out_before_class_weights() -> None:
    rng = np.random.default_rng(4)
    x = rng.standard_normal((20, 3)).astype(np.float32)
    y = minigrad.to_categorical(rng.integers(0, 2, 20), 2)
    minigrad.set_seed(0)
    model = models.Sequential([layers.Dense(2, activation="softmax", input_shape=(3,))])
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    history = model.fit(x, y, epochs=1, verbose=0, validation_split=0.25, class_weight={0: 5.0, 1: 0.1})
    assert history.history["val_loss"][0] == pytest.approx(model.evaluate(x[15:], y[15:], verbose=0), rel=1e-6)


def test_shuffle_batch_keeps_batches_in_order_and_shuffles_inside() -> None:
    x = np.arange(20, dtype=np.float32).reshape(20, 1) @ np.ones((1, 3), np.float32)
    seen: list[list[int]] = []
    model = linear()
    default_step = model.train_step

    def recording_step(data):
        seen.append(data[0][:, 0].astype(int).tolist())
        return default_step(data)

    model.train_step = recording_step
    model.fit(x, x[:, :1], batch_size=8, shuffle="batch", verbose=0)
    assert [sorted(b) for b in seen] == [list(range(8)), list(range(8, 16)), list(range(16, 20))]
    assert any(b != sorted(b) for b in seen)


def test_a_source_with_no_batches_is_named() -> None:
    model = linear()
    with pytest.warns(UserWarning, match="ran out of data"):
        with pytest.raises(ValueError, match="predict: the data yielded no batches"):
            model.predict(iter([]), verbose=0)
    with pytest.warns(UserWarning, match="ran out of data"):
        with pytest.raises(ValueError, match="evaluate: the data yielded no batches"):
            model.evaluate(Batches(np.zeros((0, 3), np.float32), np.zeros((0, 1), np.float32), 4), verbose=0)


def test_a_validation_generator_read_once_warns_and_later_epochs_go_without_val_logs() -> None:
    x, y = regression(n=16)
    with pytest.warns(UserWarning, match="ran out of data"):
        history = linear().fit(x, y, epochs=3, verbose=0, validation_data=batch_generator(x, y, 8, forever=False))
    assert len(history.history["loss"]) == 3 and len(history.history["val_loss"]) == 1
