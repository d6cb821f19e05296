"""One Registry class for every kind: built-ins registered in code, plugins found lazily by entry point.

Lookup order for a bare name: built-ins first (reserved: a plugin reusing one, in any spelling or
case, is skipped with a warning), then plugin entry points of the group. Entry points are listed on
the first lookup that misses the built-ins, and a plugin module is imported only when one of its
names is used. A name several plugins provide resolves, when looked up from inside one of them, to
that plugin's own entry; elsewhere it needs 'distribution:name'. Inside `only_plugins(...)` (what
load_model uses) entries of other distributions are refused and never imported.
"""
from __future__ import annotations

import contextlib
import difflib
import inspect
import re
import sys
import warnings
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

from minigrad.errors import PluginConflictError, PluginLoadError, SerializationError, UnknownNameError

__all__ = ["Registry", "PluginEntry", "PluginWarning", "snake_case", "all_registries", "only_plugins",
           "is_installed"]

_REGISTRIES: dict[str, "Registry"] = {}
# (normalised distributions, who asks) while only those plugins may be used; see only_plugins
_ALLOWED: ContextVar[tuple[frozenset[str], str] | None] = ContextVar("minigrad_allowed_plugins", default=None)
_duplicates_checked = False


class PluginWarning(UserWarning):
    """A plugin entry was skipped (reserved built-in name) or could not be loaded."""


def snake_case(name: str) -> str:
    """'MaxPooling2D' -> 'max_pooling2d', 'GaborConv2D' -> 'gabor_conv2d', 'L1L2' -> 'l1l2'."""
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)  # a capitalised word starts a new part
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()  # so does lower->Upper; '2D' stays whole


def _normalize_dist(name: str) -> str:
    """PEP 503 normalisation: 'Minigrad_Gabor' and 'minigrad-gabor' name the same distribution."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _plugin_warning(message: str, distribution: str) -> None:
    """Warn at the plugin, not at a line of minigrad (the user can act on the plugin, not on us)."""
    warnings.warn_explicit(message, PluginWarning, f"<plugin {distribution}>", 0, module="minigrad.plugins")


@contextlib.contextmanager
def only_plugins(distributions: Iterable[str], who: str) -> Iterator[None]:
    """Within the block, plugin entries of other distributions are refused before any import."""
    token = _ALLOWED.set((frozenset(_normalize_dist(d) for d in distributions), who))
    try:
        yield
    finally:
        _ALLOWED.reset(token)


def is_installed(distribution: str) -> bool:
    """Whether an installed distribution has any entry in any minigrad group (imports nothing)."""
    return any(r._provides_anything(distribution) for r in _REGISTRIES.values())


def _calling_package() -> str:
    """Top-level package of the nearest caller outside minigrad ('' when there is none)."""
    frame = sys._getframe(1)
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module != "minigrad" and not module.startswith("minigrad."):
            return module.partition(".")[0]
        frame = frame.f_back
    return ""


def _warn_duplicate_installs(distributions: Iterable[Any]) -> None:
    """Warn once per process for each plugin installed twice (importlib.metadata shows only the first)."""
    found: dict[str, list[Any]] = {}
    for dist in distributions:
        if any(ep.group.startswith("minigrad.") for ep in dist.entry_points):
            found.setdefault(_normalize_dist(dist.metadata["Name"] or "?"), []).append(dist)
    for copies in found.values():
        if len(copies) > 1:
            where = [f"{d.version} at {getattr(d, '_path', None) or d.locate_file('')}" for d in copies]
            name = copies[0].metadata["Name"]
            _plugin_warning(
                f"plugin {name} is installed {len(copies)} times: {where[0]} (used) and "
                f"{' and '.join(where[1:])} (ignored); keep one: pip uninstall {name} in the environment "
                "you do not want, or take the other folder off PYTHONPATH", name)


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

    @property
    def module(self) -> str:
        return self.value.partition(":")[0].strip()

    @property
    def attr(self) -> str:
        """Last attribute of 'module:Outer.attr' ('' when the entry names a module)."""
        return self.value.partition(":")[2].split("[")[0].strip().rpartition(".")[2]


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
        self._aliases: dict[str, str] = {}  # alias or ClassName -> registered name
        self._folded: dict[str, str] | None = None  # casefolded names and aliases -> name, built on use
        self._plugins: dict[str, list[PluginEntry]] | None = None  # None until listed
        self._reserved: list[PluginEntry] = []  # plugin entries skipped for reusing a built-in name
        self._entry_points_source: Callable[[str], list[Any]] | None = None
        _REGISTRIES.setdefault(kind, self)  # the first registry of a kind is the public one

    # ----- registration (built-ins and in-process code)
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
            if self._validate is not None and not self._validate(target):
                raise TypeError(f"{self.kind} registry: {target!r} is not a valid {self._singular}")
            stored = self._on_register(name, target) if self._on_register else target
            self._builtins[name] = stored
            self._folded = None
            class_name = getattr(target, "__name__", None)
            if isinstance(class_name, str) and class_name != name:
                self._aliases.setdefault(class_name, name)
            for alias in aliases:
                self._aliases[alias] = name
            if self._plugins is not None:  # registered after the plugins were listed
                self._reserve_listed()
            return target

        return decorate if obj is None else decorate(obj)

    # ----- lookup
    def get(self, name: str) -> Any:
        """The object registered as name, 'ClassName', an alias or 'distribution:name'."""
        if not isinstance(name, str):
            raise TypeError(f"{self.kind}: expected a name (str), received {type(name).__name__}")
        if name in self._builtins:  # the hot path: no normalisation, no plugin listing
            return self._builtins[name]
        if ":" in name:
            return self._load(self._qualified_entry(name))
        key = self._builtin_key(name)
        if key is not None:
            return self._builtins[key]
        entries = self._plugin_entries(name)
        if not entries:
            from minigrad.saving import serialization  # user classes: registered or custom_objects

            found = serialization.custom_lookup(self, name)
            if found is not None:
                return found
            raise UnknownNameError(self._unknown_message(name) + serialization.unknown_hint(name))
        if len(entries) > 1:
            entries = self._narrow(entries)
        if len(entries) > 1:
            who = " and ".join(f"{e.distribution} {e.version}" for e in entries)
            raise PluginConflictError(
                f"{self._singular} '{name}' is provided by several plugins ({who}) in {self.group}; "
                f"use a qualified name: " + " or ".join(repr(e.qualified) for e in entries)
            )
        return self._load(entries[0])

    def __contains__(self, name: object) -> bool:
        """True when name resolves to exactly one built-in or plugin entry (imports nothing)."""
        if not isinstance(name, str):
            return False
        if ":" in name:
            try:
                self._qualified_entry(name)
            except UnknownNameError:
                return False
            return True
        return self._builtin_key(name) is not None or len(self._plugin_entries(name)) == 1

    def names(self, *, plugins: bool = True) -> list[str]:
        """Sorted names: built-ins, plus plugin entry names unless plugins=False (imports nothing)."""
        names = set(self._builtins)
        if plugins:
            names.update(self._plugin_table())
        return sorted(names)

    def provider(self, name: str) -> str | None:
        """None for a built-in, else the plugin distribution(s) providing name (imports nothing)."""
        if ":" in name:
            return self._qualified_entry(name).distribution
        if self._builtin_key(name) is not None:
            return None
        entries = self._plugin_entries(name)
        if not entries:
            raise UnknownNameError(self._unknown_message(name))
        return " / ".join(e.distribution for e in entries)

    def plugin_provider(self, name: str) -> tuple[str, str] | None:
        """(distribution, version) when name is one plugin's entry; None for built-ins, unknown or
        ambiguous names (imports nothing)."""
        try:
            if ":" in name:
                e = self._qualified_entry(name)
                return e.distribution, e.version
            entries = [] if self._builtin_key(name) is not None else self._plugin_entries(name)
        except UnknownNameError:
            return None
        return (entries[0].distribution, entries[0].version) if len(entries) == 1 else None

    def builtins(self) -> dict[str, Any]:
        """Built-in name -> object (a copy)."""
        return dict(self._builtins)

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
        for name, entries in self._plugin_table().items():
            for e in entries:
                # an object of a plugin that was imported directly (not through the registry):
                # its module is already loaded, so resolving the entry imports nothing new
                if e.obj is None and e.error is None and e.module in sys.modules:
                    try:
                        self._load(e)
                    except PluginLoadError:
                        continue
                if e.obj is not None and same(e.obj):
                    return (name if len(entries) == 1 else e.qualified), e.distribution
        from minigrad.saving import serialization  # user classes: saved by name, loaded via custom objects

        custom = serialization.custom_name_of(self, obj)
        if custom is not None:
            return custom, None
        label = getattr(target, "__qualname__", repr(obj))
        raise UnknownNameError(
            f"{self.kind}: {label} is not registered; register it with "
            f"minigrad.{self.kind}.register('{snake_case(getattr(target, '__name__', 'name'))}') "
            f"or declare it under [project.entry-points.\"{self.group}\"] in your plugin's pyproject.toml"
        )

    def entries(self, *, load: bool = True) -> list[PluginEntry]:
        """Every plugin entry of the group, reserved ones included (for the CLI).

        With load=True each entry is imported once so its status says ok / import error / wrong kind.
        """
        table = self._plugin_table()
        out = [e for entries in table.values() for e in entries] + list(self._reserved)
        if load:
            for e in out:
                if e.status in ("not loaded", "conflict") and e.obj is None and e.error is None:
                    try:
                        self._load(e)
                    except PluginLoadError:
                        pass
        return sorted(out, key=lambda e: (e.name, e.distribution))

    # ----- configs: kind + registered name + provider + config; no arbitrary imports
    def serialize(self, obj: Any) -> dict[str, Any]:
        """{'kind', 'name', 'config'[, 'provider']}; config is {} for plain functions."""
        name, provider = self.name_of(obj)
        has_config = not isinstance(obj, type) and callable(getattr(obj, "get_config", None))
        entry = {"kind": self.kind, "name": name, "config": obj.get_config() if has_config else {}}
        if provider is not None:
            entry["provider"] = {"distribution": provider, "version": self._version_of(provider)}
        return entry

    def resolve(self, identifier: Any, base: type) -> Any:
        """Keras-style get: None, a `base` instance, a callable, a class, a name or a serialized dict."""
        if identifier is None or isinstance(identifier, base):
            return identifier
        if isinstance(identifier, dict):
            return self.deserialize(identifier)
        if isinstance(identifier, str):
            identifier = self.get(identifier)
        if isinstance(identifier, type):
            return identifier()
        if callable(identifier):
            return identifier
        raise TypeError(f"{self.kind}.get: could not interpret {identifier!r}")

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
            if dist and not self._provides_anything(dist):
                raise UnknownNameError(
                    f"{self._singular} '{name}' comes from the plugin distribution '{dist}' "
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

    def _narrow(self, entries: list[PluginEntry]) -> list[PluginEntry]:
        """Of several providers: the allowed ones (only_plugins), then the caller's own distribution."""
        allowed = _ALLOWED.get()
        if allowed is not None:
            entries = [e for e in entries if _normalize_dist(e.distribution) in allowed[0]] or entries
        package = _calling_package()
        own = [e for e in entries if e.module.partition(".")[0] == package]
        return own if len(own) == 1 else entries

    def _provides_anything(self, distribution: str) -> bool:
        """Whether an installed distribution has any entry (reserved ones included) in this group."""
        entries = [e for es in self._plugin_table().values() for e in es] + self._reserved
        return any(_normalize_dist(e.distribution) == _normalize_dist(distribution) for e in entries)

    def _version_of(self, distribution: str) -> str:
        for entries in self._plugin_table().values():
            for e in entries:
                if e.distribution == distribution:
                    return e.version
        return "?"

    # ----- plugins
    def refresh(self, entry_points: Callable[[str], list[Any]] | None = None) -> None:
        """Forget listed plugins; tests pass a fake entry_points(group) source here (None: the real one)."""
        self._entry_points_source = entry_points
        self._plugins = None
        self._reserved = []

    def _plugin_table(self) -> dict[str, list[PluginEntry]]:
        if self._plugins is None:
            self._plugins = self._list_plugins()
        return self._plugins

    def _list_plugins(self) -> dict[str, list[PluginEntry]]:
        global _duplicates_checked
        if self._entry_points_source is not None:
            eps = self._entry_points_source(self.group)
        else:
            from importlib.metadata import distributions, entry_points

            eps = entry_points(group=self.group)
            if not _duplicates_checked:
                _duplicates_checked = True
                _warn_duplicate_installs(distributions())
        self._reserved = []
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
            table.setdefault(ep.name, []).append(entry)
        self._plugins = table
        self._reserve_listed()
        for entries in table.values():
            if len(entries) > 1:
                for e in entries:
                    e.status = "conflict"
        return table

    def _reserve_listed(self) -> None:
        """Move plugin entries whose name a built-in already answers to to the reserved list."""
        assert self._plugins is not None
        for name in [n for n in self._plugins if self._builtin_key(n) is not None]:
            for e in self._plugins.pop(name):
                e.status = "reserved"
                self._reserved.append(e)
                _plugin_warning(
                    f"plugin {e.distribution} {e.version}: {self.group} entry '{name}' reuses the "
                    f"built-in name '{self._builtin_key(name)}' and is skipped; the built-in answers to "
                    f"'{name}'. Ask the plugin's author to rename it, or pip uninstall {e.distribution}",
                    e.distribution)

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
        folded = self._folded
        for probe in (name.casefold(), snake_case(name).casefold()):
            if probe in folded:
                return folded[probe]
        return None

    def _plugin_entries(self, name: str) -> list[PluginEntry]:
        """Entries answering to name, its snake_case or, for 'ClassName', the attribute an entry names."""
        table = self._plugin_table()
        entries = table.get(name) or table.get(snake_case(name))
        if entries:
            return entries
        return [e for es in table.values() for e in es if e.attr == name]

    def _qualified_entry(self, name: str) -> PluginEntry:
        dist, _, bare = name.partition(":")
        for e in self._plugin_entries(bare):
            if _normalize_dist(e.distribution) == _normalize_dist(dist):
                return e
        for e in self._reserved:
            if _normalize_dist(e.distribution) == _normalize_dist(dist) and e.name == bare:
                raise UnknownNameError(
                    f"{self._singular} '{name}': the plugin entry reuses the built-in name '{bare}' "
                    f"and is skipped; use '{bare}' for the built-in"
                )
        raise UnknownNameError(
            f"{self._singular} '{name}': no plugin distribution '{dist}' provides '{bare}' in {self.group}"
            + self._suggest(bare)
        )

    def _load(self, e: PluginEntry) -> Any:
        allowed = _ALLOWED.get()
        if allowed is not None and _normalize_dist(e.distribution) not in allowed[0]:
            raise SerializationError(
                f"{allowed[1]}: names {self._singular} '{e.name}' of plugin {e.distribution}, which it does not "
                f"declare among the plugins it needs ({', '.join(sorted(allowed[0])) or 'none'}); refused, "
                "nothing imported")
        if e.obj is not None:
            return e.obj
        where = f"{self.group} entry '{e.name}' = '{e.value}' of plugin {e.distribution} {e.version}"
        if e.error is not None:
            kind = "is the wrong kind" if e.status == "wrong kind" else "failed to import"
            raise PluginLoadError(f"{where} {kind}: {type(e.error).__name__}: {e.error}") from e.error
        try:
            obj = e.entry_point.load()
        except Exception as exc:  # noqa: BLE001 - any import-time failure is the plugin's
            e.error, e.status = exc, "import error"
            raise PluginLoadError(f"{where} failed to import: {type(exc).__name__}: {exc}") from exc
        if self._validate is not None and not self._validate(obj):
            e.error = TypeError(f"{obj!r} is not a valid {self._singular}")
            e.status = "wrong kind"
            raise PluginLoadError(f"{where} is the wrong kind: {e.error}") from e.error
        e.obj = self._on_register(e.name, obj) if self._on_register else obj
        if e.status != "conflict":
            e.status = "ok"
        return e.obj

    # ----- messages
    @property
    def _singular(self) -> str:
        if self.kind.endswith("sses"):  # losses -> loss
            return self.kind[:-2]
        return self.kind[:-1] if self.kind.endswith("s") else self.kind

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
        return f"unknown {self._singular} '{name}' in {self.group}" + self._suggest(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __repr__(self) -> str:
        return f"<Registry {self.group}: {len(self._builtins)} built-in>"


def all_registries() -> dict[str, Registry]:
    """Every registry created so far, by kind."""
    return dict(_REGISTRIES)
