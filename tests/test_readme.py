"""The README's two set-up commands stay true: CI runs exactly the test command it gives."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _bash_blocks() -> list[str]:
    return re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)


def test_ci_runs_exactly_the_readme_test_command():
    test_command = next(b.strip() for b in _bash_blocks() if "pytest" in b)
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert test_command in ci_lines


def test_main_job_command_installs_and_runs_the_demo():
    main = _bash_blocks()[0].strip()
    assert main.startswith("pip install \".[viz]\"") and main.endswith("minigrad demo")


def test_the_test_command_installs_every_plugin_package():
    test_command = next(b for b in _bash_blocks() if "pytest" in b)
    for plugin in (ROOT / "plugins").iterdir():
        if (plugin / "pyproject.toml").exists():
            assert f"./plugins/{plugin.name}" in test_command
