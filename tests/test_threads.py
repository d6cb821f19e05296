"""Thread control reaches both the OpenMP kernels and every BLAS library, scipy's lazily loaded one included."""
import subprocess
import sys

import pytest

import minigrad


@pytest.mark.parametrize("bad, error", [(0, ValueError), (-1, ValueError), (1.5, TypeError), ("2", TypeError),
                                        (True, TypeError)])
def test_set_num_threads_rejects_non_positive_ints(bad, error):
    with pytest.raises(error, match=r"set_num_threads: expected n to be an int in \[1, \d+\], received"):
        minigrad.set_num_threads(bad)
    with pytest.raises(error, match=r"set_num_threads: expected blas to be an int in \[1, \d+\], received"):
        minigrad.set_num_threads(1, blas=bad)


def _blas_threads_after(code: str, env: dict | None = None) -> set:
    script = (
        "import minigrad\n" + code +
        "\nfrom threadpoolctl import threadpool_info\n"
        "print(sorted({i['num_threads'] for i in threadpool_info() if i['user_api'] == 'blas'}))"
    )
    import os

    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                         env={**os.environ, **(env or {})})
    assert out.returncode == 0, out.stderr[-2000:]
    return set(eval(out.stdout.strip().splitlines()[-1]))


def test_set_num_threads_limits_every_blas_and_openmp():
    code = "minigrad.set_num_threads(1)\nassert minigrad.get_num_threads() == 1"
    assert _blas_threads_after(code) == {1}


def test_blas_runs_single_threaded_by_default_and_on_request_with_more():
    assert _blas_threads_after("assert minigrad.get_blas_threads() == 1") == {1}
    code = "minigrad.set_num_threads(1, blas=2)\nassert minigrad.get_blas_threads() == 2"
    assert _blas_threads_after(code) == {2}


def test_scipy_blas_loaded_lazily_starts_limited():
    code = (
        "import numpy as np\n"
        "minigrad.ops.apply('conv2d', np.ones((1, 5, 5, 1), np.float32), np.ones((3, 3, 1, 2), np.float32))"
    )
    assert _blas_threads_after(code) == {1}


def test_environment_variable_limits_blas_loaded_later():
    code = (
        "import numpy as np\nassert minigrad.get_num_threads() == 1\n"
        "minigrad.ops.apply('conv2d', np.ones((1, 5, 5, 1), np.float32), np.ones((3, 3, 1, 2), np.float32))"
    )
    assert _blas_threads_after(code, {"MINIGRAD_NUM_THREADS": "1"}) == {1}


@pytest.mark.parametrize("raw", ["", "0", "abc", "99999999999", "-2"])
def test_bad_environment_value_warns_and_falls_back_to_the_default(raw):
    import os

    code = ("import warnings\nwarnings.simplefilter('always')\nimport minigrad\n"
            "print(minigrad.get_num_threads(), minigrad.threads.usable_cores())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "MINIGRAD_NUM_THREADS": raw}, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert f"MINIGRAD_NUM_THREADS={raw!r} is not a thread count" in out.stderr and "ThreadWarning" in out.stderr
    threads, cores = out.stdout.split()
    assert threads == cores or (threads == "1" and not minigrad.openmp_available())


def test_more_threads_than_cores_warns_once_and_absurd_counts_are_refused():
    before = minigrad.get_num_threads()
    minigrad.threads._warned_oversubscribed = False
    too_many = minigrad.threads.usable_cores() + 1
    try:
        with pytest.warns(minigrad.threads.ThreadWarning, match=rf"set_num_threads\({too_many}, blas=1\): "
                                                               rf"{too_many} threads on \d+ usable cores"):
            minigrad.set_num_threads(too_many)
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("error")
            minigrad.set_num_threads(too_many)  # once per process: no second warning
    finally:
        minigrad.set_num_threads(before)
    for bad in (10**11, 5000):
        with pytest.raises(ValueError, match=rf"set_num_threads: expected n to be an int in \[1, \d+\], received {bad}"):
            minigrad.set_num_threads(bad)


def test_allocator_is_tuned_on_glibc_unless_opted_out():
    import os
    import platform

    code = "import minigrad; print(minigrad.threads.allocator_tuned)"
    run = lambda env: subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,  # noqa: E731
                                     env={**os.environ, **env}, timeout=60).stdout.strip()
    if platform.libc_ver()[0] == "glibc":
        assert run({}) == "True"
    assert run({"MINIGRAD_MALLOC_TUNING": "0"}) == "False"
    assert run({"MALLOC_TRIM_THRESHOLD_": "0"}) == "False"  # the user's own setting wins
