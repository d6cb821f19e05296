"""Saving and loading models, weights and training checkpoints in a format that runs no code on load.

See minigrad.saving.archive for the file format and its guarantees (atomic writes, checksums).
"""
from minigrad.saving.archive import FORMAT_VERSION, atomic_write, read_archive, write_archive
from minigrad.saving.model import load_model, load_weights, save_model, save_weights
from minigrad.saving.serialization import (CustomObjectScope, custom_object_scope, deserialize_keras_object,
                                           get_custom_objects, get_registered_name, get_registered_object,
                                           register_keras_serializable, register_serializable,
                                           serialize_keras_object)

__all__ = [
    "save_model", "load_model", "save_weights", "load_weights",
    "write_archive", "read_archive", "atomic_write", "FORMAT_VERSION",
    "register_keras_serializable", "register_serializable", "get_custom_objects", "custom_object_scope",
    "CustomObjectScope", "get_registered_name", "get_registered_object", "serialize_keras_object",
    "deserialize_keras_object",
]
