"""name_of (what saving calls to name an object) imports nothing: built-ins, plugins, custom objects."""
import sys

import pytest
from _fakes import LAYER_SOURCE, fake_entry_point

from minigrad import layers, ops
from minigrad.errors import UnknownNameError
from minigrad.registry import all_registries


@pytest.mark.parametrize("kind", sorted(all_registries()))
def test_naming_every_builtin_imports_nothing(kind):
    registry = all_registries()[kind]
    before = set(sys.modules)
    for name, obj in registry.builtins().items():
        assert registry.name_of(obj) == (name, None)
    assert set(sys.modules) == before


def test_an_instance_of_an_op_class_is_named_by_its_class():
    assert ops.registry.name_of(type(ops.get("add"))()) == ("add", None)


def test_a_plugin_whose_module_is_not_imported_is_never_imported_to_name_an_object(plugin_modules, fake_entry_points):
    plugin_modules("fake_unimported", "raise RuntimeError('name_of must not import a plugin')\n")
    fake_entry_points(layers.registry,
                      fake_entry_point("unimported", "fake_unimported:Unimported", "minigrad.layers", "lazy-dist"))

    class Stranger(layers.Layer):
        pass

    before = set(sys.modules)
    assert layers.registry.name_of(Stranger) == ("Stranger", None)  # a user's class: saved by its class name
    with pytest.raises(UnknownNameError, match="Dense is not registered"):
        ops.registry.name_of(layers.Dense)
    assert set(sys.modules) == before


def test_an_object_of_a_plugin_imported_directly_is_named_by_its_entry(plugin_modules, fake_entry_points):
    plugin_modules("fake_direct", LAYER_SOURCE.format(cls="DirectLayer", origin="direct"))
    fake_entry_points(layers.registry,
                      fake_entry_point("direct_layer", "fake_direct:DirectLayer", "minigrad.layers", "direct", "3.1"))
    import fake_direct  # the user imports the plugin's module, not the registry

    before = set(sys.modules)
    layer = fake_direct.DirectLayer(name="d")
    assert layers.registry.name_of(layer) == ("direct_layer", "direct")
    assert layers.serialize(layer)["provider"] == {"distribution": "direct", "version": "3.1"}
    assert set(sys.modules) == before
    statuses = {e.name: e.status for e in layers.registry.entries(load=False)}
    assert statuses["direct_layer"] == "not loaded"  # named from its module, not loaded through the registry
