"""Callback base, CallbackList, registry, History, LambdaCallback and TerminateOnNaN."""
from __future__ import annotations

import math

import numpy as np
import pytest
from _fit import Scripted, fit, regression_data, tiny_model
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad
from minigrad import callbacks
from minigrad.callbacks import Callback, CallbackList, History, LambdaCallback, ProgbarLogger, TerminateOnNaN

HOOKS = [
    "on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end", "on_train_batch_begin",
    "on_train_batch_end", "on_test_begin", "on_test_end", "on_test_batch_begin", "on_test_batch_end",
    "on_predict_begin", "on_predict_end", "on_predict_batch_begin", "on_predict_batch_end",
]


class Recorder(Callback):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple] = []
        for hook in HOOKS:
            setattr(self, hook, lambda *a, _h=hook: self.calls.append((_h, *a[:1])) if a and isinstance(a[0], int)
                    else self.calls.append((_h,)))


def test_base_hooks_exist_and_do_nothing() -> None:
    cb = Callback()
    for hook in HOOKS:
        assert getattr(cb, hook).__qualname__ == f"Callback.{hook}"
    cb.set_model("m")
    cb.set_params({"epochs": 2})
    assert (cb.model, cb.params, cb.get_state()) == ("m", {"epochs": 2}, {})


def test_fit_calls_hooks_in_keras_order() -> None:
    x, y = regression_data(n=16)
    rec = Recorder()
    fit(rec, epochs=2, validation_data=(x[:8], y[:8]))
    epoch0 = [("on_epoch_begin", 0), ("on_train_batch_begin", 0), ("on_train_batch_end", 0),
              ("on_train_batch_begin", 1), ("on_train_batch_end", 1), ("on_test_begin",),
              ("on_test_batch_begin", 0), ("on_test_batch_end", 0), ("on_test_end",), ("on_epoch_end", 0)]
    assert rec.calls[0] == ("on_train_begin",)  # after Scripted, which only counts epochs here
    assert rec.calls[1:11] == epoch0
    assert rec.calls[-1] == ("on_train_end",)
    assert len(rec.calls) == 2 + 2 * len(epoch0)
    assert rec.params == {"verbose": 0, "epochs": 2, "steps": 2}


def test_predict_hooks() -> None:
    rec = Recorder()
    minigrad.set_seed(0)
    tiny_model().predict(np.zeros((10, 3), np.float32), batch_size=8, verbose=0, callbacks=[rec])
    assert rec.calls == [("on_predict_begin",), ("on_predict_batch_begin", 0), ("on_predict_batch_end", 0),
                         ("on_predict_batch_begin", 1), ("on_predict_batch_end", 1), ("on_predict_end",)]


def test_callback_list_adds_history_and_progbar_once() -> None:
    own = History()
    cl = CallbackList([own], add_history=True, add_progbar=True, verbose=0, epochs=3, steps=5)
    assert cl.history is own
    assert sum(isinstance(c, History) for c in cl) == 1
    assert sum(isinstance(c, ProgbarLogger) for c in cl) == 1
    assert all(c.params == {"verbose": 0, "epochs": 3, "steps": 5} for c in cl)
    bare = CallbackList(None)
    assert len(bare) == 0 and bare.history is None and bare.progbar is None


def test_callback_list_puts_state_keepers_last_and_sets_model() -> None:
    class Last(Callback):
        _runs_last = True

    first, last, other = Callback(), Last(), Callback()
    cl = CallbackList([first, last, other], model="m")
    assert cl.callbacks == [first, other, last]
    assert all(c.model == "m" for c in cl)
    extra = Callback()
    cl.append(extra)
    assert cl.callbacks[-1] is last and extra.model == "m"


def test_history_records_epochs_and_sets_model_history() -> None:
    model, _ = fit(n=40, seed=1, epochs=3, validation_data=regression_data(n=40))
    history = model.history
    assert model.history is history and history.epoch == [0, 1, 2]
    assert set(history.history) == {"loss", "mae", "val_loss", "val_mae"}
    assert all(len(v) == 3 and all(isinstance(f, float) for f in v) for v in history.history.values())
    assert history.history["loss"][2] < history.history["loss"][0]  # it trained
    restored = History()
    restored.set_state(history.get_state())
    assert restored.history == history.history and restored.epoch == history.epoch


def test_registry_get_serialize_roundtrip() -> None:
    assert callbacks.get("EarlyStopping").__class__ is callbacks.EarlyStopping
    assert isinstance(callbacks.get(callbacks.TerminateOnNaN), TerminateOnNaN)
    es = callbacks.EarlyStopping(monitor="loss", patience=3, min_delta=0.5)
    entry = callbacks.serialize(es)
    assert entry["name"] == "early_stopping"
    again = callbacks.deserialize(entry)
    assert again.get_config() == es.get_config()
    names = set(callbacks.registry.names())
    assert {"model_checkpoint", "backup_and_restore", "tensorboard", "early_stopping", "learning_rate_scheduler",
            "reduce_lr_on_plateau", "remote_monitor", "lambda_callback", "terminate_on_nan", "csv_logger",
            "progbar_logger", "swap_ema_weights", "history"} <= names
    with pytest.raises(TypeError, match="callbacks.get"):
        callbacks.get(3.5)
    with pytest.raises(ValueError, match="early_stopping"):
        callbacks.get("early_stoping")


def test_plugin_callback_registers() -> None:
    @callbacks.register("counting_test_callback")
    class Counting(Callback):
        pass

    try:
        assert isinstance(callbacks.get("counting_test_callback"), Counting)
        with pytest.raises(ValueError, match="already registered"):
            callbacks.register("counting_test_callback")(Counting)
        with pytest.raises(TypeError):
            callbacks.register("not_a_callback")(int)
    finally:
        callbacks.registry._builtins.pop("counting_test_callback", None)


def test_lambda_callback_routes_each_hook() -> None:
    seen: list = []
    cb = LambdaCallback(on_epoch_end=lambda e, logs: seen.append(("end", e, logs["loss"])),
                        on_train_begin=lambda logs: seen.append("begin"),
                        on_test_end=lambda logs: seen.append("test"))
    fit(cb, n=8, epochs=2, validation_data=regression_data(n=8))
    assert seen[0] == "begin" and seen[1] == "test" and seen[2][:2] == ("end", 0) and seen[4][:2] == ("end", 1)
    with pytest.raises(TypeError, match="unknown hook 'on_epoch_ended'"):
        LambdaCallback(on_epoch_ended=print)
    with pytest.raises(TypeError, match="must be callable"):
        LambdaCallback(on_epoch_end=3)


@settings(max_examples=10)
@given(bad_at=st.integers(0, 9), value=st.sampled_from([math.nan, math.inf, -math.inf]))
def test_terminate_on_nan_stops_at_first_bad_batch(bad_at: int, value: float) -> None:
    class Model:
        stop_training = False

    model, cb = Model(), TerminateOnNaN()
    cb.set_model(model)
    for batch in range(10):
        if batch == bad_at:
            with pytest.warns(RuntimeWarning, match=f"Batch {bad_at}: invalid loss"):
                cb.on_train_batch_end(batch, {"loss": value})
            break
        cb.on_train_batch_end(batch, {"loss": 1.0})
        assert not model.stop_training
    assert model.stop_training


def test_terminate_on_nan_in_fit_stops_training() -> None:
    minigrad.set_seed(0)
    x, y = regression_data(n=32)
    y[20] = 1e30  # finite, but its square overflows float32: the batch holding row 20 has an infinite loss
    model, script = tiny_model(), Scripted()
    seen: list[int] = []
    after = LambdaCallback(on_train_batch_end=lambda batch, logs: seen.append(batch))
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning, match="Batch 5: invalid loss"):
        history = model.fit(x, y, batch_size=4, epochs=5, shuffle=False, verbose=0,
                            callbacks=[script, TerminateOnNaN(), after])
    assert script.epochs == [0] and history.epoch == [0]
    assert seen == [0, 1, 2, 3, 4, 5]  # fit stopped right after the bad batch, not at the epoch end


def test_function_holding_callbacks_refuse_serialization() -> None:
    from minigrad.callbacks import LearningRateScheduler

    for cb in (LambdaCallback(on_epoch_end=print), LearningRateScheduler(lambda epoch, lr: lr)):
        with pytest.raises(TypeError, match="never serialized"):
            callbacks.serialize(cb)


def test_import_minigrad_loads_no_optional_library() -> None:
    import subprocess
    import sys
    from pathlib import Path

    code = ("import sys, minigrad; print(sorted(m for m in ('tqdm', 'matplotlib', 'tensorboardX', 'urllib.request', "
            "'http.client') if m in sys.modules))")
    root = str(Path(__file__).parents[2])
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root,
                         env={"PYTHONPATH": root, "PATH": ""}, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
