"""ModelCheckpoint: templates, save_best_only with modes, weights-only files, batch frequency."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from _fit import fit, regression_data, tiny_model

import minigrad
from minigrad.callbacks import Callback, ModelCheckpoint


class Snapshots(Callback):
    def __init__(self) -> None:
        super().__init__()
        self.weights: list = []

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        self.weights.append(self.model.get_weights())


def _fit(scripted: list[float], *cbs, batch_size: int = 8) -> None:
    fit(*cbs, scripted=scripted, batch_size=batch_size)


def test_template_names_one_file_per_epoch(tmp_path: Path) -> None:
    snap = Snapshots()
    _fit([0.5, 0.25, 0.125], snap, ModelCheckpoint(str(tmp_path / "ckpt-{epoch:02d}-{val_loss:.2f}.mg")))
    assert sorted(os.listdir(tmp_path)) == ["ckpt-01-0.50.mg", "ckpt-02-0.25.mg", "ckpt-03-0.12.mg"]
    saved = minigrad.load_model(tmp_path / "ckpt-02-0.25.mg")
    for got, want in zip(saved.get_weights(), snap.weights[1]):
        np.testing.assert_array_equal(got, want)
    assert saved.optimizer.iterations == 4  # full model: optimizer state included


def test_save_best_only_keeps_the_best_epoch(tmp_path: Path) -> None:
    snap = Snapshots()
    path = tmp_path / "best.mg"
    cb = ModelCheckpoint(path, save_best_only=True, save_weights_only=True)
    _fit([3.0, 1.0, 2.0, 1.5], snap, cb)
    assert cb.best == 1.0
    model = tiny_model()
    model.load_weights(path)
    np.testing.assert_array_equal(model.get_weights()[0], snap.weights[1][0])


def test_save_best_only_mode_max_and_initial_threshold(tmp_path: Path) -> None:
    saved_at: list[int] = []

    class Spy(ModelCheckpoint):
        def _save(self, epoch, batch, logs):
            before = self.best
            super()._save(epoch, batch, logs)
            if self.best != before:
                saved_at.append(epoch)

    _fit([1.0, 3.0, 2.0, 4.0], Spy(tmp_path / "a.mg", save_best_only=True, mode="max"))
    assert saved_at == [0, 1, 3]
    saved_at.clear()
    _fit([1.0, 3.0, 2.0, 0.5], Spy(tmp_path / "b.mg", save_best_only=True, initial_value_threshold=1.5))
    assert saved_at == [0, 3] and (tmp_path / "b.mg").exists()
    saved_at.clear()
    _fit([2.0, 3.0], Spy(tmp_path / "c.mg", save_best_only=True, initial_value_threshold=1.5))
    assert saved_at == [] and not (tmp_path / "c.mg").exists()


def test_integer_save_freq_counts_batches_across_epochs(tmp_path: Path) -> None:
    # 16 rows / batch 4 = 4 batches per epoch; every 3 batches -> global batches 3, 6, 9, 12
    _fit([1.0, 1.0, 1.0], ModelCheckpoint(tmp_path / "e{epoch}-b{batch}.mg", save_freq=3), batch_size=4)
    assert sorted(os.listdir(tmp_path)) == ["e1-b3.mg", "e2-b2.mg", "e3-b1.mg", "e3-b4.mg"]


def test_creates_folders_and_names_missing_fields(tmp_path: Path) -> None:
    _fit([1.0], ModelCheckpoint(tmp_path / "deep" / "er" / "m-{epoch}.mg"))
    assert (tmp_path / "deep" / "er" / "m-1.mg").exists()
    with pytest.raises(ValueError, match=r"uses \{val_acc\}.*available fields: epoch, loss, mae, val_loss"):
        _fit([1.0], ModelCheckpoint(tmp_path / "m-{val_acc}.mg"))


def test_missing_monitor_warns_and_saves_as_keras_3(tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match="'val_auc' available; saving to .*m.mg anyway.*available: loss"):
        _fit([1.0], ModelCheckpoint(tmp_path / "m.mg", monitor="val_auc", save_best_only=True))
    assert (tmp_path / "m.mg").exists()


def test_argument_checks(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="save_freq"):
        ModelCheckpoint(tmp_path / "m", save_freq=0)
    with pytest.raises(ValueError, match="mode"):
        ModelCheckpoint(tmp_path / "m", mode="up")


def test_real_model_checkpoints_load_back(tmp_path: Path) -> None:
    from minigrad import layers, models

    minigrad.set_seed(0)
    x, y = regression_data(n=16)
    model = models.Sequential([layers.Dense(4, activation="relu", input_shape=(3,)), layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, epochs=2, verbose=0, validation_split=0.25,
              callbacks=[ModelCheckpoint(tmp_path / "m-{epoch}.mg"),
                         ModelCheckpoint(tmp_path / "w-{epoch}.mg", save_weights_only=True)])
    loaded = minigrad.load_model(tmp_path / "m-2.mg")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert loaded.optimizer.iterations == model.optimizer.iterations
    with pytest.raises(minigrad.errors.SerializationError, match="holds a minigrad 'weights' file"):
        minigrad.load_model(tmp_path / "w-2.mg")
