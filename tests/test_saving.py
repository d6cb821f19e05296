"""Saving: exact round trips, a format that runs no code, clear errors for damaged files, atomic writes."""
from __future__ import annotations

import importlib.metadata
import io
import json
import os
import pickle
import signal
import sys
import textwrap
import time
import zipfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minigrad
from minigrad import layers, models, optimizers, saving
from minigrad.errors import SerializationError, UnknownNameError
from minigrad.saving import read_archive, write_archive


def _cnn() -> models.Sequential:
    minigrad.set_seed(0)
    model = models.Sequential([
        layers.Conv2D(4, 3, activation="relu", input_shape=(8, 8, 1)),
        layers.BatchNormalization(),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dropout(0.25),
        layers.Dense(3, activation="softmax"),
    ])
    model.compile(optimizer=optimizers.Adam(0.01), loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def _data(n: int = 24) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    x = rng.random((n, 8, 8, 1), dtype=np.float32)
    return x, np.eye(3, dtype=np.float32)[rng.integers(0, 3, n)]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[models.Sequential, Path]:
    x, y = _data()
    model = _cnn()
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    path = tmp_path_factory.mktemp("saved") / "model.mg"
    model.save(path)
    return model, path


@pytest.fixture()
def one_thread():
    """Bit-identical training needs one thread: multi-threaded reductions may round differently run to run."""
    before = minigrad.get_num_threads()
    minigrad.set_num_threads(1)
    yield
    minigrad.set_num_threads(before)


# ----- round trips
def test_load_model_predicts_and_keeps_training_identically(trained, tmp_path: Path, one_thread) -> None:
    model, path = trained
    x, y = _data()
    loaded = minigrad.load_model(path)
    assert type(loaded) is models.Sequential and loaded.get_config() == model.get_config()
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    twin = minigrad.load_model(path)  # the in-memory model keeps training; compare with a fresh load of it
    model.save(tmp_path / "again.mg")
    continued = minigrad.load_model(tmp_path / "again.mg")
    for m in (continued, loaded):
        minigrad.set_seed(11)  # same shuffles and dropout masks for both
        m.fit(x, y, batch_size=8, epochs=2, verbose=0)
    minigrad.set_seed(11)
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    for a, b, c in zip(model.get_weights(), continued.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
    assert twin.optimizer.iterations == 6 and model.optimizer.iterations == 12


def test_load_model_leaves_the_random_stream_alone(trained) -> None:
    _, path = trained
    minigrad.set_seed(4)
    expected = minigrad.random.generator().random(3)
    minigrad.set_seed(4)
    minigrad.load_model(path)
    np.testing.assert_array_equal(minigrad.random.generator().random(3), expected)


def test_functional_model_round_trip(tmp_path: Path) -> None:
    minigrad.set_seed(2)
    inputs = layers.Input((5,))
    hidden = layers.Dense(4, activation="relu")(inputs)
    model = models.Model(inputs, layers.Dense(2)(layers.Concatenate()([hidden, inputs])))
    model.compile(optimizer="sgd", loss="mse")
    model.save(tmp_path / "f.mg")
    loaded = minigrad.load_model(tmp_path / "f.mg")
    x = np.random.default_rng(0).random((6, 5), dtype=np.float32)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_save_and_load_weights(trained, tmp_path: Path) -> None:
    model, _ = trained
    model.save_weights(tmp_path / "w.mg")
    model.save(tmp_path / "m.mg")
    for source in (tmp_path / "w.mg", tmp_path / "m.mg"):  # a weights file, or the weights of a full model file
        other = _cnn()
        other.load_weights(source)
        for a, b in zip(other.get_weights(), model.get_weights()):
            np.testing.assert_array_equal(a, b)
    small = models.Sequential([layers.Dense(2, input_shape=(3,))])
    with pytest.raises(ValueError, match="holds 8 weights, model '.*' has 2"):
        small.load_weights(tmp_path / "w.mg")
    with pytest.raises(FileExistsError, match="overwrite=False"):
        saving.save_weights(model, tmp_path / "w.mg", overwrite=False)


def test_include_optimizer_false_and_compile_false(trained, tmp_path: Path) -> None:
    model, _ = trained
    saving.save_model(model, tmp_path / "m.mg", include_optimizer=False)
    assert read_archive(tmp_path / "m.mg", "model")["optimizer_state"] is None
    assert minigrad.load_model(tmp_path / "m.mg").optimizer.iterations == 0
    assert minigrad.load_model(tmp_path / "m.mg", compile=False).optimizer is None


def test_unbuilt_and_subclassed_models_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not built yet"):
        models.Sequential([layers.Dense(2)]).save(tmp_path / "m.mg")

    class Custom(models.Sequential):
        pass

    with pytest.raises(TypeError, match="only Sequential and functional Model"):
        saving.save_model(Custom([layers.Dense(2, input_shape=(3,))]), tmp_path / "m.mg")


def test_saved_model_records_plugin_provider_and_names_the_package(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "fake_saving_plugin.py").write_text(textwrap.dedent("""
        from minigrad.layers import Layer

        class Twice(Layer):
            def call(self, inputs, training=False):
                return inputs * 2.0
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    ep = importlib.metadata.EntryPoint("twice", "fake_saving_plugin:Twice", "minigrad.layers")
    ep = ep._for(SimpleNamespace(name="minigrad-twice", version="1.2"))
    real = importlib.metadata.entry_points
    layers.registry.refresh(lambda group: [*real(group=group), ep])
    try:
        model = models.Sequential([layers.Dense(2, input_shape=(3,)), layers.get("twice")()])
        model.save(tmp_path / "p.mg")
        assert read_archive(tmp_path / "p.mg", "model")["requires"] == [{"distribution": "minigrad-twice",
                                                                         "version": "1.2"}]
        layers.registry.refresh(lambda group: list(real(group=group)))  # "uninstall" the plugin
        with pytest.raises(UnknownNameError, match="pip install minigrad-twice"):
            minigrad.load_model(tmp_path / "p.mg")
    finally:
        layers.registry.refresh()
        sys.modules.pop("fake_saving_plugin", None)


# ----- damaged, foreign and hostile files
def test_truncated_files_always_fail(trained) -> None:
    _, path = trained
    raw = path.read_bytes()
    for n in sorted({0, 1, 10, len(raw) // 3, len(raw) // 2, len(raw) - 22, len(raw) - 1}):
        broken = path.with_name(f"cut{n}.mg")
        broken.write_bytes(raw[:n])
        with pytest.raises(SerializationError, match="not a minigrad file, or truncated"):
            minigrad.load_model(broken)


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_flipped_byte_fails_or_changes_nothing(trained, data: st.DataObject) -> None:
    """Corruption anywhere is caught (CRC, SHA-256, structure) unless it hit bytes the reader ignores."""
    model, path = trained
    raw = bytearray(path.read_bytes())
    i = data.draw(st.integers(0, len(raw) - 1), label="offset")
    raw[i] ^= data.draw(st.integers(1, 255), label="xor")
    broken = path.with_name("flipped.mg")
    broken.write_bytes(bytes(raw))
    try:
        document = read_archive(broken, "model")
    except SerializationError:
        return
    original = read_archive(path, "model")
    assert json.dumps(document["model"]) == json.dumps(original["model"])
    for a, b in zip(document["weights"], original["weights"]):
        np.testing.assert_array_equal(a["value"], b["value"])


def test_foreign_files_fail_clearly(tmp_path: Path) -> None:
    (tmp_path / "text.mg").write_text("hello")
    np.savez(tmp_path / "plain.npz", a=np.arange(3))
    with zipfile.ZipFile(tmp_path / "deflated.mg", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", "{}")
    write_archive(tmp_path / "weights.mg", "weights", {"weights": []})
    cases = {"text.mg": "not a minigrad file, or truncated", "plain.npz": "manifest.json is missing",
             "deflated.mg": "is compressed", "weights.mg": "holds a minigrad 'weights' file, expected 'model'"}
    for name, message in cases.items():
        with pytest.raises(SerializationError, match=message):
            minigrad.load_model(tmp_path / name)


def _forge(path: Path, manifest_edit=None, arrays: dict[str, bytes] | None = None, document: bytes = b"{}") -> None:
    """An archive with valid checksums for whatever it holds (what a careful attacker could write)."""
    import hashlib

    entries = {"document.json": document, **(arrays or {})}
    manifest = {"format": "minigrad", "format_version": 1, "kind": "model",
                "sha256": {k: hashlib.sha256(v).hexdigest() for k, v in entries.items()}}
    if manifest_edit:
        manifest_edit(manifest)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("manifest.json", json.dumps(manifest))
        for k, v in entries.items():
            zf.writestr(k, v)


class _Trap:
    def __reduce__(self):
        return (Path.touch, (Path(os.environ["MINIGRAD_TRAP"]),))


def test_pickled_arrays_are_never_unpickled(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MINIGRAD_TRAP", str(tmp_path / "pwned"))
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.array([_Trap()], dtype=object), allow_pickle=True)
    _forge(tmp_path / "evil.mg", arrays={"arrays/0.npy": buf.getvalue()},
           document=b'{"model": {"__ndarray__": 0}}')
    with pytest.raises(SerializationError, match="array 0 is unreadable"):
        minigrad.load_model(tmp_path / "evil.mg")
    assert not (tmp_path / "pwned").exists()
    assert b"touch" in pickle.dumps(_Trap())  # the trap is real: unpickling would have created the file


def test_forged_documents_resolve_only_through_registries(tmp_path: Path) -> None:
    doc = {"model": {"class_name": "os.system", "config": {}}, "weights": []}
    _forge(tmp_path / "a.mg", document=json.dumps(doc).encode())
    with pytest.raises(SerializationError, match="must name one of Sequential, Model"):
        minigrad.load_model(tmp_path / "a.mg")
    doc["model"] = {"class_name": "Sequential", "config": {"name": "s", "input_shape": [3],
                                                           "layers": [{"name": "os:system", "config": {}}]}}
    _forge(tmp_path / "b.mg", document=json.dumps(doc).encode())
    with pytest.raises(UnknownNameError):
        minigrad.load_model(tmp_path / "b.mg")


def test_newer_format_and_edited_manifest(tmp_path: Path) -> None:
    _forge(tmp_path / "new.mg", manifest_edit=lambda m: m.update(format_version=99))
    with pytest.raises(SerializationError, match="format version 99; this minigrad reads versions 1..1"):
        minigrad.load_model(tmp_path / "new.mg")
    _forge(tmp_path / "sum.mg", manifest_edit=lambda m: m["sha256"].update({"document.json": "0" * 64}))
    with pytest.raises(SerializationError, match="checksum mismatch in 'document.json'"):
        minigrad.load_model(tmp_path / "sum.mg")
    _forge(tmp_path / "extra.mg", arrays={"arrays/5.npy": b""})
    with pytest.raises(SerializationError, match="do not match the manifest"):
        minigrad.load_model(tmp_path / "extra.mg")


def test_pack_rejects_what_json_cannot_hold(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="cannot store a object"):
        write_archive(tmp_path / "x.mg", "weights", {"a": object()})
    with pytest.raises(TypeError, match="dtype object"):
        write_archive(tmp_path / "x.mg", "weights", {"a": np.array([None])})
    assert not list(tmp_path.iterdir())  # nothing half-written left behind


# ----- atomic writes under SIGKILL
def _writer_loop(path: Path, ready_fd: int) -> None:
    big = {v: np.full(400_000, float(v)) for v in (1, 2)}
    os.write(ready_fd, b"x")
    version = 1
    while True:
        write_archive(path, "weights", {"version": version, "data": big[version]})
        version = 3 - version


def test_sigkill_mid_save_leaves_old_or_new_file(tmp_path: Path) -> None:
    path = tmp_path / "model.mg"
    write_archive(path, "weights", {"version": 0, "data": np.zeros(400_000)})
    rng = np.random.default_rng(0)
    interrupted = 0
    for _ in range(30):
        ready_r, ready_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # child: save forever until killed
            try:
                os.close(ready_r)
                _writer_loop(path, ready_w)
            finally:
                os._exit(1)
        os.close(ready_w)
        os.read(ready_r, 1)
        os.close(ready_r)
        time.sleep(rng.uniform(0.0, 0.03))
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        document = read_archive(path, "weights")  # never a partial file
        assert document["version"] in (0, 1, 2)
        assert np.all(document["data"] == document["version"]) and document["data"].shape == (400_000,)
        interrupted += any(p.name.endswith(".tmp") for p in tmp_path.iterdir())
    assert interrupted > 0  # some kills did land in the middle of a write
    write_archive(path, "weights", {"version": 3})  # the next save removes the dead writers' temp files
    assert [p.name for p in tmp_path.iterdir()] == ["model.mg"]


def test_real_plugin_layer_regularizer_and_constraint_are_recorded(tmp_path: Path) -> None:
    pytest.importorskip("minigrad_gabor")
    minigrad.set_seed(0)
    model = models.Sequential([
        layers.get("gabor_conv2d")(4, 3, input_shape=(8, 8, 1)),
        layers.Conv2D(2, 3, kernel_regularizer="total_variation", kernel_constraint="zero_mean",
                      bias_regularizer="l2"),
    ])
    model.compile(optimizer="sgd", loss="mse")
    model.save(tmp_path / "g.mg")
    document = read_archive(tmp_path / "g.mg", "model")
    version = importlib.metadata.version("minigrad-gabor")
    assert document["requires"] == [{"distribution": "minigrad-gabor", "version": version}]
    conv = document["model"]["config"]["layers"][1]["config"]
    assert conv["kernel_regularizer"]["provider"]["distribution"] == "minigrad-gabor"
    assert conv["kernel_constraint"]["name"] == "zero_mean" and "provider" not in conv["bias_regularizer"]
    x = np.random.default_rng(0).random((2, 8, 8, 1), dtype=np.float32)
    np.testing.assert_array_equal(minigrad.load_model(tmp_path / "g.mg").predict(x, verbose=0),
                                  model.predict(x, verbose=0))


@pytest.mark.parametrize("name", ["m.h5", "m.keras", "M.HDF5", "w.weights.h5"])
def test_save_refuses_a_keras_suffix_it_would_not_honour(tmp_path: Path, name: str) -> None:
    model = models.Sequential([layers.Dense(2, input_shape=(3,))])
    for save in (model.save, model.save_weights):
        with pytest.raises(ValueError, match=r"the suffix of a Keras .*minigrad writes its own zip"):
            save(tmp_path / name)
    assert not any(tmp_path.iterdir())
