"""EarlyStopping, ReduceLROnPlateau and LearningRateScheduler against Keras' documented behaviour."""
from __future__ import annotations

import numpy as np
import pytest
from _fit import fit
from hypothesis import example, given, settings
from hypothesis import strategies as st

from minigrad.callbacks import Callback, EarlyStopping, LearningRateScheduler, ReduceLROnPlateau


def _run(scripted: list[float], *cbs, lr: float = 0.05):
    """The real fit with val_loss = scripted[epoch]; the model with .epochs_run, the epochs that ran."""
    model, script = fit(*cbs, scripted=scripted, learning_rate=lr)
    model.epochs_run = script.epochs
    return model


# ----- EarlyStopping
def test_patience_counts_epochs_without_improvement() -> None:
    es = EarlyStopping(patience=2)
    model = _run([5, 4, 4.5, 4.6, 4.7, 1], es)
    assert model.epochs_run == [0, 1, 2, 3] and es.stopped_epoch == 3 and es.best == 4


def test_min_delta_requires_a_large_enough_improvement() -> None:
    assert _run([5, 4.8, 4.6, 4.4, 3.0], EarlyStopping(patience=2, min_delta=0.5)).epochs_run == [0, 1, 2]
    assert _run([5, 4.8, 4.6, 4.4, 3.0], EarlyStopping(patience=2)).epochs_run == [0, 1, 2, 3, 4]


def test_baseline_must_be_beaten_to_reset_patience() -> None:
    values = [5, 4, 3.5, 3.6, 3.4, 3.3]
    assert _run(values, EarlyStopping(patience=2, baseline=3.0)).epochs_run == [0, 1, 2, 3]
    assert _run(values, EarlyStopping(patience=2)).epochs_run == [0, 1, 2, 3, 4, 5]


def test_start_from_epoch_ignores_warm_up() -> None:
    rising = [1, 2, 3, 4, 5, 6]
    assert _run(rising, EarlyStopping(patience=0)).epochs_run == [0, 1]
    assert _run(rising, EarlyStopping(patience=0, start_from_epoch=3)).epochs_run == [0, 1, 2, 3, 4]


def test_mode_max_and_auto_direction() -> None:
    assert _run([0.5, 0.6, 0.4, 0.3], EarlyStopping(monitor="val_loss", mode="max", patience=1)).epochs_run == [0, 1, 2]
    es = EarlyStopping(monitor="val_accuracy")
    es.set_model(None)
    es.on_train_begin()
    assert es._direction == "max"
    with pytest.raises(ValueError, match="pass mode='min' or mode='max'"):
        EarlyStopping(monitor="val_wobble").on_train_begin()


class Snapshots(Callback):
    """Records the weights and learning rate at every epoch end (after the callbacks before it)."""

    def __init__(self) -> None:
        super().__init__()
        self.weights: list = []
        self.lrs: list[float] = []

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        self.weights.append(self.model.get_weights())
        self.lrs.append(self.model.optimizer.learning_rate)


def test_restore_best_weights_puts_back_the_best_epoch() -> None:
    snap = Snapshots()
    es = EarlyStopping(patience=2, restore_best_weights=True)
    model = _run([5, 3, 4, 4.5, 4.2], snap, es)
    assert model.epochs_run == [0, 1, 2, 3] and es.best_epoch == 1
    for got, want in zip(model.get_weights(), snap.weights[1]):
        np.testing.assert_array_equal(got, want)
    assert not np.array_equal(snap.weights[1][0], snap.weights[3][0])  # training did move the weights


def test_missing_monitor_warns_and_continues() -> None:
    with pytest.warns(RuntimeWarning, match="'val_nope'.*available: loss, mae, val_loss"):
        model = _run([1, 2, 3], EarlyStopping(monitor="val_nope", mode="min"))
    assert model.epochs_run == [0, 1, 2]


def test_early_stopping_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping(patience=-1)
    with pytest.raises(ValueError, match="mode"):
        EarlyStopping(mode="best")


def _reference_stop(values: list[float], patience: int) -> int | None:
    """Independent statement of Keras' rule: stop at the first non-improving epoch e > 0 that lies at
    least `patience` epochs after the last improvement."""
    best, last_improvement = None, 0
    for e, v in enumerate(values):
        if best is None or v < best:
            best, last_improvement = v, e
        elif e > 0 and e - last_improvement >= patience:
            return e
    return None


@settings(max_examples=40)
@given(values=st.lists(st.integers(0, 6).map(float), min_size=1, max_size=12), patience=st.integers(0, 4))
@example(values=[1.0, 1.0], patience=0)
def test_early_stopping_matches_the_rule(values: list[float], patience: int) -> None:
    es = EarlyStopping(monitor="val_loss", patience=patience)
    model = _run(values, es)
    stop = _reference_stop(values, patience)
    assert model.epochs_run == list(range(len(values) if stop is None else stop + 1))


def test_early_stopping_state_round_trips() -> None:
    es = EarlyStopping(patience=5, restore_best_weights=True)
    _run([3, 2, 2.5, 2.6], es)
    again = EarlyStopping(patience=5, restore_best_weights=True)
    again.set_state(es.get_state())
    assert (again.wait, again.best, again.best_epoch) == (2, 2.0, 1)
    np.testing.assert_array_equal(again.best_weights[0], es.best_weights[0])


# ----- ReduceLROnPlateau
def _lrs_after_each_epoch(cb, scripted: list[float], lr: float = 0.1) -> list[float]:
    snap = Snapshots()
    _run(scripted, cb, snap, lr=lr)
    return snap.lrs


def test_reduce_lr_factor_patience_cooldown_min_lr() -> None:
    cb = ReduceLROnPlateau(factor=0.5, patience=2, cooldown=1, min_lr=0.01)
    lrs = _lrs_after_each_epoch(cb, [5.0] * 11)
    assert lrs == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.0125, 0.0125, 0.01, 0.01, 0.01])


def test_reduce_lr_waits_while_improving_and_respects_min_delta() -> None:
    improving = [5.0, 4.0, 3.0, 2.0, 1.0]
    assert _lrs_after_each_epoch(ReduceLROnPlateau(patience=1), improving) == pytest.approx([0.1] * 5)
    tiny_steps = [5.0, 4.99, 4.98, 4.97]
    lrs = _lrs_after_each_epoch(ReduceLROnPlateau(patience=1, min_delta=0.1, factor=0.1), tiny_steps)
    assert lrs == pytest.approx([0.1, 0.01, 0.001, 0.0001])


def test_reduce_lr_logs_learning_rate_and_validates() -> None:
    model = _run([1.0, 1.0], ReduceLROnPlateau(patience=5), lr=0.3)
    assert model.history.history["learning_rate"] == [0.3, 0.3]
    with pytest.raises(ValueError, match="factor"):
        ReduceLROnPlateau(factor=1.0)
    with pytest.raises(ValueError, match="cooldown"):
        ReduceLROnPlateau(cooldown=-1)


# ----- LearningRateScheduler
def test_scheduler_sets_lr_each_epoch_from_epoch_and_lr() -> None:
    sched = LearningRateScheduler(lambda epoch, lr: lr if epoch < 2 else lr * 0.5)
    model = _run([1.0] * 5, sched, lr=0.08)
    assert model.history.history["learning_rate"] == pytest.approx([0.08, 0.08, 0.04, 0.02, 0.01])


def test_scheduler_accepts_legacy_one_argument_form() -> None:
    model = _run([1.0] * 3, LearningRateScheduler(lambda epoch: 0.1 / (epoch + 1)))
    assert model.history.history["learning_rate"] == pytest.approx([0.1, 0.05, 0.1 / 3])


def test_scheduler_rejects_non_numbers() -> None:
    with pytest.raises(ValueError, match="must return a float, received str at epoch 0"):
        _run([1.0], LearningRateScheduler(lambda epoch, lr: "fast"))
    with pytest.raises(ValueError, match="learning rate -1"):
        _run([1.0], LearningRateScheduler(lambda epoch, lr: -1.0))
    with pytest.raises(TypeError, match="callable"):
        LearningRateScheduler(0.1)
