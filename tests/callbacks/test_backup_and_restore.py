"""BackupAndRestore: an interrupted fit resumes where it stopped and ends bit-identical to an uninterrupted one."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from _fit import fit, tiny_model

import minigrad
from minigrad.callbacks import BackupAndRestore, Callback, CSVLogger, EarlyStopping, ReduceLROnPlateau
from minigrad.errors import SerializationError


class Crash(Exception):
    pass


class CrashAt(Callback):
    """Raises in the middle of an epoch, like a crash that skips on_train_end."""

    def __init__(self, epoch: int, batch: int) -> None:
        super().__init__()
        self.at, self.epoch = (epoch, batch), -1

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        self.epoch = epoch

    def on_train_batch_end(self, batch: int, logs=None) -> None:
        if (self.epoch, batch) == self.at:
            raise Crash


def _callbacks(tmp: Path) -> list[Callback]:
    return [EarlyStopping(monitor="loss", patience=50), ReduceLROnPlateau(monitor="loss", patience=1, factor=0.5),
            CSVLogger(tmp / "log.csv"), BackupAndRestore(tmp / "backup")]


def _fit(tmp: Path, extra: list[Callback] = ()):
    """The real fit, 6 epochs of 5 batches; the model with .epochs_run, the epochs that ran."""
    model, script = fit(*_callbacks(tmp), *extra, n=40, seed=3, epochs=6)
    model.epochs_run = script.epochs
    return model


def test_resume_after_crash_is_identical_in_process(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    reference = _fit(tmp_path / "a")
    with pytest.raises(Crash):
        _fit(tmp_path / "b", [CrashAt(epoch=3, batch=2)])
    assert (tmp_path / "b" / "backup" / "backup.mgckpt").exists()
    resumed = _fit(tmp_path / "b")
    assert resumed.epochs_run == [3, 4, 5]  # epochs 0-2 were done before the crash
    for got, want in zip(resumed.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(got, want)
    assert resumed.history.history == reference.history.history and resumed.history.epoch == list(range(6))
    assert resumed.optimizer.learning_rate == reference.optimizer.learning_rate
    assert (tmp_path / "b" / "log.csv").read_text() == (tmp_path / "a" / "log.csv").read_text()
    assert not (tmp_path / "b" / "backup").exists()  # delete_checkpoint after a completed fit


def test_callback_state_is_restored(tmp_path: Path) -> None:
    with pytest.raises(Crash):
        _fit(tmp_path, [CrashAt(epoch=2, batch=0)])
    es, plateau, csvlog, backup = _callbacks(tmp_path)
    minigrad.set_seed(3)
    model = tiny_model()
    from minigrad.callbacks import CallbackList

    cbs = CallbackList([es, plateau, csvlog, backup], model=model, add_history=True)
    cbs.on_train_begin()
    assert model._initial_epoch == 2 and cbs.history.epoch == [0, 1]
    assert es.best is not None and es.best == min(cbs.history.history["loss"])
    assert plateau.best == es.best and model.optimizer.iterations == 10


def test_keep_backup_and_fresh_start(tmp_path: Path) -> None:
    keep = BackupAndRestore(tmp_path, delete_checkpoint=False)
    fit(keep, epochs=2)
    assert os.path.exists(keep.backup_path)
    _, again = fit(BackupAndRestore(tmp_path), epochs=3)
    assert again.epochs == [2]


def test_integer_save_freq_backs_up_mid_epoch(tmp_path: Path) -> None:
    seen: list = []  # 40 rows: 5 batches of 8 per epoch

    class Watch(Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(self.model.get_weights())

    with pytest.raises(Crash):
        fit(BackupAndRestore(tmp_path, save_freq=3), Watch(), CrashAt(epoch=1, batch=2), n=40, epochs=3)
    from minigrad.saving import read_archive

    backup = read_archive(tmp_path / "backup.mgckpt", "backup")
    assert backup["epoch"] == 1  # one completed epoch; the last backup was after global batch 6
    np.testing.assert_array_equal(backup["weights"][0], seen[5][0])
    _, resumed = fit(BackupAndRestore(tmp_path, save_freq=3), n=40, epochs=3)
    assert resumed.epochs == [1, 2]  # restarts the interrupted epoch from the mid-epoch weights


def test_damaged_backup_fails_clearly(tmp_path: Path) -> None:
    (tmp_path / "backup.mgckpt").write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(SerializationError, match="not a minigrad file, or truncated"):
        fit(BackupAndRestore(tmp_path))


def test_argument_checks(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="save_freq"):
        BackupAndRestore(tmp_path, save_freq="batch")
    with pytest.raises(ValueError, match="backup_dir"):
        BackupAndRestore("")


CHILD = textwrap.dedent("""
    import os, signal, sys
    import numpy as np
    import minigrad
    from minigrad import layers, models, optimizers
    from minigrad.callbacks import BackupAndRestore, Callback, CSVLogger, EarlyStopping, ReduceLROnPlateau

    folder, kill_epoch, kill_batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

    class Kill(Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch
        def on_train_batch_end(self, batch, logs=None):
            if (self.epoch, batch) == (kill_epoch, kill_batch):
                os.kill(os.getpid(), signal.SIGKILL)

    minigrad.set_num_threads(1)
    minigrad.set_seed(7)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 8)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[(x[:, :3].argmax(axis=1))]
    model = models.Sequential([layers.Dense(16, activation="relu", input_shape=(8,)), layers.Dropout(0.2),
                               layers.Dense(3, activation="softmax")])
    model.compile(optimizer=optimizers.Adam(0.02), loss="categorical_crossentropy", metrics=["accuracy"])
    callbacks = [EarlyStopping(patience=9, restore_best_weights=True), ReduceLROnPlateau(patience=1, factor=0.5),
                 CSVLogger(os.path.join(folder, "log.csv")), BackupAndRestore(os.path.join(folder, "backup")), Kill()]
    history = model.fit(x, y, batch_size=16, epochs=5, verbose=0, validation_split=0.25, callbacks=callbacks)
    np.savez(os.path.join(folder, "out.npz"), *model.get_weights(), ran=np.array(history.epoch),
             loss=np.array(history.history["loss"]), val_loss=np.array(history.history["val_loss"]),
             lr=np.array(model.optimizer.learning_rate), iterations=np.array(model.optimizer.iterations))
""")


def _child(folder: Path, kill: tuple[int, int] = (-1, -1)) -> subprocess.CompletedProcess:
    script = folder / "child.py"
    script.write_text(CHILD)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    return subprocess.run([sys.executable, str(script), str(folder), *map(str, kill)],
                          capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, np.ndarray], str]:
    folder = tmp_path_factory.mktemp("reference")
    done = _child(folder)
    assert done.returncode == 0, done.stderr
    return dict(np.load(folder / "out.npz")), (folder / "log.csv").read_text()


@pytest.mark.slow  # two fresh interpreters per case
@pytest.mark.parametrize("kill", [(0, 2), (3, 1)])
def test_sigkill_mid_epoch_then_rerun_matches_uninterrupted(tmp_path: Path, kill: tuple[int, int],
                                                             uninterrupted) -> None:
    """A real Sequential (Dense, Dropout, Adam) with EarlyStopping, ReduceLROnPlateau and CSVLogger state."""
    reference, reference_csv = uninterrupted
    killed = _child(tmp_path, kill)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert not (tmp_path / "out.npz").exists()
    assert (tmp_path / "backup" / "backup.mgckpt").exists() == (kill[0] > 0)
    resumed = _child(tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    got = dict(np.load(tmp_path / "out.npz"))
    assert got.keys() == reference.keys() and reference["ran"].tolist() == [0, 1, 2, 3, 4]
    for key in reference:
        np.testing.assert_array_equal(got[key], reference[key], err_msg=key)  # bit-identical
    assert (tmp_path / "log.csv").read_text() == reference_csv
    assert not (tmp_path / "backup").exists()
