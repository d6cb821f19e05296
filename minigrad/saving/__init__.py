"""Saving and loading models, weights and training checkpoints in a format that runs no code on load.

See minigrad.saving.archive for the file format and its guarantees (atomic writes, checksums).
"""
from minigrad.saving.archive import FORMAT_VERSION, atomic_write, read_archive, write_archive
from minigrad.saving.model import load_model, load_weights, save_model, save_weights

__all__ = [
    "save_model", "load_model", "save_weights", "load_weights",
    "write_archive", "read_archive", "atomic_write", "FORMAT_VERSION",
]
