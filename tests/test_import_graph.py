"""minigrad's subpackages import each other in one direction only (read from the source with ast).

Every import counts, also those inside functions: a lazy import still makes its module depend on
the other one, it only hides the circle from Python. Imports under `if TYPE_CHECKING:` do not count
(they never run). A part is what follows `minigrad.`: a subpackage (`layers`, `models`, `saving`,
...) or a top-level module (`registry`, `tensor`, ...); `minigrad` itself is the package's public
facade, which imports every part.
"""
from __future__ import annotations

import ast
import functools
import graphlib
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "minigrad"

# (importer, imported): why the edge may close a circle for now. Each entry must still exist
# (test_allowed_edges_still_exist), so fixing one forces deleting it here.
ALLOWED: dict[tuple[str, str], str] = {
    ("ops", "testing"): "an op carries its own hypothesis strategy (STYLE.md: the op unit), built from "
                        "minigrad.testing.strategies, which in turn applies ops",
    ("ops", "losses"): "keras.ops' crossentropy functions (ops/nn.py) are the loss classes with "
                       "reduction='none' (helper ops, issue 16 item 4)",
}


# Modules that are parts of their own: each imports nothing from minigrad (test_leaves_import_nothing),
# so lower parts may read it without depending on the package around it.
LEAVES: dict[str, str] = {
    "minigrad.distributed._state": "the data-parallel hooks' state (world, rank, size), read by optimizers "
                                   "and the training loops without importing MPI or distributed's callbacks",
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _part(module: str) -> str:
    """'minigrad.layers.base' -> 'layers'; 'minigrad' -> 'minigrad'; a leaf is its own part."""
    if module in LEAVES:
        return module.removeprefix("minigrad.")
    return module.split(".")[1] if "." in module else module


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imports(tree: ast.Module, module: str, is_package: bool, top_level_only: bool) -> list[tuple[str, int]]:
    """(imported module, line) for every import in tree that runs (not under TYPE_CHECKING)."""
    found: list[tuple[str, int]] = []
    stack: list[ast.AST] = list(tree.body)
    while stack:
        node = stack.pop()
        if _is_type_checking(node) or (top_level_only and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))):
            continue  # a function body runs later than import time
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the importing module's package
                package = module if is_package else module.rpartition(".")[0]
                for _ in range(node.level - 1):
                    package = package.rpartition(".")[0]
                base = f"{package}.{base}" if base else package
            found += [(f"{base}.{alias.name}", node.lineno) for alias in node.names]
        # imports are statements: descend only into statement bodies, never into expressions
        stack.extend(child for field in ("body", "orelse", "finalbody", "handlers", "cases")
                     for child in getattr(node, field, ()))
    return [(name, line) for name, line in found if name.split(".")[0] == "minigrad"]


@functools.lru_cache(maxsize=None)
def _parsed() -> dict[str, tuple[Path, ast.Module]]:
    return {_module_name(p): (p, ast.parse(p.read_text(encoding="utf-8"))) for p in PACKAGE.rglob("*.py")}


@functools.lru_cache(maxsize=None)
def _graph(granularity: str) -> dict[str, dict[str, list[str]]]:
    """{importer: {imported: ['file:line', ...]}} by 'part' (all imports) or 'module' (import-time ones)."""
    modules = _parsed()

    def resolve(name: str) -> str:  # 'minigrad.layers.base.Layer' -> 'minigrad.layers.base'
        while name not in modules and "." in name:
            name = name.rpartition(".")[0]
        return name

    graph: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for module, (path, tree) in modules.items():
        for name, line in _imports(tree, module, path.name == "__init__.py", granularity == "module"):
            target = resolve(name)
            src, dst = (_part(module), _part(target)) if granularity == "part" else (module, target)
            if src != dst:
                graph[src][dst].append(f"{path.relative_to(PACKAGE.parent)}:{line}")
    return graph


def _find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle [a, b, ..., a] (a imports b, ...) of the graph {importer: imported}, or None."""
    try:
        graphlib.TopologicalSorter(edges).prepare()
    except graphlib.CycleError as e:
        return e.args[1][::-1]  # graphlib lists it from dependency to dependant
    return None


def _explain(cycle: list[str], graph: dict[str, dict[str, list[str]]]) -> str:
    return "\n".join(f"  {a} -> {b}: {', '.join(graph[a][b][:3])}" for a, b in zip(cycle, cycle[1:]))


def test_subpackages_import_each_other_without_a_cycle() -> None:
    graph = _graph("part")
    edges = {a: {b for b in targets if (a, b) not in ALLOWED} for a, targets in graph.items()}
    cycle = _find_cycle(edges)
    assert cycle is None, "import cycle between minigrad's parts:\n" + _explain(cycle, graph)


def test_layers_models_saving_depend_in_one_direction() -> None:
    # models build on layers and call saving (Model.save, to_json); saving reaches model classes only
    # through the layer registry, and layers know neither
    graph = _graph("part")
    wrong = [f"{a} imports {b}: {', '.join(graph[a][b])}" for a, b in
             (("layers", "models"), ("layers", "saving"), ("saving", "models")) if b in graph.get(a, {})]
    assert not wrong, "\n".join(wrong)


def test_import_time_imports_form_no_cycle_between_modules() -> None:
    graph = _graph("module")
    cycle = _find_cycle({a: set(targets) for a, targets in graph.items()})
    assert cycle is None, "module-level import cycle:\n" + _explain(cycle, graph)


def test_leaves_import_nothing() -> None:
    graph = _graph("module")
    for leaf in LEAVES:
        assert not graph.get(leaf), f"{leaf} imports {sorted(graph[leaf])}: a leaf must import nothing of minigrad"


def test_allowed_edges_still_exist() -> None:
    graph = _graph("part")
    stale = [edge for edge in ALLOWED if edge[1] not in graph.get(edge[0], {})]
    assert not stale, f"these allowed edges are gone; delete them from ALLOWED: {stale}"


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
