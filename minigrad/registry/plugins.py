"""Plugin discovery and loading for one entry-point group: listing, reserved names, conflicts, only_plugins."""
from __future__ import annotations

import contextlib
import sys
import warnings
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

from minigrad.errors import PluginLoadError, SerializationError, UnknownNameError
from minigrad.registry.names import normalize_dist, snake_case

__all__ = ["PluginEntry", "PluginGroup", "PluginWarning", "only_plugins"]

# (normalised distributions, who asks) while only those plugins may be used; see only_plugins
_ALLOWED: ContextVar[tuple[frozenset[str], str] | None] = ContextVar("minigrad_allowed_plugins", default=None)
_duplicates_checked = False


class PluginWarning(UserWarning):
    """A plugin entry was skipped (reserved built-in name) or could not be loaded."""


def plugin_warning(message: str, distribution: str) -> None:
    """Warn at the plugin, not at a line of minigrad (the user can act on the plugin, not on us)."""
    warnings.warn_explicit(message, PluginWarning, f"<plugin {distribution}>", 0, module="minigrad.plugins")


@contextlib.contextmanager
def only_plugins(distributions: Iterable[str], who: str) -> Iterator[None]:
    """Within the block, plugin entries of other distributions are refused before any import."""
    token = _ALLOWED.set((frozenset(normalize_dist(d) for d in distributions), who))
    try:
        yield
    finally:
        _ALLOWED.reset(token)


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
            found.setdefault(normalize_dist(dist.metadata["Name"] or "?"), []).append(dist)
    for copies in found.values():
        if len(copies) > 1:
            where = [f"{d.version} at {getattr(d, '_path', None) or d.locate_file('')}" for d in copies]
            name = copies[0].metadata["Name"]
            plugin_warning(
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
    def attrs(self) -> list[str]:
        """'module:Outer.attr [extra]' -> ['Outer', 'attr'] ([] when the entry names a module)."""
        return [a for a in self.value.partition(":")[2].split("[")[0].strip().split(".") if a]

    def imported(self) -> Any:
        """The object the entry names if its module is already imported, else None (imports nothing)."""
        if self.obj is not None or self.error is not None:
            return self.obj
        found = sys.modules.get(self.module)
        for part in self.attrs:
            found = getattr(found, part, None)  # None stays None: the module is not imported
        return found

    def belongs_to(self, distribution: str) -> bool:
        return normalize_dist(self.distribution) == normalize_dist(distribution)


class PluginGroup:
    """The entries of one group `minigrad.<kind>`, listed on first use and each imported on first use."""

    def __init__(self, group: str, singular: str, builtin_key: Callable[[str], str | None],
                 adopt: Callable[[str, Any], Any]) -> None:
        self.group = group
        self._singular = singular
        self._builtin_key = builtin_key  # the built-in answering to a name, or None (names are reserved)
        self._adopt = adopt  # checks and converts a loaded object, raising TypeError for the wrong kind
        self._table: dict[str, list[PluginEntry]] | None = None  # None until listed
        self.reserved: list[PluginEntry] = []  # entries skipped for reusing a built-in name
        self._source: Callable[[str], list[Any]] | None = None

    def refresh(self, entry_points: Callable[[str], list[Any]] | None = None) -> None:
        """Forget listed plugins; tests pass a fake entry_points(group) source here (None: the real one)."""
        self._source, self._table, self.reserved = entry_points, None, []

    def table(self) -> dict[str, list[PluginEntry]]:
        """Entry name -> its entries (several when plugins conflict); lists the group once."""
        if self._table is None:
            self._list()
        return self._table

    def all(self) -> list[PluginEntry]:
        return [e for entries in self.table().values() for e in entries]

    def _list(self) -> None:
        global _duplicates_checked
        if self._source is not None:
            eps = self._source(self.group)
        else:
            from importlib.metadata import distributions, entry_points

            eps = entry_points(group=self.group)
            if not _duplicates_checked:
                _duplicates_checked = True
                _warn_duplicate_installs(distributions())
        self.reserved = []
        table: dict[str, list[PluginEntry]] = {}
        for ep in eps:
            dist = getattr(ep, "dist", None)
            table.setdefault(ep.name, []).append(PluginEntry(
                name=ep.name, value=ep.value, distribution=getattr(dist, "name", None) or "unknown",
                version=getattr(dist, "version", None) or "?", entry_point=ep))
        self._table = table
        self.reserve()
        for e in (e for entries in table.values() if len(entries) > 1 for e in entries):
            e.status = "conflict"

    def reserve(self) -> None:
        """Move listed entries whose name a built-in already answers to to the reserved list."""
        if self._table is None:
            return
        for name in [n for n in self._table if self._builtin_key(n) is not None]:
            for e in self._table.pop(name):
                e.status = "reserved"
                self.reserved.append(e)
                plugin_warning(
                    f"plugin {e.distribution} {e.version}: {self.group} entry '{name}' reuses the "
                    f"built-in name '{self._builtin_key(name)}' and is skipped; the built-in answers to "
                    f"'{name}'. Ask the plugin's author to rename it, or pip uninstall {e.distribution}",
                    e.distribution)

    def matching(self, name: str) -> list[PluginEntry]:
        """Entries answering to name, its snake_case or, for 'ClassName', the attribute an entry names."""
        table = self.table()
        entries = table.get(name) or table.get(snake_case(name))
        if entries:
            return entries
        return [e for e in self.all() if e.attrs[-1:] == [name]]

    def narrow(self, entries: list[PluginEntry]) -> list[PluginEntry]:
        """Of several providers: the allowed ones (only_plugins), then the caller's own distribution."""
        allowed = _ALLOWED.get()
        if allowed is not None:
            entries = [e for e in entries if normalize_dist(e.distribution) in allowed[0]] or entries
        package = _calling_package()
        own = [e for e in entries if e.module.partition(".")[0] == package]
        return own if len(own) == 1 else entries

    def qualified(self, name: str, suggest: Callable[[str], str]) -> PluginEntry:
        """The entry 'distribution:name' stands for (distribution names compare normalised)."""
        dist, _, bare = name.partition(":")
        for e in self.matching(bare):
            if e.belongs_to(dist):
                return e
        if any(e.belongs_to(dist) and e.name == bare for e in self.reserved):
            raise UnknownNameError(
                f"{self._singular} '{name}': the plugin entry reuses the built-in name '{bare}' "
                f"and is skipped; use '{bare}' for the built-in")
        raise UnknownNameError(f"{self._singular} '{name}': no plugin distribution '{dist}' provides "
                               f"'{bare}' in {self.group}" + suggest(bare))

    def provides_anything(self, distribution: str) -> bool:
        """Whether an installed distribution has any entry (reserved ones included) in this group."""
        return any(e.belongs_to(distribution) for e in self.all() + self.reserved)

    def version_of(self, distribution: str) -> str:
        return next((e.version for e in self.all() if e.distribution == distribution), "?")

    def load(self, e: PluginEntry) -> Any:
        """Import the entry once; a failure is remembered and raised as PluginLoadError at each use."""
        allowed = _ALLOWED.get()
        if allowed is not None and normalize_dist(e.distribution) not in allowed[0]:
            raise SerializationError(
                f"{allowed[1]}: names {self._singular} '{e.name}' of plugin {e.distribution}, which it does not "
                f"declare among the plugins it needs ({', '.join(sorted(allowed[0])) or 'none'}); refused, "
                "nothing imported")
        if e.obj is not None:
            return e.obj
        where = f"{self.group} entry '{e.name}' = '{e.value}' of plugin {e.distribution} {e.version}"
        if e.error is None:
            try:
                obj = e.entry_point.load()
            except Exception as exc:  # noqa: BLE001 - any import-time failure is the plugin's
                e.error, e.status = exc, "import error"
            else:
                try:
                    e.obj = self._adopt(e.name, obj)
                except TypeError as exc:
                    e.error, e.status = exc, "wrong kind"
        if e.error is not None:
            kind = "is the wrong kind" if e.status == "wrong kind" else "failed to import"
            raise PluginLoadError(f"{where} {kind}: {type(e.error).__name__}: {e.error}") from e.error
        if e.status != "conflict":
            e.status = "ok"
        return e.obj
