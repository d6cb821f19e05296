"""Fake plugin distributions for the registry tests: entry points and a layer module's source."""
import importlib.metadata
from types import SimpleNamespace

LAYER_SOURCE = """
from minigrad.layers import Layer

class {cls}(Layer):
    '''A do-nothing layer from a fake distribution.'''
    example_input_shape = (2, 3)
    origin = {origin!r}

    def call(self, inputs, training=False):
        return inputs
"""


def fake_entry_point(name: str, value: str, group: str, dist: str, version: str = "1.0"):
    """An importlib.metadata.EntryPoint attached to a fake distribution, as entry_points() returns them."""
    return importlib.metadata.EntryPoint(name, value, group)._for(SimpleNamespace(name=dist, version=version))

