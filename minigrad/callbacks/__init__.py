"""Callbacks: hooks that fit/evaluate/predict call, and the registry of built-in and plugin callbacks.

`minigrad.callbacks.get("early_stopping")`, `register("my_callback")(MyCallback)`; plugins add more
through the `minigrad.callbacks` entry-point group. Optional libraries (tqdm, tensorboardX, urllib)
are imported when a callback first needs them, not here.
"""
from minigrad.callbacks.backup_and_restore import BackupAndRestore
from minigrad.callbacks.base import Callback, deserialize, get, register, registry, serialize
from minigrad.callbacks.callback_list import CallbackList
from minigrad.callbacks.csv_logger import CSVLogger
from minigrad.callbacks.early_stopping import EarlyStopping
from minigrad.callbacks.history import History
from minigrad.callbacks.lambda_callback import LambdaCallback
from minigrad.callbacks.learning_rate_scheduler import LearningRateScheduler
from minigrad.callbacks.model_checkpoint import ModelCheckpoint
from minigrad.callbacks.progbar import ProgbarLogger
from minigrad.callbacks.reduce_lr_on_plateau import ReduceLROnPlateau
from minigrad.callbacks.remote_monitor import RemoteMonitor
from minigrad.callbacks.swap_ema_weights import SwapEMAWeights
from minigrad.callbacks.tensorboard import TensorBoard
from minigrad.callbacks.terminate_on_nan import TerminateOnNaN

__all__ = [
    "Callback", "CallbackList", "History", "ProgbarLogger", "ModelCheckpoint", "BackupAndRestore",
    "EarlyStopping", "LearningRateScheduler", "ReduceLROnPlateau", "TerminateOnNaN", "CSVLogger",
    "LambdaCallback", "RemoteMonitor", "TensorBoard", "SwapEMAWeights",
    "registry", "register", "get", "serialize", "deserialize",
]
