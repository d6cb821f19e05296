"""Data sets with Keras-style loaders: `digits` (embedded, no network) and `mnist` (IDX files)."""
from minigrad.datasets import digits, mnist

__all__ = ["digits", "mnist"]
