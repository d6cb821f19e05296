"""End to end with the real plugin distribution plugins/minigrad-gabor (CI pip-installs it)."""
import importlib.metadata
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import minigrad
from minigrad import activations, callbacks, constraints, initializers, layers, models, ops, regularizers
from minigrad.errors import UnknownNameError
from minigrad.testing import check_op, gradcheck

try:
    DIST = importlib.metadata.distribution("minigrad-gabor")
except importlib.metadata.PackageNotFoundError:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        raise RuntimeError("CI must install the example plugin: pip install ./plugins/minigrad-gabor") from None
    pytest.skip("the example plugin is not installed: pip install -e ./plugins/minigrad-gabor",
                allow_module_level=True)

ROOT = Path(minigrad.__file__).resolve().parent.parent  # the minigrad this test process imports

# A subprocess prelude in which minigrad-gabor looks uninstalled: no distribution, no module.
HIDE_PLUGIN = """
import importlib.abc, importlib.metadata as md, sys

class _Uninstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "minigrad_gabor" or name.startswith("minigrad_gabor."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, _Uninstalled())
_entry_points = md.entry_points
md.entry_points = lambda **params: md.EntryPoints(
    ep for ep in _entry_points(**params) if ep.dist is None or ep.dist.name != "minigrad-gabor")
"""


def run_python(code: str, *args: str) -> subprocess.CompletedProcess:
    """Run code in a fresh interpreter (warnings are errors) seeing the same minigrad as this process."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    result = subprocess.run([sys.executable, "-W", "error", "-c", code, *args], capture_output=True,
                            text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    return result


def test_import_and_discovery_import_no_plugin_module():
    out = run_python("""
import sys
import minigrad
from minigrad import activations, callbacks, constraints, initializers, layers, ops, regularizers

def loaded():
    return sorted(m for m in sys.modules if m.startswith("minigrad_gabor"))

assert loaded() == [], loaded()
assert "gabor_conv2d" in layers.registry.names() and "soft_threshold" in ops.names()
assert "mish" in activations.registry.names() and "gabor" in initializers.registry.names()
assert "total_variation" in regularizers.registry.names() and "zero_mean" in constraints.registry.names()
assert "weight_stats_logger" in callbacks.registry.names()
from minigrad.cli import main
main(["plugins"])
print("listed:", loaded())
main(["plugins", "--group", "ops", "--check"])
print("checked:", loaded())
layers.get("GaborConv2D")
print("used:", loaded())
""").stdout
    assert "listed: []" in out and "checked: ['minigrad_gabor', 'minigrad_gabor.ops']" in out
    assert re.search(r"^minigrad\.ops +soft_threshold +minigrad-gabor +\S+ +ok$", out, re.M), out
    assert re.search(r"^minigrad\.layers +gabor_conv2d +minigrad-gabor +\S+ +not loaded$", out, re.M), out
    # only the modules behind the used name (and what they import) are loaded
    assert "used: ['minigrad_gabor', 'minigrad_gabor.initializers', 'minigrad_gabor.layers', 'minigrad_gabor.ops']" \
        in out


def test_string_identifiers_resolve_plugin_components():
    from minigrad_gabor.callbacks import WeightStatsLogger
    from minigrad_gabor.constraints import ZeroMean
    from minigrad_gabor.initializers import Gabor
    from minigrad_gabor.layers import GaborConv2D
    from minigrad_gabor.ops import SoftThreshold
    from minigrad_gabor.regularizers import TotalVariation

    conv = layers.Conv2D(4, 3, kernel_regularizer="l2", kernel_constraint="max_norm", activation="mish")
    assert conv.activation is activations.get("mish")
    assert isinstance(conv.kernel_regularizer, regularizers.L2)
    assert isinstance(conv.kernel_constraint, constraints.MaxNorm)
    conv = layers.Conv2D(4, 3, kernel_initializer="gabor", kernel_regularizer="total_variation",
                         kernel_constraint="ZeroMean")
    assert isinstance(conv.kernel_initializer, Gabor)
    assert isinstance(conv.kernel_regularizer, TotalVariation) and isinstance(conv.kernel_constraint, ZeroMean)
    for spelling in ("gabor_conv2d", "GaborConv2D", "minigrad-gabor:gabor_conv2d", "minigrad_gabor:gabor_conv2d"):
        assert layers.get(spelling) is GaborConv2D
    assert isinstance(callbacks.get("weight_stats_logger"), WeightStatsLogger)
    assert isinstance(ops.get("soft_threshold"), SoftThreshold)
    y = ops.apply("soft_threshold", np.array([-1.0, 0.2, 2.0]), threshold=0.5)
    np.testing.assert_array_equal(y.numpy(), [-0.5, 0.0, 1.5])
    with pytest.raises(ValueError, match="soft_threshold: threshold must be a finite float >= 0"):
        ops.apply("soft_threshold", np.ones(2), threshold=-1.0)


def test_plugin_op_and_activation_gradients():
    report = check_op("soft_threshold", examples=15)
    assert report.examples == 15 and report.worst_rel_error < 1e-4
    x = np.linspace(-3, 3, 13)
    mish = activations.get("mish")
    np.testing.assert_allclose(mish(minigrad.Tensor(x)).numpy(), x * np.tanh(np.logaddexp(0, x)), rtol=1e-12)
    gradcheck(mish, x)


def _data(n: int = 64) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 8, 8, 1)).astype("float32")
    x[: n // 2, 2:6, 2:6] += 1.5  # class 0: a bright square in the middle
    return x, (np.arange(n) >= n // 2).astype("int64")


def _plugin_model() -> models.Sequential:
    return models.Sequential([
        layers.get("GaborConv2D")(4, 3, input_shape=(8, 8, 1), activation="mish",
                                  kernel_regularizer="total_variation"),
        layers.Conv2D(4, 3, activation="mish", kernel_regularizer="l2", kernel_constraint="zero_mean"),
        layers.Flatten(),
        layers.Dense(2, activation="softmax"),  # Keras losses take probabilities by default
    ])


def test_training_a_model_built_from_plugin_components(tmp_path):
    minigrad.set_seed(0)
    x, y = _data()
    model = _plugin_model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    gabor, conv = model.layers[0], model.layers[1]
    kernel0, bias0 = gabor.kernel.data.copy(), gabor.bias.data.copy()
    logger = callbacks.get({"kind": "callbacks", "name": "weight_stats_logger",
                            "config": {"path": str(tmp_path / "stats.csv"), "every": 1}})
    history = model.fit(x, y, epochs=3, batch_size=16, verbose=0, callbacks=[logger])
    losses = history.history["loss"]
    assert np.all(np.isfinite(losses)) and losses[-1] < losses[0]
    np.testing.assert_array_equal(gabor.kernel.data, kernel0)  # frozen Gabor bank
    assert not np.array_equal(gabor.bias.data, bias0)
    assert np.abs(conv.kernel.data.mean(axis=(0, 1, 2))).max() < 1e-6  # ZeroMean holds after steps
    assert len(model.losses) == 2  # total variation and l2 penalties
    assert len(logger.records) == 3 * len(model.trainable_weights)
    assert len((tmp_path / "stats.csv").read_text().splitlines()) == 1 + len(logger.records)


def test_model_config_and_file_round_trip_by_registered_name(tmp_path):
    minigrad.set_seed(1)
    x, _ = _data(8)
    model = _plugin_model()
    expected = model.predict(x, verbose=0)
    config = json.loads(json.dumps(model.get_config()))
    first = config["layers"][0]
    assert first["name"] == "gabor_conv2d" and first["provider"]["distribution"] == "minigrad-gabor"
    assert first["config"]["activation"] == "mish"
    assert first["config"]["kernel_regularizer"]["name"] == "total_variation"
    assert config["layers"][1]["config"]["kernel_constraint"]["name"] == "zero_mean"
    clone = models.Sequential.from_config(config)
    assert json.loads(json.dumps(clone.get_config())) == config
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone.predict(x, verbose=0), expected, rtol=1e-6)
    path = tmp_path / "plugin_model.minigrad"
    model.save(str(path))
    np.testing.assert_allclose(models.load_model(str(path)).predict(x, verbose=0), expected, rtol=1e-6)


def test_plugin_objects_imported_directly_serialize_by_registered_name():
    from minigrad_gabor.regularizers import TotalVariation

    regularizers.registry.refresh()  # nothing loaded through the registry yet
    entry = regularizers.serialize(TotalVariation(0.5))
    assert entry == {"kind": "regularizers", "name": "total_variation", "config": {"strength": 0.5},
                     "provider": {"distribution": "minigrad-gabor", "version": DIST.version}}
    assert regularizers.deserialize(entry).strength == 0.5
    assert initializers.serialize(initializers.get("gabor"))["name"] == "gabor"


def test_minigrad_keeps_working_when_the_plugin_is_uninstalled():
    saved = json.dumps(layers.serialize(layers.get("gabor_conv2d")(2, 3)))
    out = run_python(HIDE_PLUGIN + """
import json, sys
import numpy as np
from minigrad import layers, models
from minigrad.cli import main
from minigrad.errors import UnknownNameError

assert "gabor_conv2d" not in layers.registry.names()
try:
    layers.deserialize(json.loads(sys.argv[1]))
except UnknownNameError as exc:
    print("saved:", exc)
model = models.Sequential([layers.Conv2D(2, 3, input_shape=(6, 6, 1), activation="relu"),
                           layers.Flatten(), layers.Dense(2, activation="softmax")])
model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
model.fit(np.random.rand(8, 6, 6, 1).astype("float32"), np.arange(8) % 2, epochs=1, verbose=0)
main(["plugins"])
""", saved).stdout
    assert "saved: layer 'gabor_conv2d' comes from the plugin distribution 'minigrad-gabor'" in out
    assert "pip install minigrad-gabor" in out
    assert "minigrad plugins: 0 entries" in out and "gabor_conv2d" not in out.split("saved:")[1].split("\n", 1)[1]
    with pytest.raises(UnknownNameError):  # and in this process the plugin is still there
        layers.get("gabor_conv2d_typo")


def test_a_rival_provider_of_mish_cannot_break_the_plugins_own_layers(tmp_path):
    """Issue 13: a second 'mish' made GaborConv2D(activation='mish') raise PluginConflictError, so saved
    models stopped predicting. Inside the plugin its own names resolve to its own distribution first."""
    from minigrad.errors import PluginConflictError

    minigrad.set_seed(0)
    x, _ = _data(4)
    model = models.Sequential([layers.get("gabor_conv2d")(4, 3, input_shape=(8, 8, 1), activation="mish"),
                               layers.Flatten(), layers.Dense(2)])
    expected = model.predict(x, verbose=0)
    model.save(tmp_path / "g.mg")
    rival = importlib.metadata.EntryPoint("mish", "fake_rival_mish:mish", "minigrad.activations")
    rival = rival._for(type("Dist", (), {"name": "rival-mish", "version": "9.9"})())
    real = importlib.metadata.entry_points
    activations.registry.refresh(lambda group: [*real(group=group), rival])
    try:
        with pytest.raises(PluginConflictError, match="minigrad-gabor .* and rival-mish 9.9"):
            activations.get("mish")  # from user code the name is ambiguous
        conv = layers.get("gabor_conv2d")(4, 3, activation="mish")
        assert conv.activation is activations.get("minigrad-gabor:mish")
        np.testing.assert_array_equal(models.load_model(tmp_path / "g.mg").predict(x, verbose=0), expected)
    finally:
        activations.registry.refresh()
    assert "fake_rival_mish" not in sys.modules
