"""The package version (its own module, so subpackages can read it without importing minigrad itself)."""
__version__ = "0.1.0"
