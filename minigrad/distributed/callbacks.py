"""How a CallbackList looks on each rank of a data-parallel job.

Rank 0 keeps every callback; the other ranks drop the ones that print or write (progress bar,
checkpoints, backups, CSV, TensorBoard, remote monitor) and run the rest silently. Two internal
callbacks frame the list: AverageLogs runs first, so every callback on every rank sees the same
averaged logs (hence identical EarlyStopping / ReduceLROnPlateau / TerminateOnNaN decisions), and
SyncState runs last, after BackupAndRestore has restored rank 0, to broadcast rank 0's state and
to make any stop_training decision the job's decision (voted on after every epoch, and after every
batch when a callback other than minigrad's predictable built-ins is in the list).
"""
from __future__ import annotations

from typing import Any

from minigrad.callbacks.base import Callback, Logs


def _primary_only() -> tuple[type, ...]:
    from minigrad.callbacks import (BackupAndRestore, CSVLogger, ModelCheckpoint, ProgbarLogger,
                                    RemoteMonitor, TensorBoard)

    return (ProgbarLogger, ModelCheckpoint, BackupAndRestore, CSVLogger, TensorBoard, RemoteMonitor)


def _predictable() -> tuple[type, ...]:
    """Built-ins whose stop_training decisions follow from the (averaged) logs alone."""
    from minigrad.callbacks import (EarlyStopping, History, LearningRateScheduler, ReduceLROnPlateau,
                                    SwapEMAWeights, TerminateOnNaN)

    return (*_primary_only(), EarlyStopping, History, LearningRateScheduler, ReduceLROnPlateau,
            SwapEMAWeights, TerminateOnNaN)


def arrange(items: list[Callback], world: Any) -> list[Callback]:
    """This rank's callbacks: filtered off rank 0, framed by AverageLogs and SyncState."""
    # decided on the list every rank was given, before filtering, so all ranks decide alike
    per_batch_vote = any(type(cb) not in _predictable() for cb in items)
    if world.rank != 0:
        items = [cb for cb in items if not isinstance(cb, _primary_only())]
        for cb in items:
            if isinstance(getattr(cb, "verbose", None), int):
                cb.verbose = 0  # messages such as EarlyStopping's come from rank 0 alone
    return [AverageLogs(world), *items, SyncState(world, per_batch_vote)]


class AverageLogs(Callback):
    """Logs of each train/test batch become their mean over ranks before any other callback reads them."""

    def __init__(self, world: Any) -> None:
        super().__init__()
        self.world = world

    def on_epoch_begin(self, epoch: int, logs: Logs = None) -> None:
        self.world.seen = 0
        self.world.reseed = True  # after the shuffle order is drawn: see World.split_stream

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        self.world.join_stream()  # first, so BackupAndRestore saves the shared stream

    def on_train_end(self, logs: Logs = None) -> None:
        self.world.reseed = False
        self.world.join_stream()

    def on_test_begin(self, logs: Logs = None) -> None:
        self.world.seen = 0

    def on_train_batch_end(self, batch: int, logs: Logs = None) -> None:
        if logs:
            self.world.average_logs(logs, f"train logs (batch {batch})")

    def on_test_batch_end(self, batch: int, logs: Logs = None) -> None:
        if logs:
            self.world.average_logs(logs, f"test logs (batch {batch})")


class SyncState(Callback):
    """Rank 0's training state on every rank at the start; one stop decision for the whole job."""

    _runs_last = True  # after BackupAndRestore (also last, listed earlier): broadcast what it restored

    def __init__(self, world: Any, per_batch_vote: bool = True) -> None:
        super().__init__()
        self.world = world
        # a vote after every batch only when a callback of the user's might stop on one rank alone
        self.per_batch_vote = per_batch_vote

    def _shared_callbacks(self) -> dict[str, Callback]:
        """Callbacks every rank runs, keyed 'ClassName#k' the same way on every rank."""
        counts: dict[str, int] = {}
        out = {}
        for cb in self._callback_list.callbacks if self._callback_list is not None else []:
            if isinstance(cb, (AverageLogs, SyncState, *_primary_only())):
                continue
            name = type(cb).__name__
            out[f"{name}#{counts.get(name, 0)}"] = cb
            counts[name] = counts.get(name, 0) + 1
        return out

    def on_train_begin(self, logs: Logs = None) -> None:
        model, world = self.model, self.world
        weights = model.weights
        if not weights and model.layers:
            raise ValueError(f"minigrad.distributed: model '{model.name}' has no weights yet; build it "
                             "before fit (input_shape= on the first layer, or model.build(shape)) so that "
                             "rank 0's initial weights can be broadcast")
        for i, w in enumerate(weights):  # in place: the optimizer's flat buffers stay bound
            if w.data.flags.c_contiguous and w.data.flags.writeable:
                world.bcast_(w.data, f"initial weight {i}")
            else:
                w.data[...] = world.bcast_(w.data.copy(), f"initial weight {i}")
        optimizer = getattr(model, "optimizer", None)
        shared = self._shared_callbacks()
        state = world.bcast_tree({
            "optimizer": optimizer.get_state() if optimizer is not None else None,
            "initial_epoch": model._initial_epoch,
            "callbacks": {k: s for k, cb in shared.items() if (s := cb.get_state())},
        }, "training state")
        if world.rank != 0:
            if state["optimizer"] is not None:
                optimizer.set_state(state["optimizer"])
            model._initial_epoch = state["initial_epoch"]
            for key, cb_state in state["callbacks"].items():
                shared[key].set_state(cb_state)
        from minigrad import random as mg_random  # the shuffle order must be the same on every rank

        mg_random.set_state(world.bcast_tree(mg_random.get_state(), "random state"))

    def on_train_batch_end(self, batch: int, logs: Logs = None) -> None:
        if self.per_batch_vote:
            self._agree_on_stop(f"stop decision (batch {batch})")

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        self._agree_on_stop(f"stop decision (epoch {epoch})")

    def _agree_on_stop(self, what: str) -> None:
        if self.world.any(bool(self.model.stop_training), what):
            self.model.stop_training = True
