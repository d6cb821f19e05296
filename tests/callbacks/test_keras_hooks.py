"""Keras 3 callback details through the real fit: logs is always a dict, the legacy on_batch_* aliases,
progress lines on a non-terminal stdout, and TensorBoard's embeddings arguments."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import minigrad
from minigrad import callbacks, layers, models


def _model() -> models.Sequential:
    minigrad.set_seed(0)
    model = models.Sequential([layers.Dense(2, input_shape=(3,))])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    return model


X = np.random.default_rng(0).random((16, 3), dtype=np.float32)
Y = np.random.default_rng(1).random((16, 2), dtype=np.float32)


class LogsSeen(callbacks.Callback):
    """Keeps the type of every hook's logs argument."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: dict[str, set[type]] = {}

    def __getattribute__(self, name: str):
        if name.startswith("on_"):
            seen = object.__getattribute__(self, "seen")
            return lambda *args: seen.setdefault(name, set()).add(type(args[-1]))
        return object.__getattribute__(self, name)


def test_every_hook_receives_a_logs_dict() -> None:
    cb = LogsSeen()
    model = _model()
    model.fit(X, Y, batch_size=8, epochs=1, verbose=0, callbacks=[cb], validation_data=(X, Y))
    model.evaluate(X, Y, batch_size=8, verbose=0, callbacks=[cb])
    model.predict(X, batch_size=8, verbose=0, callbacks=[cb])
    assert len(cb.seen) == 14
    assert all(types == {dict} for types in cb.seen.values()), cb.seen


def test_on_batch_begin_and_end_are_aliases_of_the_train_batch_hooks() -> None:
    class Legacy(callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.calls: list[tuple[str, int, str]] = []

        def on_batch_begin(self, batch, logs=None):
            self.calls.append(("begin", batch, ",".join(logs)))

        def on_batch_end(self, batch, logs=None):
            self.calls.append(("end", batch, ",".join(logs)))

    legacy, ends = Legacy(), []
    lam = callbacks.LambdaCallback(on_batch_end=lambda batch, logs: ends.append(logs["loss"]))
    _model().fit(X, Y, batch_size=8, epochs=1, verbose=0, callbacks=[legacy, lam], validation_data=(X, Y))
    assert legacy.calls == [("begin", 0, ""), ("end", 0, "loss,mae"), ("begin", 1, ""), ("end", 1, "loss,mae")]
    assert len(ends) == 2  # training batches only: validation batches are test batches


def test_fit_on_a_redirected_stdout_prints_one_line_per_epoch(capsys: pytest.CaptureFixture) -> None:
    _model().fit(X, Y, batch_size=8, epochs=3)  # verbose='auto', stdout captured: not a terminal
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" - ")[0] for line in lines] == ["Epoch 1/3", "Epoch 2/3", "Epoch 3/3"]
    assert all(re.search(r" - 2/2 - .* - loss: \d\.\d{4} - mae: \d\.\d{4}$", line) for line in lines)


class Lookup(layers.Layer):
    """An embedding table used on one-hot rows: what a plugin Embedding layer would hold."""

    def __init__(self, vocab: int, dim: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.vocab, self.dim = vocab, dim

    def build(self, input_shape) -> None:
        self.embeddings = self.add_weight(name="embeddings", shape=(self.vocab, self.dim),
                                          initializer="glorot_uniform")

    def call(self, inputs, training=False):
        return inputs @ self.embeddings

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.dim,)


def test_tensorboard_embeddings_write_the_projector_and_metadata(tmp_path: Path) -> None:
    pytest.importorskip("tensorboardX")
    minigrad.set_seed(0)
    model = models.Sequential([Lookup(5, 2, name="words", input_shape=(5,))])
    model.compile(optimizer="sgd", loss="mse")
    labels = tmp_path / "labels.tsv"
    labels.write_text("".join(f"w{i}\n" for i in range(5)))
    tb = callbacks.TensorBoard(tmp_path / "logs", embeddings_freq=2, embeddings_metadata={"words": labels})
    model.fit(np.eye(5, dtype=np.float32), np.zeros((5, 2), np.float32), epochs=3, verbose=0, callbacks=[tb])
    tensors = sorted((tmp_path / "logs" / "train").rglob("tensors.tsv"))
    assert len(tensors) == 2  # epochs 0 and 2
    rows = np.loadtxt(tensors[-1], delimiter="\t")
    np.testing.assert_allclose(rows, model.layers[0].embeddings.numpy(), rtol=1e-5)
    assert (tensors[-1].parent / "metadata.tsv").read_text().split() == [f"w{i}" for i in range(5)]
    assert "words" in (tmp_path / "logs" / "train" / "projector_config.pbtxt").read_text()


def test_tensorboard_embeddings_without_an_embedding_layer(tmp_path: Path) -> None:
    pytest.importorskip("tensorboardX")
    with pytest.warns(UserWarning, match="no layer with an `embeddings` weight"):
        _model().fit(X, Y, verbose=0, callbacks=[callbacks.TensorBoard(tmp_path, embeddings_freq=1)])
    with pytest.raises(ValueError, match=r"unrecognized Embedding layer names in embeddings_metadata: \['emb'\]"):
        _model().fit(X, Y, verbose=0, callbacks=[callbacks.TensorBoard(
            tmp_path, embeddings_freq=1, embeddings_metadata={"emb": "labels.tsv"})])
    with pytest.raises(ValueError, match="TensorBoard: expected embeddings_freq to be a non-negative int, received -1"):
        callbacks.TensorBoard(tmp_path, embeddings_freq=-1)
    with pytest.warns(UserWarning, match="profile_batch=5 is a TensorFlow feature"):
        callbacks.TensorBoard(tmp_path, profile_batch=5, write_graph=False)
