"""One Registry class for every kind: built-ins registered in code, plugins found lazily by entry point.

Lookup order for a bare name: built-ins first (reserved: a plugin reusing one, in any spelling or
case, is skipped with a warning), then plugin entry points of the group. Entry points are listed on
the first lookup that misses the built-ins, and a plugin module is imported only when one of its
names is used. A name several plugins provide resolves, when looked up from inside one of them, to
that plugin's own entry; elsewhere it needs 'distribution:name'. Inside `only_plugins(...)` (what
load_model uses) entries of other distributions are refused and never imported.

- core: registering and resolving names; plugins: discovery and loading; names: snake_case and
  (de)serialization; kind: the register / get / serialize / deserialize every kind shares.
"""
from minigrad.registry.core import Registry, all_registries, is_installed
from minigrad.registry.kind import Kind
from minigrad.registry.names import snake_case
from minigrad.registry.plugins import PluginEntry, PluginWarning, only_plugins

__all__ = ["Registry", "Kind", "PluginEntry", "PluginWarning", "snake_case", "all_registries", "only_plugins",
           "is_installed"]
