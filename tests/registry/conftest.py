"""Fixtures: modules importable for one test, and fake entry points a registry sees until the test ends."""
import importlib.metadata
import sys
import textwrap

import pytest

from minigrad.registry import Registry


@pytest.fixture
def plugin_modules(tmp_path, monkeypatch):
    """write(module, source): a module importable for this test only."""
    monkeypatch.syspath_prepend(str(tmp_path))
    written = []

    def write(module: str, source: str) -> str:
        (tmp_path / f"{module}.py").write_text(textwrap.dedent(source))
        written.append(module)
        return module

    yield write
    for module in written:
        sys.modules.pop(module, None)


@pytest.fixture
def fake_entry_points():
    """install(registry, *eps): the registry sees the real entry points plus these, until the test ends."""
    touched = []

    def install(registry: Registry, *eps) -> None:
        real = importlib.metadata.entry_points
        registry.refresh(lambda group: [*real(group=group), *eps])
        touched.append(registry)

    yield install
    for registry in touched:
        registry.refresh()

