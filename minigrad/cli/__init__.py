"""`python -m minigrad` / `minigrad`: one module per subcommand in this package.

A subcommand module (any public module here) defines `add_arguments(parser)` and `run(args) -> int`;
its docstring's first line is the help text. Adding a command is adding a module.
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from types import ModuleType
from typing import Sequence

__all__ = ["main", "subcommands"]


def subcommands() -> dict[str, ModuleType]:
    """Subcommand name ('plugins', 'gradcheck', ...) -> its module, in alphabetical order."""
    found = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            found[info.name.replace("_", "-")] = importlib.import_module(f"{__name__}.{info.name}")
    return found


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one subparser per subcommand module."""
    from minigrad import __version__

    parser = argparse.ArgumentParser(
        prog="minigrad", description="minigrad command line tools",
        formatter_class=lambda prog: argparse.HelpFormatter(prog, max_help_position=20, width=100))
    parser.add_argument("--version", action="version", version=f"minigrad {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in subcommands().items():
        doc = (module.__doc__ or "").strip()
        summary = doc.splitlines()[0] if doc else name
        command = sub.add_parser(name, help=summary, description=doc,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(command)
        command.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse argv (default sys.argv[1:]), run the subcommand and return its exit status."""
    parser = build_parser()
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    if getattr(args, "_run", None) is None:
        parser.print_help()
        return 2
    return int(args._run(args) or 0)
