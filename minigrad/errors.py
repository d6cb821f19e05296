"""Exception types users can catch; each subclasses the builtin a Keras/NumPy user would expect."""


class MinigradError(Exception):
    """Base of minigrad's own errors that are not plain ValueError/TypeError cases."""


class ShapeError(ValueError):
    """An array's shape does not fit an op or layer."""


class GradcheckError(AssertionError):
    """Analytic and finite-difference gradients disagree beyond tolerance."""


class RegistryError(KeyError):
    """A name could not be resolved in a registry."""

    def __str__(self) -> str:  # KeyError quotes its message; show it as written
        return str(self.args[0]) if self.args else ""


class UnknownNameError(RegistryError, ValueError):
    """No entry of that name exists in the group; the message lists the closest names."""


class PluginLoadError(RegistryError, ImportError):
    """A plugin entry point failed to import or is not the right kind."""


class MissingPluginError(PluginLoadError):
    """A saved file needs plugin distributions that are not installed."""


class PluginConflictError(RegistryError, ValueError):
    """Two distributions provide the same name in one group."""


class SerializationError(ValueError):
    """A saved file is truncated, tampered with, foreign or otherwise unreadable."""
