"""`python -m minigrad plugins` and `python -m minigrad gradcheck`, in-process through main(argv) and once
through a real subprocess."""
import importlib.metadata
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest

import minigrad
from minigrad import ops
from minigrad.cli import main, subcommands

ROOT = Path(minigrad.__file__).resolve().parent.parent

BROKEN_OP = """
import numpy as np
from minigrad.ops import Op
from minigrad.testing.strategies import arrays, op_inputs

class BrokenSquare(Op):
    '''y = x ** 2 with a backward that is wrong where |x| > 1.'''

    def forward(self, ctx, x):
        ctx.save(x)
        return x * x

    def backward(self, ctx, dy):
        (x,) = ctx.saved
        return (dy * x * np.where(np.abs(x) > 1.0, 3.0, 2.0),)

    def strategy(self):
        return op_inputs(arrays(low=-2.0, high=2.0))
"""


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-W", "error", "-m", "minigrad", *args], capture_output=True,
                          text=True, env=env, timeout=300)


def _plugin_installed() -> bool:
    try:
        importlib.metadata.distribution("minigrad-gabor")
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


needs_plugin = pytest.mark.skipif(not _plugin_installed(), reason="pip install -e ./plugins/minigrad-gabor")


def test_subcommands_are_the_modules_of_minigrad_cli():
    assert {"plugins", "gradcheck"} <= set(subcommands())
    for module in subcommands().values():
        assert callable(module.add_arguments) and callable(module.run) and module.__doc__


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "plugins" in capsys.readouterr().out


@needs_plugin
def test_plugins_lists_every_group_as_an_aligned_table(capsys):
    assert main(["plugins", "--check"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("minigrad.")]
    for group, name in [("layers", "gabor_conv2d"), ("ops", "soft_threshold"), ("activations", "mish"),
                        ("initializers", "gabor"), ("regularizers", "total_variation"),
                        ("constraints", "zero_mean"), ("callbacks", "weight_stats_logger")]:
        assert re.search(rf"^minigrad\.{group} +{name} +minigrad-gabor +\S+ +ok$", out, re.M), out
    header = next(line for line in out.splitlines() if line.startswith("group"))
    status_column = header.index("status")
    assert all(row[status_column - 2:status_column] == "  " and row[status_column] != " " for row in rows)


def test_plugins_reports_broken_entries_without_failing(tmp_path, monkeypatch, capsys):
    (tmp_path / "fake_cli_broken.py").write_text("raise ImportError('needs libfoo')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    ep = importlib.metadata.EntryPoint("foo_penalty", "fake_cli_broken:Foo", "minigrad.regularizers")
    ep = ep._for(SimpleNamespace(name="foo-dist", version="0.9"))
    from minigrad import regularizers

    regularizers.registry.refresh(lambda group: [*importlib.metadata.entry_points(group=group), ep])
    try:
        assert main(["plugins", "--group", "regularizers", "--check"]) == 0
    finally:
        regularizers.registry.refresh()
        sys.modules.pop("fake_cli_broken", None)
    out = capsys.readouterr().out
    assert re.search(r"minigrad\.regularizers +foo_penalty +foo-dist +0\.9 +import error: ImportError: needs libfoo",
                     out), out
    assert "problems (everything else keeps working)" in out


def test_gradcheck_prints_a_row_per_target_and_a_summary(capsys):
    assert main(["gradcheck", "multiply", "exp", "equal", "--only", "ops", "--examples", "3"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^op +multiply +built-in +3 +\d\.\de-\d\d +\d+\.\d\ds +ok$", out, re.M), out
    assert re.search(r"^op +equal +built-in +0 +- +- +skip$", out, re.M), out
    assert "3 op(s) and 0 layer(s)" in out and "2 passed, 0 FAILED, 1 skipped" in out
    assert "skipped: equal (not differentiable and no strategy)" in out


def test_gradcheck_fails_with_the_falsifying_example(tmp_path, monkeypatch, capsys):
    (tmp_path / "fake_cli_ops.py").write_text(textwrap.dedent(BROKEN_OP))
    monkeypatch.syspath_prepend(str(tmp_path))
    ep = importlib.metadata.EntryPoint("broken_square", "fake_cli_ops:BrokenSquare", "minigrad.ops")
    ep = ep._for(SimpleNamespace(name="broken-ops", version="0.1"))
    ops.registry.refresh(lambda group: [*importlib.metadata.entry_points(group=group), ep])
    try:
        status = main(["gradcheck", "broken_square", "add", "--only", "ops", "--examples", "25", "--seed", "3"])
    finally:
        ops.registry.refresh()
        sys.modules.pop("fake_cli_ops", None)
    out = capsys.readouterr().out
    assert status == 1
    # the failing example's relative error (3x against 2x), not the ~1e-10 of those that passed
    assert re.search(r"^op +broken_square +broken-ops +\d+ +5\.0e-01 +\d+\.\d\ds +FAIL$", out, re.M), out
    assert "FAIL op broken_square (broken-ops)" in out and "falsifying example:" in out
    assert "1 passed, 1 FAILED" in out


def test_gradcheck_unknown_name_suggests_close_names():
    with pytest.raises(SystemExit, match=r"'mutliply' is neither an op nor a layer[\s\S]*'multiply'"):
        main(["gradcheck", "mutliply"])
    with pytest.raises(SystemExit, match="not both"):
        main(["gradcheck", "add", "--all"])


@pytest.mark.slow  # fresh interpreters
@needs_plugin
def test_both_commands_run_as_python_dash_m():
    listing = run_cli("plugins")
    assert listing.returncode == 0 and "soft_threshold" in listing.stdout, listing.stderr
    checked = run_cli("gradcheck", "soft_threshold", "gabor_conv2d", "--examples", "2")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "minigrad-gabor" in checked.stdout and "2 passed, 0 FAILED" in checked.stdout
