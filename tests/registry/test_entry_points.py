"""Plugin discovery with fake entry points: laziness, conflicts, reserved built-in names, plugins that
fail to import or are the wrong kind, configs with providers, only_plugins."""
import importlib.metadata
import re
import sys

import numpy as np
import pytest
from _fakes import LAYER_SOURCE, fake_entry_point

from minigrad import layers, ops, regularizers
from minigrad.cli import main
from minigrad.errors import PluginConflictError, PluginLoadError, RegistryError, UnknownNameError
from minigrad.registry import PluginWarning


def test_entry_points_are_listed_without_importing_the_plugin(plugin_modules, fake_entry_points):
    plugin_modules("fake_lazy_plugin", "raise RuntimeError('imported too early')\n")
    fake_entry_points(layers.registry, fake_entry_point(
        "lazy_layer", "fake_lazy_plugin:LazyLayer", "minigrad.layers", "lazy-dist"))
    assert "lazy_layer" in layers.registry.names()
    assert "lazy_layer" in layers.registry and "LazyLayer" in layers.registry
    assert layers.registry.provider("lazy_layer") == "lazy-dist"
    statuses = {e.name: e.status for e in layers.registry.entries(load=False)}
    assert statuses["lazy_layer"] == "not loaded"
    assert "fake_lazy_plugin" not in sys.modules


def test_two_distributions_providing_one_name(plugin_modules, fake_entry_points, capsys):
    plugin_modules("fake_twin_a", LAYER_SOURCE.format(cls="TwinLayer", origin="a"))
    plugin_modules("fake_twin_b", LAYER_SOURCE.format(cls="TwinLayer", origin="b"))
    fake_entry_points(layers.registry,
                      fake_entry_point("twin_layer", "fake_twin_a:TwinLayer", "minigrad.layers", "dist-a", "1.0"),
                      fake_entry_point("twin_layer", "fake_twin_b:TwinLayer", "minigrad.layers", "dist_b", "2.0"))
    for spelling in ("twin_layer", "TwinLayer"):
        with pytest.raises(PluginConflictError, match=r"dist-a 1\.0 and dist_b 2\.0") as info:
            layers.get(spelling)
        assert "'dist-a:twin_layer'" in str(info.value)
    assert layers.get("dist-a:twin_layer").origin == "a"
    assert layers.get("dist-b:twin_layer").origin == "b"  # distribution names compare normalised
    assert "twin_layer" not in layers.registry  # ambiguous
    assert main(["plugins", "--group", "layers"]) == 0
    out = capsys.readouterr().out
    assert "conflict: layers 'twin_layer' is provided by dist-a 1.0 and dist_b 2.0" in out
    assert out.count("conflict") >= 3  # both table rows and the note


def test_a_qualified_name_survives_a_later_conflict_in_saved_configs(plugin_modules, fake_entry_points):
    plugin_modules("fake_solo", LAYER_SOURCE.format(cls="SoloLayer", origin="first"))
    plugin_modules("fake_solo_rival", LAYER_SOURCE.format(cls="SoloLayer", origin="rival"))
    fake_entry_points(layers.registry,
                      fake_entry_point("solo_layer", "fake_solo:SoloLayer", "minigrad.layers", "solo-dist"))
    saved = layers.serialize(layers.get("solo_layer")(name="solo"))
    assert saved["name"] == "solo_layer" and saved["provider"] == {"distribution": "solo-dist", "version": "1.0"}
    fake_entry_points(layers.registry,
                      fake_entry_point("solo_layer", "fake_solo:SoloLayer", "minigrad.layers", "solo-dist"),
                      fake_entry_point("solo_layer", "fake_solo_rival:SoloLayer", "minigrad.layers", "rival"))
    assert layers.deserialize(saved).origin == "first"


def test_a_plugin_reusing_a_builtin_name_is_skipped_with_a_warning(plugin_modules, fake_entry_points, capsys):
    plugin_modules("fake_usurper", "raise RuntimeError('a reserved entry must never be imported')\n")
    fake_entry_points(layers.registry,
                      fake_entry_point("dense", "fake_usurper:Dense", "minigrad.layers", "usurper", "6.6"),
                      fake_entry_point("Conv2D", "fake_usurper:Conv2D", "minigrad.layers", "usurper", "6.6"))
    with pytest.warns(PluginWarning) as caught:
        names = layers.registry.names()
    messages = sorted(str(w.message) for w in caught)
    todo = "Ask the plugin's author to rename it, or pip uninstall usurper"
    assert messages == [
        "plugin usurper 6.6: minigrad.layers entry 'Conv2D' reuses the built-in name 'conv2d' and is skipped; "
        f"the built-in answers to 'Conv2D'. {todo}",
        "plugin usurper 6.6: minigrad.layers entry 'dense' reuses the built-in name 'dense' and is skipped; "
        f"the built-in answers to 'dense'. {todo}",
    ]
    assert {(w.filename, w.lineno) for w in caught} == {("<plugin usurper>", 0)}  # never a line of minigrad
    assert names.count("dense") == 1
    assert layers.get("dense") is layers.Dense and layers.get("Conv2D") is layers.Conv2D
    with pytest.raises(UnknownNameError, match="reuses the built-in name"):
        layers.get("usurper:dense")
    assert {e.name: e.status for e in layers.registry.entries()}["dense"] == "reserved"
    assert "fake_usurper" not in sys.modules
    assert main(["plugins", "--group", "layers"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^minigrad\.layers +dense +usurper +6\.6 +reserved$", out, re.M), out
    assert "reserved: layers 'dense' of usurper reuses a built-in name and is skipped" in out


def test_a_plugin_that_fails_to_import_breaks_only_its_own_names(plugin_modules, fake_entry_points):
    plugin_modules("fake_broken", "raise RuntimeError('boom at import')\n")
    plugin_modules("fake_fine", LAYER_SOURCE.format(cls="FineLayer", origin="fine"))
    fake_entry_points(layers.registry,
                      fake_entry_point("broken_layer", "fake_broken:Broken", "minigrad.layers", "broken-dist", "0.3"),
                      fake_entry_point("fine_layer", "fake_fine:FineLayer", "minigrad.layers", "fine-dist"))
    with pytest.raises(PluginLoadError) as info:
        layers.get("broken_layer")
    message = str(info.value)
    for part in ("minigrad.layers", "'broken_layer'", "fake_broken:Broken", "broken-dist", "0.3", "boom at import"):
        assert part in message
    assert isinstance(info.value.__cause__, RuntimeError) and isinstance(info.value, ImportError)
    with pytest.raises(PluginLoadError) as again:  # the failure is remembered, not retried
        layers.get("broken_layer")
    assert again.value.__cause__ is info.value.__cause__
    assert layers.get("fine_layer").origin == "fine"
    assert layers.get("dense") is layers.Dense
    assert "broken_layer" in layers.registry.names()
    assert {e.name: e.status for e in layers.registry.entries()}["broken_layer"] == "import error"


@pytest.mark.parametrize("value, cause", [
    ("fake_module_that_does_not_exist:Layer", ModuleNotFoundError),
    ("minigrad.layers:NoSuchLayerClass", AttributeError),
])
def test_an_entry_naming_a_missing_module_or_attribute(fake_entry_points, value, cause):
    fake_entry_points(layers.registry, fake_entry_point("ghost_layer", value, "minigrad.layers", "ghost-dist"))
    with pytest.raises(PluginLoadError, match="ghost-dist") as info:
        layers.get("ghost_layer")
    assert isinstance(info.value.__cause__, cause)
    assert layers.get("conv2d") is layers.Conv2D


def test_an_object_of_the_wrong_kind_is_reported_at_use(plugin_modules, fake_entry_points):
    plugin_modules("fake_wrong", "class NotALayer:\n    pass\n\ndef not_an_op(x):\n    return x\n")
    fake_entry_points(layers.registry,
                      fake_entry_point("not_a_layer", "fake_wrong:NotALayer", "minigrad.layers", "wrong-dist"))
    fake_entry_points(ops.registry,
                      fake_entry_point("not_an_op", "fake_wrong:not_an_op", "minigrad.ops", "wrong-dist"))
    with pytest.raises(PluginLoadError, match="is the wrong kind") as info:
        layers.get("not_a_layer")
    assert isinstance(info.value.__cause__, TypeError)
    with pytest.raises(PluginLoadError, match="minigrad.ops entry 'not_an_op'.*wrong kind"):
        ops.get("not_an_op")
    statuses = {e.name: e.status for e in layers.registry.entries()}
    assert statuses["not_a_layer"] == "wrong kind"
    assert ops.apply("add", 1.0, 2.0).item() == 3.0


def test_a_saved_plugin_entry_names_the_missing_distribution():
    entry = {"kind": "regularizers", "name": "ghost_penalty", "config": {},
             "provider": {"distribution": "ghost-penalties", "version": "2.1"}}
    with pytest.raises(UnknownNameError, match=r"ghost-penalties.*2\.1.*pip install ghost-penalties"):
        regularizers.deserialize(entry)
    with pytest.raises(ValueError, match="kind"):
        regularizers.deserialize({**entry, "kind": "layers"})


def test_registry_errors_share_a_catchable_base():
    for error in (UnknownNameError, PluginLoadError, PluginConflictError):
        assert issubclass(error, RegistryError)
    with pytest.raises(TypeError, match="expected a name"):
        layers.registry.get(3)


def test_a_saved_entry_whose_plugin_name_is_now_reserved_says_so(fake_entry_points):
    fake_entry_points(layers.registry, fake_entry_point("dense", "nowhere:Dense", "minigrad.layers", "usurper"))
    with pytest.warns(PluginWarning):
        layers.registry.names()
    entry = {"kind": "layers", "name": "dense", "config": {"units": 2}, "provider": {"distribution": "usurper"}}
    with pytest.raises(UnknownNameError, match="reuses the built-in name 'dense' and is skipped"):
        layers.deserialize(entry)


def test_builtin_names_are_reserved_in_any_case(fake_entry_points):
    """Issue 13: a plugin claiming 'ReLU' made Dense(activation='ReLU') silently use it."""
    from minigrad import activations

    fake_entry_points(activations.registry,
                      fake_entry_point("ReLU", "nowhere_relu:relu", "minigrad.activations", "shadow", "1.0"),
                      fake_entry_point("SIGMOID", "nowhere_relu:sig", "minigrad.activations", "shadow", "1.0"))
    with pytest.warns(PluginWarning) as caught:
        names = activations.registry.names()
    assert sorted(str(w.message).split(";")[0] for w in caught) == [
        "plugin shadow 1.0: minigrad.activations entry 'ReLU' reuses the built-in name 'relu' and is skipped",
        "plugin shadow 1.0: minigrad.activations entry 'SIGMOID' reuses the built-in name 'sigmoid' and is skipped"]
    assert "ReLU" not in names and "SIGMOID" not in names
    assert activations.get("ReLU") is activations.get("relu") and activations.get("Sigmoid") is activations.get("sigmoid")
    assert layers.Dense(2, activation="ReLU").activation is activations.get("relu")


OWN_PLUGIN = """
from minigrad import activations
from minigrad.layers import Layer

def shared_act(x):
    return x * 2.0

class OwnLayer(Layer):
    example_input_shape = (2, 3)

    def call(self, inputs, training=False):
        return activations.get("shared_act")(inputs)
"""


def test_inside_a_plugin_its_own_names_resolve_to_it_despite_a_conflict(plugin_modules, fake_entry_points):
    """Issue 13: a second provider of a name broke another plugin that looks the name up internally."""
    from minigrad import activations

    plugin_modules("fake_own", OWN_PLUGIN)
    plugin_modules("fake_rival", "raise RuntimeError('the rival must not be imported')\n")
    fake_entry_points(activations.registry,
                      fake_entry_point("shared_act", "fake_own:shared_act", "minigrad.activations", "own-dist"),
                      fake_entry_point("shared_act", "fake_rival:shared_act", "minigrad.activations", "rival"))
    fake_entry_points(layers.registry, fake_entry_point("own_layer", "fake_own:OwnLayer", "minigrad.layers", "own-dist"))
    y = layers.get("own_layer")()(np.ones((2, 3), np.float32))
    np.testing.assert_array_equal(y.numpy(), 2.0)
    with pytest.raises(PluginConflictError, match="own-dist 1.0 and rival 1.0"):  # elsewhere it stays ambiguous
        activations.get("shared_act")
    assert "fake_rival" not in sys.modules


def test_a_file_cannot_make_minigrad_import_an_undeclared_plugin(plugin_modules, fake_entry_points, tmp_path):
    """Issue 13: activation='patchy' in a file imported that plugin, whose import-time patch changed
    another model's outputs. Now a file may use only the plugins it declares in 'requires'."""
    from minigrad import activations, models, saving
    from minigrad.errors import SerializationError

    plugin_modules("fake_patchy", "import minigrad\nminigrad.PATCHED = True\n\ndef patchy(x):\n    return x\n")
    fake_entry_points(activations.registry,
                      fake_entry_point("patchy", "fake_patchy:patchy", "minigrad.activations", "patchy-dist", "0.1"))
    models.Sequential([layers.Dense(2, input_shape=(3,), activation="relu", name="d")]).save(tmp_path / "m.mg")
    document = saving.read_archive(tmp_path / "m.mg", "model")
    document["model"]["config"]["layers"][0]["config"]["activation"] = "patchy"
    saving.write_archive(tmp_path / "patchy.mg", "model", document)
    with pytest.raises(SerializationError, match=r"patchy\.mg: names activation 'patchy' of plugin patchy-dist, "
                                                 r"which it does not declare .*\(none\); refused, nothing imported"):
        saving.load_model(tmp_path / "patchy.mg")
    assert "fake_patchy" not in sys.modules and not hasattr(__import__("minigrad"), "PATCHED")
    document["requires"] = [{"distribution": "patchy-dist", "version": "0.1"}]
    saving.write_archive(tmp_path / "declared.mg", "model", document)
    assert saving.load_model(tmp_path / "declared.mg").layers[0].activation is activations.get("patchy")


def test_a_distribution_installed_twice_warns_naming_both_places(tmp_path):
    from minigrad.registry.plugins import _warn_duplicate_installs

    for folder, version in (("site", "1.0"), ("pythonpath", "2.0")):
        info = tmp_path / folder / f"twice_dist-{version}.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: twice-dist\nVersion: {version}\n")
        (info / "entry_points.txt").write_text("[minigrad.layers]\ntwice = twice_mod:Twice\n")
    dists = importlib.metadata.distributions(path=[str(tmp_path / "site"), str(tmp_path / "pythonpath")])
    with pytest.warns(PluginWarning) as caught:
        _warn_duplicate_installs(dists)
    (w,) = caught
    message = str(w.message)
    assert message.startswith("plugin twice-dist is installed 2 times: 1.0 at ") and "(used)" in message
    assert str(tmp_path / "site") in message and str(tmp_path / "pythonpath") in message
    assert "pip uninstall twice-dist" in message and w.filename == "<plugin twice-dist>"
