"""Hypothesis-driven float64 gradient checks of every registered op and layer, plugins included.

Each op is checked on inputs drawn from its own strategy() (and against op.reference when it has
one); each layer gets check_layer's structural checks plus a gradient check of its inputs and
trainable weights. One row per op/layer; the exit status is 1 when anything fails.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

from minigrad.cli._table import format_row

HEADERS = ("kind", "name", "provider", "examples", "worst rel err", "time", "result")
RIGHT = (False, False, False, True, True, True, False)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """NAME ..., --all, --only, --examples, --layer-examples, --seed, --threads."""
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help="op or layer names ('conv2d', 'Dense', 'dist:name'); default: all")
    parser.add_argument("--all", action="store_true", help="every registered op and layer (the default)")
    parser.add_argument("--only", choices=("ops", "layers"), help="check only ops or only layers")
    parser.add_argument("--examples", type=int, default=10, metavar="N",
                        help="hypothesis examples per op (default 10)")
    parser.add_argument("--layer-examples", type=int, default=None, metavar="N",
                        help="hypothesis examples per layer (default: min(3, --examples))")
    parser.add_argument("--seed", type=int, default=None, metavar="S",
                        help="explore other examples (default: deterministic)")
    parser.add_argument("--threads", type=int, default=1, metavar="T",
                        help="kernel threads during the checks (default 1: the inputs are tiny)")


def _provider(registry: Any, name: str) -> str:
    return registry.provider(name) or "built-in"


def _targets(args: argparse.Namespace, ops: Any, layers: Any) -> list[tuple[str, str]]:
    """(kind, name) pairs to check; raises SystemExit(2) with suggestions for an unknown name."""
    want_ops, want_layers = args.only in (None, "ops"), args.only in (None, "layers")
    if not args.names:
        return [("op", n) for n in ops.registry.names() if want_ops] + \
               [("layer", n) for n in layers.registry.names() if want_layers]
    targets = []
    for name in args.names:
        found = [("op", name)] if want_ops and name in ops.registry else []
        found += [("layer", name)] if want_layers and name in layers.registry else []
        if not found:
            from minigrad.errors import PluginConflictError, RegistryError

            messages, conflicts = [], []
            for registry in (ops.registry, layers.registry):
                try:
                    registry.get(name)
                except PluginConflictError as exc:  # it exists, several times: say that, not "unknown"
                    conflicts.append(str(exc))
                except RegistryError as exc:
                    messages.append(str(exc))
            if conflicts:
                raise SystemExit(f"minigrad gradcheck: {name!r} is ambiguous:\n  " + "\n  ".join(conflicts))
            raise SystemExit(f"minigrad gradcheck: {name!r} is neither an op nor a layer:\n  "
                             + "\n  ".join(messages))
        targets += found
    return targets


def _check(kind: str, name: str, args: argparse.Namespace, ops: Any, layers: Any) -> Any:
    from minigrad.testing.checks import CheckReport, run_layer_check, run_op_check

    try:
        if kind == "op":
            return run_op_check(ops.get(name), examples=args.examples, seed=args.seed, threads=args.threads)
        layer_examples = args.layer_examples or min(3, args.examples)
        report = run_layer_check(layers.registry.get(name), examples=layer_examples, seed=args.seed,
                                 threads=args.threads)
        report.name = name
        return report
    except Exception as exc:  # noqa: BLE001 - e.g. a plugin that fails to import: a FAIL row
        return CheckReport(kind, name, failure=f"{type(exc).__name__}: {exc}")


_COLORS = {"ok": "32", "FAIL": "1;31", "skip": "33"}  # green, bold red, yellow


def _colored(line: str, result: str) -> str:
    """Colour the trailing result word on a terminal (NO_COLOR respected); alignment is unaffected."""
    if not sys.stdout.isatty() or os.environ.get("NO_COLOR") or not line.endswith(result):
        return line
    return f"{line[:-len(result)]}\033[{_COLORS[result]}m{result}\033[0m"


def _cells(kind: str, name: str, provider: str, report: Any) -> list[str]:
    result = "ok" if report.passed else ("skip" if report.skipped else "FAIL")
    if report.skipped:
        err = report.skipped
    else:
        err = f"{report.worst_rel_error:.1e}" if report.examples and report.worst_rel_error == \
            report.worst_rel_error else "-"  # NaN: the failure was not a gradient mismatch
    return [kind, name, provider, str(report.examples), err, f"{report.seconds:.2f}s", result]


def run(args: argparse.Namespace) -> int:
    """Check, print a row per target as it finishes, then failures in full and a summary line."""
    if args.names and args.all:
        raise SystemExit("minigrad gradcheck: give NAMEs or --all, not both")
    if min(args.examples, args.threads, args.layer_examples or 1) < 1:
        raise SystemExit("minigrad gradcheck: --examples, --layer-examples and --threads must be >= 1")
    from minigrad import layers, ops

    targets = _targets(args, ops, layers)
    providers = {t: _provider(ops.registry if t[0] == "op" else layers.registry, t[1]) for t in targets}
    widths = [5, max([len(n) for _, n in targets] + [4]), max([len(p) for p in providers.values()] + [8]),
              8, 13, 7, 6]
    seed = "deterministic" if args.seed is None else f"seed {args.seed}"
    print(f"minigrad gradcheck: {len(targets)} target(s), float64 central differences, {seed}\n")
    print(format_row(HEADERS, widths, RIGHT))
    print(format_row(["-" * w for w in widths], widths))
    start, reports = time.perf_counter(), []
    for kind, name in targets:
        report = _check(kind, name, args, ops, layers)
        reports.append((report, providers[(kind, name)]))
        cells = _cells(kind, name, providers[(kind, name)], report)
        if report.skipped:  # the reason replaces the numeric columns
            cells[4], cells[5] = "-", "-"
        print(_colored(format_row(cells, widths, RIGHT), cells[-1]), flush=True)
    failed = [(r, p) for r, p in reports if r.failure is not None]
    skipped = [r for r, _ in reports if r.skipped is not None]
    for report, provider in failed:
        print(f"\nFAIL {report.kind} {report.name} ({provider})")
        print("\n".join(f"  {line}" for line in report.failure.splitlines()))
    if skipped:
        print("\nskipped: " + ", ".join(f"{r.name} ({r.skipped})" for r in skipped))
    n_ops = sum(1 for k, _ in targets if k == "op")
    print(f"\n{n_ops} op(s) and {len(targets) - n_ops} layer(s) in {time.perf_counter() - start:.1f}s: "
          f"{len(reports) - len(failed) - len(skipped)} passed, {len(failed)} FAILED, {len(skipped)} skipped")
    return 1 if failed else 0
