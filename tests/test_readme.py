"""The README's two set-up commands stay true: each makes and activates the virtual environment
before installing, CI runs exactly the test command, and .ci/fresh_venvs.py tries what they say."""
import importlib.util
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV_STEP = "python3 -m venv .venv && . .venv/bin/activate && pip install "


def _fresh_venvs():
    spec = importlib.util.spec_from_file_location("fresh_venvs", ROOT / ".ci" / "fresh_venvs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MAIN_JOB, TEST_COMMAND = _fresh_venvs().readme_commands()


def test_ci_runs_exactly_the_readme_test_command_after_the_fresh_venv_check():
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert TEST_COMMAND in ci_lines
    assert ci_lines.index("python3 .ci/fresh_venvs.py") < ci_lines.index(TEST_COMMAND)
    assert not any("install --upgrade pip" in line or "install -U pip" in line for line in ci_lines)


def test_both_commands_make_and_activate_the_venv_before_installing():
    for command in (MAIN_JOB, TEST_COMMAND):
        assert command.startswith(VENV_STEP), command
        assert "upgrade" not in command and " -U " not in command  # the pip the venv ships suffices
    assert MAIN_JOB == VENV_STEP + '-e ".[viz]" && minigrad demo'
    assert TEST_COMMAND.endswith(" && python -m pytest")


def test_the_test_command_names_the_core_without_extras_beside_the_plugins():
    # pip < 23.3 matches a plugin's dependency on minigrad-cython only to a requirement without extras
    installs = TEST_COMMAND.split(" && ")[2].split()
    assert installs[2:6] == ["-e", ".", "-e", '".[test]"']
    for plugin in (ROOT / "plugins").iterdir():
        if (plugin / "pyproject.toml").exists():
            assert f"./plugins/{plugin.name}" in installs


def test_one_distribution_name_everywhere():
    name = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["name"]
    assert name == "minigrad-cython"
    for plugin in (ROOT / "plugins").glob("*/pyproject.toml"):
        dependencies = tomllib.loads(plugin.read_text())["project"]["dependencies"]
        assert any(re.match(rf"{name}\b", d) for d in dependencies), plugin
    for doc in (ROOT / "README.md", ROOT / "docs" / "PLUGINS.md"):
        assert '"minigrad>' not in doc.read_text() and f'"{name}>=0.1"' in doc.read_text()


def test_fresh_venv_install_parts():
    fresh = _fresh_venvs()
    assert fresh.install_part(MAIN_JOB, Path("/tmp/v"), newest_pip=False) == (
        'python3 -m venv /tmp/v && . /tmp/v/bin/activate && pip install -e ".[viz]" && pip --version'
        " && pip check")
    newest = fresh.install_part(TEST_COMMAND, Path("/tmp/v"), newest_pip=True)
    assert newest.startswith(". /tmp/v/bin/activate", len("python3 -m venv /tmp/v && "))
    assert f"activate && {fresh.UPGRADE_PIP} && pip install -e . " in newest
    assert "pytest" not in newest
