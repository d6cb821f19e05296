"""The benchmark harness's machinery (fresh processes, alternation, env isolation, floors), not speed."""
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import harness, report, table

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow  # fresh interpreters
def test_self_test_alternates_fresh_processes_with_isolated_environments() -> None:
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "--self-test"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "self-test ok: 4 fresh processes in order ['minigrad', 'bare', 'minigrad', 'bare']" in proc.stderr


def test_a_child_that_fails_is_reported_with_its_error() -> None:
    with pytest.raises(harness.BenchError, match=r"benchmarks\.no_such_module \(bare, 1 thr\): "
                                                 r"ModuleNotFoundError"):
        harness.spawn("benchmarks.no_such_module", harness.BARE, 1, timeout=60)


def _results(share: float) -> list[dict]:
    floor = table.add_check(table.row("conv", "conv2 share of sgemm", None, None), "share",
                              share, floor=0.70)
    step = table.row("model", "train step vs torch best", 30.0, 40.0, "x | y")
    table.add_check(step, "train step / torch best", step["ratio"], ceiling=0.75)
    step["readme"] = "training step"
    return [{"module": "bench_conv", "threads": 1, "rows": [floor]},
            {"module": "bench_model", "threads": 2, "rows": [step]},
            {"module": "bench_pool", "threads": 1, "error": "BenchError: boom"}]


def test_report_flags_a_case_below_its_floor_and_keeps_passing_ones_plain() -> None:
    results = _results(share=0.55)
    text = report.render(results, ["# results"], {"error": "no machine"}, [1, 2],
                         {"before": "0.1", "after": "0.2"})
    assert "| share | 1 | 0.55 | >= 0.70 | **BELOW FLOOR** |" in text
    assert "| train step / torch best | 2 | 0.75 | <= 0.75 | ok |" in text
    assert "| bench_pool | 1 | BenchError: boom |" in text
    readme = text[text.index(report.README_BEGIN):text.index(report.README_END)]
    assert "| training step | 2 | 30.0 ms | 40.0 ms | 0.75 |" in readme
    assert "x \\| y" in text  # a '|' inside a cell does not break the table
    lines = report.check_lines(results)
    assert lines[0].startswith("FLAGGED [1 thr] share 0.55 (needs >= 0.70): BELOW FLOOR")
    assert lines[1].startswith("ok ")


def test_a_check_needs_exactly_one_bound() -> None:
    with pytest.raises(ValueError, match="exactly one of floor= or ceiling="):
        table.add_check(table.row("g", "c", 1.0, None), "m", 1.0)


def test_the_step_profile_times_every_op_of_a_training_step_in_a_child_process() -> None:
    from benchmarks import bench_step_ops

    per_step = bench_step_ops._child(1, steps=1)
    ops_total = sum(v for k, v in per_step.items() if k != "step")
    assert {"conv2d fwd (64, 28, 28, 1)", "max_pool2d bwd (64, 13, 13, 32)", "matmul fwd (64, 576)"} <= set(per_step)
    assert 0 < ops_total <= per_step["step"]  # the ops run inside the step: never more than all of it
