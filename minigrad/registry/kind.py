"""Kind: the register / get / serialize / deserialize trio that every kind of component shares."""
from __future__ import annotations

from typing import Any, Callable

from minigrad.registry.core import Registry

__all__ = ["Kind"]


class Kind:
    """One kind of component (layers, losses, ...): its registry, its base class and a Keras-style get.

    `registry, register, get, serialize, deserialize = Kind("constraints", Constraint, functions=True).api()`
    """

    def __init__(self, kind: str, base: type | None, *, functions: bool = False,
                 wrap: Callable[..., Any] | None = None, instantiate: bool = True, named: bool = False,
                 on_register: Callable[[str, Any], Any] | None = None, snake_class_names: bool = False) -> None:
        self.base = base
        self.functions = functions  # plain callables are registered and accepted as they are
        self.wrap = wrap  # makes an instance of a plain function (losses, metrics)
        self.instantiate = instantiate  # a class becomes an instance with defaults (not for layers)
        self.named = named  # an instance made from a name is named after it (metrics, as Keras' compile)
        self.registry = Registry(kind, validate=self.accepts, on_register=on_register,
                                 snake_class_names=snake_class_names)

    def api(self) -> tuple[Registry, Callable[..., Any], Callable[[Any], Any], Callable[..., Any], Callable[..., Any]]:
        """(registry, register, get, serialize, deserialize), the names each kind's module exports."""
        return self.registry, self.registry.register, self.get, self.serialize, self.deserialize

    def serialize(self, obj: Any) -> Any:
        """{'kind', 'name', 'config'[, 'provider']} of obj, rebuilt only through the registry."""
        return self.registry.serialize(obj)

    def deserialize(self, entry: Any) -> Any:
        """The object serialize() described, its class resolved only through the registry."""
        return self.registry.deserialize(entry)

    def accepts(self, obj: Any) -> bool:
        """Whether obj is of this kind: a subclass or instance of base, or (kinds of functions) a callable."""
        base = self.base
        if base is not None and (isinstance(obj, base) or (isinstance(obj, type) and issubclass(obj, base))):
            return True
        return self.functions and callable(obj)

    def get(self, identifier: Any) -> Any:
        """None, an instance, a class, a name ('snake_name', 'ClassName', 'dist:name') or a serialized dict;
        for kinds of functions also a callable."""
        if identifier is None:
            return None
        if self.base is not None and isinstance(identifier, self.base):
            return identifier
        if isinstance(identifier, dict):
            return self.deserialize(identifier)
        if isinstance(identifier, str):
            return self._make(self.registry.get(identifier), identifier)
        if isinstance(identifier, type) and self.accepts(identifier):
            return self._make(identifier, None)
        if callable(identifier) and self.wrap is not None:
            return self.wrap(identifier)
        if callable(identifier) and self.functions:
            return identifier
        forms = ["None", "a name", "a config dict"] + (
            [f"an instance or subclass of {self.base.__name__}"] if self.base is not None else []) + (
            ["a function"] if self.functions or self.wrap is not None else [])
        raise TypeError(f"{self.registry.kind}.get: expected {', '.join(forms[:-1])} or {forms[-1]}, "
                        f"received {type(identifier).__name__}")

    def _make(self, found: Any, name: str | None) -> Any:
        """What get returns for a registered object: a class with defaults, a function wrapped if need be."""
        if isinstance(found, type):
            if not self.instantiate:
                return found
            if self.named and name:
                return found(name=name)
            # a class whose name means other values than its defaults (regularizers.L1L2)
            return found(**vars(found).get("by_name", {})) if name else found()
        if self.wrap is not None and not (self.base is not None and isinstance(found, self.base)):
            return self.wrap(found, name=name)
        return found
