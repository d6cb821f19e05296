"""SwapEMAWeights with the real optimizer's EMA (use_ema=True): evaluation, prediction and checkpoints."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import minigrad
from minigrad import layers, models, optimizers
from minigrad.callbacks import Callback, ModelCheckpoint, SwapEMAWeights


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 3)).astype(np.float32)
    return x, (x @ np.array([[1.0], [-2.0], [0.5]], np.float32)).astype(np.float32)


def _model(use_ema: bool = True) -> models.Sequential:
    minigrad.set_seed(0)
    model = models.Sequential([layers.Dense(4, activation="tanh", input_shape=(3,)), layers.Dense(1)])
    model.compile(optimizer=optimizers.SGD(0.05, momentum=0.9, use_ema=use_ema, ema_momentum=0.6), loss="mse")
    return model


def _same(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(a, b))


def test_evaluate_and_predict_run_on_the_averages_then_swap_back() -> None:
    x, y = _data()
    model = _model()
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    assert _same(model.get_weights(), model.optimizer.ema_weights())  # fit ends on the averages, as Keras
    for start in range(0, 32, 8):  # steps outside fit do not finalize: the trained weights move away
        model.train_on_batch(x[start:start + 8], y[start:start + 8])
    raw, ema = model.get_weights(), model.optimizer.ema_weights()
    assert not _same(raw, ema)
    got_loss = model.evaluate(x, y, verbose=0, callbacks=[SwapEMAWeights()])
    got_pred = model.predict(x, verbose=0, callbacks=[SwapEMAWeights()])
    assert _same(model.get_weights(), raw) and _same(model.optimizer.ema_weights(), ema)  # put back
    model.set_weights(ema)
    assert got_loss == model.evaluate(x, y, verbose=0)
    np.testing.assert_array_equal(got_pred, model.predict(x, verbose=0))


def test_validation_inside_fit_uses_the_averages() -> None:
    x, y = _data()
    plain, swapped = _model(), _model()
    minigrad.set_seed(1)
    h_plain = plain.fit(x, y, batch_size=8, epochs=2, verbose=0, validation_data=(x, y))
    minigrad.set_seed(1)
    h_swap = swapped.fit(x, y, batch_size=8, epochs=2, verbose=0, validation_data=(x, y),
                         callbacks=[SwapEMAWeights()])
    assert h_swap.history["loss"] == h_plain.history["loss"]  # training itself is untouched
    assert h_swap.history["val_loss"] != h_plain.history["val_loss"]
    assert _same(swapped.get_weights(), plain.get_weights())


def test_swap_on_epoch_lets_checkpoints_save_the_averages(tmp_path: Path) -> None:
    x, y = _data()
    seen: list = []

    class Probe(Callback):  # listed after the swap, like ModelCheckpoint
        def on_epoch_end(self, epoch, logs=None):
            seen.append((self.model.get_weights(), self.model.optimizer.ema_weights()))

    plain, model = _model(), _model()
    minigrad.set_seed(1)
    plain.fit(x, y, batch_size=8, epochs=3, verbose=0)
    minigrad.set_seed(1)
    model.fit(x, y, batch_size=8, epochs=3, verbose=0,
              callbacks=[SwapEMAWeights(swap_on_epoch=True), Probe(),
                         ModelCheckpoint(tmp_path / "w{epoch}.mg", save_weights_only=True)])
    assert all(_same(in_model, ema) for in_model, ema in seen)  # the averages were in at every epoch end
    assert _same(model.get_weights(), plain.get_weights())  # and training was not disturbed
    probe = _model()
    probe.load_weights(tmp_path / "w2.mg")
    assert _same(probe.get_weights(), seen[1][1])


def test_requires_an_ema_optimizer() -> None:
    x, y = _data()
    with pytest.raises(ValueError, match="use_ema=True"):
        _model(use_ema=False).fit(x, y, epochs=1, verbose=0, callbacks=[SwapEMAWeights()])


def test_backup_taken_with_averages_in_resumes_from_trained_weights(tmp_path: Path) -> None:
    from minigrad.callbacks import BackupAndRestore

    x, y = _data()

    class Crash(Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 2:
                raise KeyboardInterrupt

    def run(extra):
        model = _model()
        minigrad.set_seed(1)
        model.fit(x, y, batch_size=8, epochs=4, verbose=0,
                  callbacks=[SwapEMAWeights(swap_on_epoch=True), BackupAndRestore(tmp_path), *extra])
        return model

    reference = _model()
    minigrad.set_seed(1)
    reference.fit(x, y, batch_size=8, epochs=4, verbose=0)
    with pytest.raises(KeyboardInterrupt):
        run([Crash()])
    assert _same(run([]).get_weights(), reference.get_weights())
