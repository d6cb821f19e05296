"""Registry: names -> objects of one kind, built-ins registered in code and plugins found by entry point."""
from __future__ import annotations

import difflib
from typing import Any, Callable, Iterator

from minigrad.errors import PluginConflictError, PluginLoadError, UnknownNameError
from minigrad.registry.names import Naming, custom_objects, snake_case
from minigrad.registry.plugins import PluginEntry, PluginGroup

__all__ = ["Registry", "all_registries", "is_installed"]

_REGISTRIES: dict[str, "Registry"] = {}


class Registry(Naming):
    """Names -> objects of one kind (ops, layers, regularizers, ...), built-in and plugin."""

    def __init__(self, kind: str, *, validate: Callable[[Any], bool] | None = None,
                 on_register: Callable[[str, Any], Any] | None = None, snake_class_names: bool = False) -> None:
        self.kind, self.group = kind, f"minigrad.{kind}"
        self.singular = kind[:-2] if kind.endswith("sses") else kind.removesuffix("s")  # losses -> loss
        self._validate = validate
        self._on_register = on_register
        self._snake_class_names = snake_class_names  # 'MeanIoU' also answers to 'mean_io_u' (Keras' metrics)
        self._builtins: dict[str, Any] = {}
        self._aliases: dict[str, str] = {}  # alias or ClassName -> registered name
        self._folded: dict[str, str] | None = None  # casefolded names and aliases -> name, built on use
        self.plugins = PluginGroup(self.group, self.singular, self._builtin_key, self._adopt)
        _REGISTRIES.setdefault(kind, self)  # the first registry of a kind is the public one

    def register(self, name: str, obj: Any = None, *, aliases: tuple[str, ...] = (), override: bool = False):
        """Register obj under name (usable as a decorator); a name taken twice needs override=True."""
        if not isinstance(name, str) or not name or ":" in name:
            raise TypeError(f"{self.kind} registry: a name must be a non-empty str without ':', received {name!r}")

        def decorate(target: Any) -> Any:
            if name in self._builtins and not override:
                raise ValueError(
                    f"{self.kind} registry: '{name}' is already registered "
                    f"({self._builtins[name]!r}); pass override=True to replace it"
                )
            self._builtins[name] = self._adopt(name, target)
            self._folded = None
            class_name = getattr(target, "__name__", None)
            if isinstance(class_name, str) and class_name != name:
                self._aliases.setdefault(class_name, name)
                if self._snake_class_names:
                    self._aliases.setdefault(snake_case(class_name), name)
            for alias in aliases:
                self._aliases[alias] = name
            self.plugins.reserve()  # plugins listed before this registration may reuse the name
            return target

        return decorate if obj is None else decorate(obj)

    def accepts(self, obj: Any) -> bool:
        """Whether obj is of this registry's kind (what register and plugin loading check)."""
        return self._validate is None or bool(self._validate(obj))

    def _adopt(self, name: str, obj: Any) -> Any:
        """What the registry stores for obj: TypeError unless it is of this kind."""
        if not self.accepts(obj):
            raise TypeError(f"{self.kind} registry: {obj!r} is not a valid {self.singular}")
        return self._on_register(name, obj) if self._on_register else obj

    def get(self, name: str) -> Any:
        """The object registered as name, 'ClassName', an alias or 'distribution:name'."""
        if not isinstance(name, str):
            raise TypeError(f"{self.kind}: expected a name (str), received {type(name).__name__}")
        if name in self._builtins:  # the hot path: no normalisation, no plugin listing
            return self._builtins[name]
        entries = self._plugin_entries(name)
        key = None if entries else self._builtin_key(name)
        if key is not None:
            return self._builtins[key]
        if not entries:
            custom = custom_objects()  # user classes: registered or custom_objects
            found = custom.custom_lookup(self, name) if custom is not None else None
            if found is not None:
                return found
            raise UnknownNameError(self._unknown_message(name) + (custom.unknown_hint(name) if custom else ""))
        if len(entries) > 1:
            entries = self.plugins.narrow(entries)
        if len(entries) > 1:
            who = " and ".join(f"{e.distribution} {e.version}" for e in entries)
            raise PluginConflictError(
                f"{self.singular} '{name}' is provided by several plugins ({who}) in {self.group}; "
                f"use a qualified name: " + " or ".join(repr(e.qualified) for e in entries)
            )
        return self.plugins.load(entries[0])

    def _plugin_entries(self, name: str) -> list[PluginEntry]:
        """The entries name stands for: one for 'distribution:name', none for a built-in (imports nothing)."""
        if ":" in name:
            return [self.plugins.qualified(name, self._suggest)]
        return [] if self._builtin_key(name) is not None else self.plugins.matching(name)

    def __contains__(self, name: object) -> bool:
        """True when name resolves to exactly one built-in or plugin entry (imports nothing)."""
        if not isinstance(name, str):
            return False
        try:
            entries = self._plugin_entries(name)
        except UnknownNameError:
            return False
        return len(entries) == 1 or (not entries and self._builtin_key(name) is not None)

    def names(self, *, plugins: bool = True) -> list[str]:
        """Sorted names: built-ins, plus plugin entry names unless plugins=False (imports nothing)."""
        return sorted(set(self._builtins) | (set(self.plugins.table()) if plugins else set()))

    def provider(self, name: str) -> str | None:
        """None for a built-in, else the plugin distribution(s) providing name (imports nothing)."""
        entries = self._plugin_entries(name)
        if not entries and self._builtin_key(name) is None:
            raise UnknownNameError(self._unknown_message(name))
        return " / ".join(e.distribution for e in entries) or None

    def plugin_provider(self, name: str) -> tuple[str, str] | None:
        """(distribution, version) when name is one plugin's entry; None for built-ins, unknown or
        ambiguous names (imports nothing)."""
        try:
            entries = self._plugin_entries(name)
        except UnknownNameError:
            return None
        return (entries[0].distribution, entries[0].version) if len(entries) == 1 else None

    def builtins(self) -> dict[str, Any]:
        """Built-in name -> object (a copy)."""
        return dict(self._builtins)

    def entries(self, *, load: bool = True) -> list[PluginEntry]:
        """Every plugin entry of the group, reserved ones included (for the CLI).

        With load=True each entry is imported once so its status says ok / import error / wrong kind.
        """
        out = self.plugins.all() + list(self.plugins.reserved)
        for e in out if load else ():
            if e.status in ("not loaded", "conflict") and e.obj is None and e.error is None:
                try:
                    self.plugins.load(e)
                except PluginLoadError:  # the entry's status now records the failure
                    pass
        return sorted(out, key=lambda e: (e.name, e.distribution))

    def refresh(self, entry_points: Callable[[str], list[Any]] | None = None) -> None:
        """Forget listed plugins; tests pass a fake entry_points(group) source here (None: the real one)."""
        self.plugins.refresh(entry_points)

    def _builtin_key(self, name: str) -> str | None:
        """The built-in answering to name, 'ClassName', an alias or their snake_case, in any case, else None."""
        if name in self._builtins:
            return name
        for key in (self._aliases.get(name), snake_case(name), self._aliases.get(snake_case(name))):
            if key is not None and key in self._builtins:
                return key
        # 'ReLU' must not let a plugin shadow 'relu': built-in names are reserved case-insensitively
        if self._folded is None:
            self._folded = {k.casefold(): k for k in self._builtins}
            self._folded.update({a.casefold(): k for a, k in self._aliases.items() if k in self._builtins})
        for probe in (name.casefold(), snake_case(name).casefold()):
            if probe in self._folded:
                return self._folded[probe]
        return None

    def _suggest(self, name: str) -> str:
        known = self.names()
        spellings = {k: k for k in known}
        spellings.update({alias: key for alias, key in self._aliases.items() if key in self._builtins})
        close: list[str] = []
        for probe in (name, snake_case(name)):
            for hit in difflib.get_close_matches(probe, list(spellings), n=3, cutoff=0.6):
                if spellings[hit] not in close:  # 'Multiply' and 'multiply' are one suggestion
                    close.append(spellings[hit])
        if close:
            return f"; did you mean {', '.join(repr(c) for c in close[:3])}?"
        return f"; known: {', '.join(known)}" if len(known) <= 40 else f"; {len(known)} known, none close"

    def _unknown_message(self, name: str) -> str:
        return f"unknown {self.singular} '{name}' in {self.group}" + self._suggest(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __repr__(self) -> str:
        return f"<Registry {self.group}: {len(self._builtins)} built-in>"


def all_registries() -> dict[str, Registry]:
    """Every registry created so far, by kind."""
    return dict(_REGISTRIES)


def is_installed(distribution: str) -> bool:
    """Whether an installed distribution has any entry in any minigrad group (imports nothing)."""
    return any(r.plugins.provides_anything(distribution) for r in _REGISTRIES.values())
