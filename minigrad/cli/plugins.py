"""List every plugin entry point of every minigrad group: distribution, version, status.

The list comes from the installed distributions' metadata: no plugin module is imported (importing
runs the plugin's code) unless --check asks for it. Status: not loaded (listed only), ok, conflict
(several distributions provide the name: use 'distribution:name'), reserved (reuses a built-in name
and is skipped), and with --check also import error or wrong kind.
"""
from __future__ import annotations

import argparse
import importlib
import warnings
from typing import Any

from minigrad.cli._table import format_table

KINDS = ("layers", "ops", "activations", "initializers", "regularizers", "constraints", "optimizers",
         "losses", "metrics", "callbacks")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """--group KIND (repeatable) and --check."""
    parser.add_argument("--group", action="append", choices=KINDS, metavar="KIND",
                        help=f"only this group (repeatable): {', '.join(KINDS)}")
    parser.add_argument("--check", action="store_true",
                        help="also import every listed plugin module (runs its code) to report ok, "
                             "import error or wrong kind")


def registry_of(kind: str) -> Any:
    """The public registry of a kind, from its module minigrad.<kind> (None if this build lacks it)."""
    try:
        return importlib.import_module(f"minigrad.{kind}").registry
    except ModuleNotFoundError as exc:
        if exc.name != f"minigrad.{kind}":
            raise
        return None


def _status(entry: Any) -> str:
    if entry.status in ("import error", "wrong kind") and entry.error is not None:
        return f"{entry.status}: {type(entry.error).__name__}: {entry.error}"
    return entry.status


def collect(kinds: tuple[str, ...], load: bool) -> tuple[list[tuple[str, Any]], list[str]]:
    """(kind, PluginEntry) for every entry of the groups (each loaded once when load is True),
    and the kinds this minigrad has no registry module for."""
    rows, missing = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # reserved entries show as 'reserved' in the table instead
        for kind in kinds:
            registry = registry_of(kind)
            if registry is None:
                missing.append(kind)
            else:
                rows += [(kind, e) for e in registry.entries(load=load)]
    return rows, missing


def _conflict_notes(rows: list[tuple[str, Any]]) -> list[str]:
    by_name: dict[tuple[str, str], list[Any]] = {}
    for kind, e in rows:
        if e.status != "reserved":
            by_name.setdefault((kind, e.name), []).append(e)
    notes = []
    for (kind, name), entries in sorted(by_name.items()):
        if len(entries) > 1:
            who = " and ".join(f"{e.distribution} {e.version}" for e in entries)
            use = " or ".join(repr(e.qualified) for e in entries)
            notes.append(f"conflict: {kind} '{name}' is provided by {who}; use {use}")
    return notes


def run(args: argparse.Namespace) -> int:
    """Print the table; always exits 0 (broken plugins are reported, never fatal)."""
    kinds = tuple(args.group) if args.group else KINDS
    rows, missing = collect(kinds, load=args.check)
    dists = sorted({(e.distribution, e.version) for _, e in rows})
    groups_with = sorted({k for k, _ in rows})
    print(f"minigrad plugins: {len(rows)} entr{'y' if len(rows) == 1 else 'ies'} in {len(groups_with)} of "
          f"{len(kinds)} groups from {len(dists)} distribution(s)"
          + (": " + ", ".join(f"{d} {v}" for d, v in dists) if dists else ""))
    if rows:
        table = [(f"minigrad.{k}", e.name, e.distribution, e.version, _status(e).splitlines()[0][:100])
                 for k, e in rows]
        print()
        print(format_table(("group", "name", "distribution", "version", "status"), table))
    empty = [k for k in kinds if k not in groups_with and k not in missing]
    notes = _conflict_notes(rows)
    notes += [f"reserved: {k} '{e.name}' of {e.distribution} reuses a built-in name and is skipped"
              for k, e in rows if e.status == "reserved"]
    notes += [f"{e.status}: {k} '{e.name}' = '{e.value}' of {e.distribution} {e.version}: "
              f"{type(e.error).__name__}: {e.error}" for k, e in rows if e.error is not None]
    notes += [f"minigrad.{k}: this minigrad has no module minigrad.{k}, so its entries are not listed"
              for k in missing]
    if notes:
        print("\nproblems (everything else keeps working):")
        print("\n".join(f"  {n}" for n in notes))
    if empty:
        print(f"\nno plugin entries in: {', '.join(f'minigrad.{k}' for k in empty)}")
    return 0
