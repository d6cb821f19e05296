"""One Registry class for every kind: built-ins registered in code, plugins found lazily by entry point.

Lookup order for a bare name: built-ins first (reserved: a plugin reusing one is skipped with a
warning), then plugin entry points of the group. Entry points are listed on the first lookup that
misses the built-ins, and a plugin module is imported only when one of its names is used.
"""
from __future__ import annotations

import difflib
import re
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from minigrad.errors import PluginConflictError, PluginLoadError, UnknownNameError

__all__ = ["Registry", "PluginEntry", "snake_case", "all_registries"]

_REGISTRIES: dict[str, "Registry"] = {}


class PluginWarning(UserWarning):
    """A plugin entry was skipped (reserved built-in name) or could not be loaded."""


def snake_case(name: str) -> str:
    """'MaxPooling2D' -> 'max_pooling2d', 'L1L2' -> 'l1l2'."""
    s = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name)
    s = re.sub(r"(?<=[A-Z])([A-Z][a-z])", r"_\1", s)
    return s.lower()


@dataclass
class PluginEntry:
    """One entry point of a group: where it comes from and, once loaded, what it is."""

    name: str
    value: str
    distribution: str
    version: str
    entry_point: Any = field(repr=False, default=None)
    obj: Any = field(repr=False, default=None)
    error: BaseException | None = field(repr=False, default=None)
    status: str = "not loaded"  # not loaded | ok | conflict | reserved | import error | wrong kind

    @property
    def qualified(self) -> str:
        return f"{self.distribution}:{self.name}"


class Registry:
    """Names -> objects of one kind (ops, layers, regularizers, ...), built-in and plugin."""

    def __init__(
        self,
        kind: str,
        *,
        validate: Callable[[Any], bool] | None = None,
        on_register: Callable[[str, Any], Any] | None = None,
    ) -> None:
        self.kind = kind
        self.group = f"minigrad.{kind}"
        self._validate = validate
        self._on_register = on_register
        self._builtins: dict[str, Any] = {}
        self._aliases: dict[str, str] = {}
        self._plugins: dict[str, list[PluginEntry]] | None = None  # None until listed
        self._entry_points_source: Callable[[str], list[Any]] | None = None
        _REGISTRIES[kind] = self

    # ----- registration (built-ins and in-process code)
    def register(self, name: str, obj: Any = None, *, aliases: tuple[str, ...] = (), override: bool = False):
        """Register obj under name (usable as a decorator); a name taken twice needs override=True."""
        if not isinstance(name, str) or not name:
            raise TypeError(f"{self.kind} registry: a name must be a non-empty str, received {name!r}")

        def decorate(target: Any) -> Any:
            if name in self._builtins and not override:
                raise ValueError(
                    f"{self.kind} registry: '{name}' is already registered "
                    f"({self._builtins[name]!r}); pass override=True to replace it"
                )
            if self._validate is not None and not self._validate(target):
                raise TypeError(f"{self.kind} registry: {target!r} is not a valid {self.kind} object")
            stored = self._on_register(name, target) if self._on_register else target
            self._builtins[name] = stored
            for alias in aliases:
                self._aliases[alias] = name
            return target

        return decorate if obj is None else decorate(obj)

    # ----- lookup
    def get(self, name: str) -> Any:
        """The object registered as name, 'ClassName', an alias or 'distribution:name'."""
        if not isinstance(name, str):
            raise TypeError(f"{self.kind}: expected a name (str), received {type(name).__name__}")
        if name in self._builtins:
            return self._builtins[name]
        if ":" in name:
            return self._get_qualified(name)
        key = self._aliases.get(name) or self._aliases.get(snake_case(name)) or snake_case(name)
        if key in self._builtins:
            return self._builtins[key]
        plugins = self._plugin_table()
        entries = plugins.get(name) or plugins.get(key)
        if not entries:
            raise UnknownNameError(self._unknown_message(name))
        if len(entries) > 1:
            who = ", ".join(f"{e.distribution} {e.version}" for e in entries)
            raise PluginConflictError(
                f"{self.kind} '{name}' is provided by several plugins ({who}); "
                f"use a qualified name such as '{entries[0].qualified}'"
            )
        return self._load(entries[0])

    def __contains__(self, name: str) -> bool:
        try:
            self.get(name)
        except (UnknownNameError, PluginConflictError):
            return False
        return True

    def names(self, *, plugins: bool = True) -> list[str]:
        """Sorted names: built-ins, plus plugin entry names unless plugins=False."""
        names = set(self._builtins)
        if plugins:
            names.update(self._plugin_table())
        return sorted(names)

    def builtins(self) -> dict[str, Any]:
        """Built-in name -> object (a copy)."""
        return dict(self._builtins)

    def name_of(self, obj: Any) -> tuple[str, str | None]:
        """(registered name, providing distribution or None for built-ins) of an object or class."""
        target = obj if isinstance(obj, type) else type(obj)
        for name, value in self._builtins.items():
            if value is obj or value is target or type(value) is target:
                return name, None
        for name, entries in self._plugin_table().items():
            for e in entries:
                if e.obj is not None and (e.obj is obj or e.obj is target or type(e.obj) is target):
                    return (name if len(entries) == 1 else e.qualified), e.distribution
        raise UnknownNameError(
            f"{self.kind}: {target.__qualname__} is not registered; register it with "
            f"minigrad.{self.kind}.register('{snake_case(target.__name__)}') or a plugin entry point"
        )

    def entries(self) -> list[PluginEntry]:
        """Every plugin entry of the group (for the CLI), each loaded once to report its status."""
        out = []
        for entries in self._plugin_table().values():
            for e in entries:
                if e.status == "not loaded":
                    try:
                        self._load(e)
                    except PluginLoadError:
                        pass
                out.append(e)
        return sorted(out, key=lambda e: (e.name, e.distribution))

    # ----- configs: kind + registered name + provider + config; no arbitrary imports
    def serialize(self, obj: Any) -> dict[str, Any]:
        """{'kind', 'name', 'provider', 'config'} of an object that has get_config()."""
        name, provider = self.name_of(obj)
        entry = {"kind": self.kind, "name": name, "config": obj.get_config()}
        if provider is not None:
            entry["provider"] = {"distribution": provider, "version": self._version_of(provider)}
        return entry

    def deserialize(self, entry: dict[str, Any]) -> Any:
        """Rebuild an object from serialize()'s dict, resolving its class only through this registry."""
        if not isinstance(entry, dict) or "name" not in entry:
            raise ValueError(f"{self.kind}: expected a serialized entry with 'name' and 'config', received {entry!r}")
        if entry.get("kind", self.kind) != self.kind:
            raise ValueError(f"{self.kind}: entry is of kind {entry.get('kind')!r}")
        try:
            cls = self.get(entry["name"])
        except UnknownNameError as e:
            provider = entry.get("provider")
            if provider:
                raise UnknownNameError(
                    f"{self.kind} '{entry['name']}' comes from the plugin distribution "
                    f"'{provider['distribution']}' (version {provider.get('version', '?')}), which is not "
                    f"installed: pip install {provider['distribution']}"
                ) from e
            raise
        config = entry.get("config") or {}
        return cls.from_config(config) if hasattr(cls, "from_config") else cls(**config)

    def _version_of(self, distribution: str) -> str:
        for entries in self._plugin_table().values():
            for e in entries:
                if e.distribution == distribution:
                    return e.version
        return "?"

    # ----- plugins
    def _plugin_table(self) -> dict[str, list[PluginEntry]]:
        if self._plugins is None:
            self._plugins = self._list_plugins()
        return self._plugins

    def refresh(self, entry_points: Callable[[str], list[Any]] | None = None) -> None:
        """Forget listed plugins (tests pass a fake entry_points(group) source here)."""
        self._entry_points_source = entry_points
        self._plugins = None

    def _list_plugins(self) -> dict[str, list[PluginEntry]]:
        if self._entry_points_source is not None:
            eps = self._entry_points_source(self.group)
        else:
            from importlib.metadata import entry_points

            eps = entry_points(group=self.group)
        table: dict[str, list[PluginEntry]] = {}
        for ep in eps:
            dist = getattr(ep, "dist", None)
            entry = PluginEntry(
                name=ep.name,
                value=ep.value,
                distribution=getattr(dist, "name", None) or "unknown",
                version=getattr(dist, "version", None) or "?",
                entry_point=ep,
            )
            if ep.name in self._builtins:
                entry.status = "reserved"
                warnings.warn(
                    f"plugin {entry.distribution} {entry.version}: {self.group} entry '{ep.name}' "
                    "reuses a built-in name and is skipped",
                    PluginWarning,
                    stacklevel=3,
                )
                continue
            table.setdefault(ep.name, []).append(entry)
        for entries in table.values():
            if len(entries) > 1:
                for e in entries:
                    e.status = "conflict"
        return table

    def _get_qualified(self, name: str) -> Any:
        dist, _, bare = name.partition(":")
        for e in self._plugin_table().get(bare, []):
            if e.distribution == dist or e.distribution.replace("-", "_") == dist.replace("-", "_"):
                return self._load(e)
        raise UnknownNameError(
            f"{self.kind} '{name}': no plugin distribution '{dist}' provides '{bare}' in {self.group}"
            + self._suggest(bare)
        )

    def _load(self, e: PluginEntry) -> Any:
        if e.obj is not None:
            return e.obj
        where = f"{self.group} entry '{e.name}' = '{e.value}' of plugin {e.distribution} {e.version}"
        if e.error is not None:
            raise PluginLoadError(f"{where} failed to load: {e.error}") from e.error
        try:
            obj = e.entry_point.load()
        except Exception as exc:  # noqa: BLE001 - any import-time failure is the plugin's
            e.error, e.status = exc, "import error"
            raise PluginLoadError(f"{where} failed to import: {type(exc).__name__}: {exc}") from exc
        if self._validate is not None and not self._validate(obj):
            e.error = TypeError(f"{obj!r} is not a {self.kind[:-1] if self.kind.endswith('s') else self.kind}")
            e.status = "wrong kind"
            raise PluginLoadError(f"{where} is the wrong kind: {e.error}") from e.error
        e.obj = self._on_register(e.name, obj) if self._on_register else obj
        if e.status != "conflict":
            e.status = "ok"
        return e.obj

    # ----- messages
    def _suggest(self, name: str) -> str:
        known = self.names()
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        close += [k for k in difflib.get_close_matches(snake_case(name), known, n=3, cutoff=0.5) if k not in close]
        if close:
            return f"; did you mean {', '.join(repr(c) for c in close[:3])}?"
        return f"; known: {', '.join(known)}" if len(known) <= 40 else ""

    def _unknown_message(self, name: str) -> str:
        return f"unknown {self.kind[:-1] if self.kind.endswith('s') else self.kind} '{name}'" + self._suggest(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __repr__(self) -> str:
        return f"<Registry {self.group}: {len(self._builtins)} built-in>"


def all_registries() -> dict[str, Registry]:
    """Every registry created so far, by kind."""
    return dict(_REGISTRIES)
