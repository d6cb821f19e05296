"""One rank of the distributed tests: `mpiexec -n N python worker.py OUT SCENARIO` (or plain python).

Trains a small CNN on fixed random data with the same seed on every rank, then writes what the
tests compare: OUT/weights-<rank>.npz, OUT/history-<rank>.json. Scenarios add callbacks or faults.
"""
from __future__ import annotations

import json
import os
import signal
import sys

import numpy as np

import minigrad
from minigrad import callbacks, layers, models


def build(synchronized_bn: bool = False) -> models.Sequential:
    minigrad.set_seed(0)
    norm = [layers.BatchNormalization(synchronized=True)] if synchronized_bn else []
    model = models.Sequential([
        layers.Conv2D(4, (3, 3), activation="relu", input_shape=(8, 8, 1)),
        *norm,
        layers.MaxPooling2D((2, 2)),
        layers.Flatten(),
        layers.Dense(16, activation="relu"),
        layers.Dense(5, activation="softmax"),
    ])
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def data(n: int = 101) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    x = rng.random((n, 8, 8, 1), dtype=np.float32)
    return x, minigrad.to_categorical(rng.integers(0, 5, n), 5)


def fault(kind: str, rank: int, at_epoch: int) -> callbacks.Callback:
    """A callback that makes `rank` die (SIGKILL) or raise at the end of epoch `at_epoch`."""
    def on_epoch_end(epoch: int, logs: dict) -> None:
        if minigrad.distributed.rank() == rank and epoch == at_epoch:
            if kind == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            raise RuntimeError(f"injected failure on rank {rank}")
    return callbacks.LambdaCallback(on_epoch_end=on_epoch_end)


def main(out: str, scenario: str, distributed: bool) -> None:
    if distributed:
        minigrad.distributed.init(timeout=float(os.environ.get("WORKER_TIMEOUT", "60")))
    rank = minigrad.distributed.rank()
    model = build(synchronized_bn=scenario == "syncbn")
    x, y = data()
    # rank-tagged names, so a test sees a file that a rank other than 0 wrote
    cbs: list = [callbacks.ModelCheckpoint(os.path.join(out, f"r{rank}-ckpt-{{epoch}}.mg"), save_weights_only=True),
                 callbacks.CSVLogger(os.path.join(out, f"r{rank}-log.csv")),
                 callbacks.BackupAndRestore(os.path.join(out, "backup"), delete_checkpoint=False)]
    epochs = 3
    if scenario in ("kill", "raise"):
        cbs.append(fault(scenario, 1, 1))
    with open(os.path.join(out, f"pid-{rank}"), "w") as f:
        f.write(str(os.getpid()))
    if scenario == "stop":  # one rank alone decides to stop: every rank must stop at that batch
        cbs.append(callbacks.LambdaCallback(
            on_train_batch_end=lambda b, logs: rank == 1 and b == 2 and setattr(model, "stop_training", True)))
    if scenario == "hang":
        cbs.append(callbacks.LambdaCallback(
            on_epoch_end=lambda e, logs: rank == 1 and e == 1 and __import__("time").sleep(3600)))
    history = model.fit(x, y, batch_size=16, epochs=epochs, verbose=0, callbacks=cbs,
                        validation_data=data(37))
    np.savez(os.path.join(out, f"weights-{rank}.npz"), *model.get_weights())
    with open(os.path.join(out, f"history-{rank}.json"), "w") as f:
        json.dump({"history": history.history, "evaluate": model.evaluate(*data(37), verbose=0)}, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], distributed=os.environ.get("WORKER_DISTRIBUTED", "1") == "1")
