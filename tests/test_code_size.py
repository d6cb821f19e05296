"""The size budget of ../shared/STYLE.md, checked: modules <= 400 lines, functions <= 60.

Covers the product's code (minigrad/, benchmarks/, plugins/, setup.py, .ci/): Python functions via
`ast`, Cython functions by indentation, C functions from a column-0 signature to the column-0 `}`.
Test modules are outside the budget (a test file grows with the cases it pins). A file or function
over budget must be split, or named in ALLOWED with the reason it is not.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODULE_LINES, FUNCTION_LINES = 400, 60
PATTERNS = ("minigrad/**/*.py", "minigrad/**/*.pyx", "minigrad/**/*.pxd", "minigrad/**/*.pxi", "minigrad/**/*.h",
            "benchmarks/*.py", "plugins/*/src/**/*.py", "plugins/*/*.py", "setup.py", ".ci/*.py")
# "path" for a module, "path::function" for a function: each with why it stays over budget
ALLOWED: dict[str, str] = {}

_PYX_DEF = re.compile(r"^(\s*)(?:def|cdef|cpdef)\s[^=]*?(\w+)\s*\(")
_C_DEF = re.compile(r"^[A-Za-z_][^;#]*?(\w+)\s*\([^;]*$")


def _sources() -> list[Path]:
    seen = {p for pattern in PATTERNS for p in ROOT.glob(pattern) if p.is_file()}
    return sorted(p for p in seen if not {"build", ".venv", "__pycache__"} & set(p.parts))


def _python_functions(text: str):
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node.name, node.end_lineno - node.lineno + 1


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _cython_functions(text: str):
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = _PYX_DEF.match(line)
        if not m:
            continue
        end = i  # the signature may run over several lines; it ends with ':' (a declaration does not)
        while end < len(lines) - 1 and not lines[end].rstrip().endswith(":") and end - i < 8:
            end += 1
        if not lines[end].rstrip().endswith(":"):
            continue
        last = end + 1
        while last < len(lines) and (not lines[last].strip() or _indent(lines[last]) > len(m.group(1))):
            last += 1
        while not lines[last - 1].strip():
            last -= 1
        yield m.group(2), last - i


def _c_functions(text: str):
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = _C_DEF.match(line)
        opens = line.rstrip().endswith("{") or (i + 1 < len(lines) and lines[i + 1].startswith("{"))
        if not m or not opens:
            continue
        close = next((k for k in range(i + 1, len(lines)) if lines[k].startswith("}")), len(lines) - 1)
        yield m.group(1), close - i + 1


def _functions(path: Path, text: str):
    if path.suffix == ".py":
        return _python_functions(text)
    if path.suffix in (".pyx", ".pxi"):
        return _cython_functions(text)
    if path.suffix == ".h":
        return _c_functions(text)
    return iter(())


def _over_budget() -> list[str]:
    found = []
    for path in _sources():
        rel, text = path.relative_to(ROOT).as_posix(), path.read_text()
        if (n := len(text.splitlines())) > MODULE_LINES:
            found.append((rel, f"{rel}: {n} lines (budget {MODULE_LINES})"))
        for name, n in _functions(path, text):
            if n > FUNCTION_LINES:
                found.append((f"{rel}::{name}", f"{rel}::{name}: {n} lines (budget {FUNCTION_LINES})"))
    return [message for key, message in found if key not in ALLOWED]


def test_modules_and_functions_keep_to_the_size_budget() -> None:
    over = _over_budget()
    assert not over, "split these (or name them in ALLOWED with the reason):\n" + "\n".join(over)


def test_every_allowance_is_still_needed() -> None:
    keys = set()
    for path in _sources():
        rel, text = path.relative_to(ROOT).as_posix(), path.read_text()
        if len(text.splitlines()) > MODULE_LINES:
            keys.add(rel)
        keys |= {f"{rel}::{name}" for name, n in _functions(path, text) if n > FUNCTION_LINES}
    assert not set(ALLOWED) - keys, f"over budget no more, drop from ALLOWED: {sorted(set(ALLOWED) - keys)}"


@pytest.mark.parametrize("source, kind, expected", [
    ("def f(x):\n" + "    x += 1\n" * 70 + "\ndef g():\n    pass\n", ".pyx", {"f": 71, "g": 2}),
    ("cdef inline int f(int a,\n                  int b) noexcept nogil:\n    return a\n"
     "cdef extern from 'x.h':\n    int h(int a)\n", ".pyx", {"f": 3}),
    ("static inline int f(int a)\n{\n    return a;\n}\nint g(void);\nvoid h(void) {\n}\n", ".h",
     {"f": 4, "h": 2}),
])
def test_the_function_scanners_measure_what_they_claim(source: str, kind: str, expected: dict) -> None:
    assert dict(_functions(Path("x" + kind), source)) == expected
