"""Names and configs: Keras' snake_case, the reverse lookup `name_of` and serialize / deserialize.

Saved configs hold kind, registered name, provider and config; loading resolves them only through
registries (no arbitrary imports, no pickle), and naming an object for saving imports nothing.
"""
from __future__ import annotations

import inspect
import re
import sys
from typing import Any

from minigrad.errors import UnknownNameError

__all__ = ["snake_case", "normalize_dist", "Naming"]


def snake_case(name: str) -> str:
    """Keras 3's to_snake_case: 'MaxPooling2D' -> 'max_pooling2d', 'ReLU' -> 're_lu', 'L1L2' -> 'l1l2'."""
    name = re.sub(r"\W+", "", name)
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)  # a capitalised word starts a new part
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()  # so does lower->Upper; '2D' stays whole


def normalize_dist(name: str) -> str:
    """PEP 503 normalisation: 'Minigrad_Gabor' and 'minigrad-gabor' name the same distribution."""
    return re.sub(r"[-_.]+", "-", name).lower()


def custom_objects() -> Any:
    """minigrad.saving.serialization, home of the user's custom objects, once imported (minigrad does)."""
    return sys.modules.get("minigrad.saving.serialization")


class Naming:
    """Registry methods that name objects for saving and rebuild them from saved entries."""

    def name_of(self, obj: Any) -> tuple[str, str | None]:
        """(registered name, providing distribution or None for built-ins) of an object or class."""
        target = obj if isinstance(obj, type) else type(obj)

        def same(value: Any) -> bool:
            if value is obj or value is target:
                return True
            # registries of instances (ops) match any object of that class; functions all share one type
            return type(value) is target and not isinstance(value, type) and not inspect.isroutine(value)

        for name, value in self._builtins.items():
            if same(value):
                return name, None
        for name, entries in self.plugins.table().items():
            for e in entries:
                # an object of a plugin imported directly (not through the registry) is found in its
                # already imported module; an entry whose module is not imported cannot have made obj
                found = e.imported()
                if found is not None and same(found):
                    return (name if len(entries) == 1 else e.qualified), e.distribution
        custom = custom_objects()
        name = custom.custom_name_of(self, obj) if custom is not None else None
        if name is not None:
            return name, None
        label = getattr(target, "__qualname__", repr(obj))
        raise UnknownNameError(
            f"{self.kind}: {label} is not registered; register it with "
            f"minigrad.{self.kind}.register('{snake_case(getattr(target, '__name__', 'name'))}') "
            f"or declare it under [project.entry-points.\"{self.plugins.group}\"] in your plugin's pyproject.toml"
        )

    def default_name(self, cls: type) -> str:
        """A loss's or metric's default name: its registered name, else (a user's class, registered with
        Keras' decorator or not) Keras' snake_case of the class name."""
        custom = custom_objects()
        if custom is None or custom.custom_name_of(self, cls) is None:
            try:
                return self.name_of(cls)[0]
            except (KeyError, ValueError):
                pass
        return snake_case(cls.__name__)

    def serialize(self, obj: Any) -> dict[str, Any]:
        """{'kind', 'name', 'config'[, 'provider']}; config is {} for plain functions."""
        name, provider = self.name_of(obj)
        has_config = not isinstance(obj, type) and callable(getattr(obj, "get_config", None))
        entry = {"kind": self.kind, "name": name, "config": obj.get_config() if has_config else {}}
        if provider is not None:
            entry["provider"] = {"distribution": provider, "version": self.plugins.version_of(provider)}
        return entry

    def deserialize(self, entry: dict[str, Any]) -> Any:
        """Rebuild an object from serialize()'s dict, resolving its class only through this registry."""
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise ValueError(f"{self.kind}: expected a serialized entry with 'name' and 'config', received {entry!r}")
        if entry.get("kind", self.kind) != self.kind:
            raise ValueError(f"{self.kind}: entry is of kind {entry.get('kind')!r}, expected {self.kind!r}")
        name, provider = entry["name"], entry.get("provider") or {}
        dist = provider.get("distribution") if isinstance(provider, dict) else None
        try:
            # the recorded provider disambiguates a name that became a conflict since saving
            found = self.get(f"{dist}:{name}" if dist and ":" not in name else name)
        except UnknownNameError as e:
            if dist and not self.plugins.provides_anything(dist):
                raise UnknownNameError(
                    f"{self.singular} '{name}' comes from the plugin distribution '{dist}' "
                    f"(version {provider.get('version', '?')}), which is not installed: pip install {dist}"
                ) from e
            raise
        config = entry.get("config") or {}
        if not isinstance(config, dict):
            raise ValueError(f"{self.kind} '{name}': config must be a dict, received {type(config).__name__}")
        if isinstance(found, type):
            return found.from_config(config) if hasattr(found, "from_config") else found(**config)
        if config:
            raise ValueError(f"{self.kind} '{name}' is not configurable, but the entry has config {config!r}")
        return found  # a plain function or a registered instance
