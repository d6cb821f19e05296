"""Parent side of the fuzz suite: one worker subprocess per test module, restarted after a crash or
a hang, and a verdict per case (ok / crashed / hung / wrong / unclear).

Bounds: under CI=true hypothesis is derandomized with few examples; MINIGRAD_HYPOTHESIS_PROFILE=
thorough runs many more (MINIGRAD_FUZZ_EXAMPLES=n sets the examples per test). With MINIGRAD_FUZZ_TALLY=<file> verdicts are counted into that JSON file
instead of failing the test, so one thorough run reports tried / crashed / hung / wrong / unclear.
"""
from __future__ import annotations

import json
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = float(os.environ.get("MINIGRAD_FUZZ_TIMEOUT", "20"))  # seconds per case: a hang past this
TALLY = os.environ.get("MINIGRAD_FUZZ_TALLY")
# examples per test: the hypothesis profile's, unless MINIGRAD_FUZZ_EXAMPLES says otherwise
FUZZ = settings(max_examples=int(os.environ["MINIGRAD_FUZZ_EXAMPLES"])) if os.environ.get("MINIGRAD_FUZZ_EXAMPLES") \
    else settings()


class Worker:
    """A long-lived _worker.py process; run(case) -> (status, detail)."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None

    def _start(self) -> subprocess.Popen:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        return subprocess.Popen([sys.executable, str(Path(__file__).with_name("_worker.py"))], env=env,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

    def run(self, case: dict) -> tuple[str, str]:
        if self.proc is None or self.proc.poll() is not None:
            self.proc = self._start()
        data = pickle.dumps(case)
        try:
            self.proc.stdin.write(struct.pack("<Q", len(data)) + data)
            self.proc.stdin.flush()
            header = self._read(8)
            if header is None:
                return self._lost("hung", f"no answer within {TIMEOUT} s")
            if len(header) < 8:
                return self._lost("crashed", "the worker died")
            return pickle.loads(self._read(struct.unpack("<Q", header)[0], TIMEOUT) or pickle.dumps(("crashed", "")))
        except BrokenPipeError:
            return self._lost("crashed", "the worker died")

    def _read(self, n: int, timeout: float = TIMEOUT) -> bytes | None:
        out = b""
        while len(out) < n:
            ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
            if not ready:
                return None
            chunk = os.read(self.proc.stdout.fileno(), n - len(out))
            if not chunk:
                return out
            out += chunk
        return out

    def _lost(self, status: str, detail: str) -> tuple[str, str]:
        self.proc.kill()
        code = self.proc.wait()
        self.proc.stdin.close()
        self.proc.stdout.close()
        if status == "crashed" and code < 0:
            detail += f" ({signal.Signals(-code).name})"
        self.proc = None
        return status, detail

    def close(self) -> None:
        if self.proc is None:
            return
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()


def judge(worker: Worker, case: dict) -> None:
    """Run a case; fail the test on anything but ok (or, with MINIGRAD_FUZZ_TALLY, count it)."""
    status, detail = worker.run(case)
    if TALLY:
        path = Path(TALLY)
        tally = json.loads(path.read_text()) if path.exists() else {}
        kind = tally.setdefault(case["target"], {"tried": 0, "ok": 0, "crashed": 0, "hung": 0, "wrong": 0,
                                                 "unclear": 0, "examples": []})
        kind["tried"] += 1
        kind[status] += 1
        if status != "ok" and len(kind["examples"]) < 40:
            kind["examples"].append(f"{case['name']}: {status}: {detail[:200]}")
        path.write_text(json.dumps(tally, indent=1))
        return
    if status != "ok":
        pytest.fail(f"{case['target']} {case['name']}: {status}: {detail}\ncase: {_show(case)}", pytrace=False)


def _show(case: dict) -> str:
    def short(v: Any) -> str:
        if isinstance(v, np.ndarray):
            return f"array(shape={v.shape}, dtype={v.dtype}, {np.array2string(v.ravel()[:6], threshold=6)})"
        if isinstance(v, bytes):
            return f"<{len(v)} bytes>"
        return repr(v)[:120]
    inputs = ", ".join(short(v) for v in case.get("inputs", ()))
    attrs = ", ".join(f"{k}={short(v)}" for k, v in case.get("attrs", {}).items())
    return f"{case['name']}({inputs}{', ' if inputs and attrs else ''}{attrs})"


@pytest.fixture(scope="module")
def worker():
    w = Worker()
    yield w
    w.close()


# ----- hostile values
BIG = (2**31, 2**31 - 1, 2**63, -(2**63), 10**12, 10**30)
HOSTILE_SCALARS = st.sampled_from([
    0, -1, 1, 3, *BIG, 0.0, -0.0, 0.5, -2.5, 1e308, -1e308, float("nan"), float("inf"), float("-inf"),
    True, False, None, "", "abc", "same", "valid", [], (), {}, [1, 2], (0, 0), (-1, 2), (2**40, 1), [None],
    b"x", 1j, np.int64(-1), np.float32("nan"), object(),
])
DTYPES = st.sampled_from(["float32", "float64", "int32", "int64", "bool", "uint8", "float16", "complex64"])
SHAPES = st.one_of(st.sampled_from([(), (0,), (1,), (0, 3), (3, 0), (1, 1, 1, 1), (2, 0, 2, 1), (1, 1, 1, 1, 1)]),
                   st.lists(st.integers(1, 4), min_size=0, max_size=5).map(tuple))
VALUES = st.sampled_from([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0, 1e38, -1e38, 1e308, 3.0])


@st.composite
def hostile_arrays(draw: st.DrawFn) -> np.ndarray:
    """Any shape (empty, 0-d, 5-d), any dtype, values with NaN/inf/huge, sometimes non-contiguous or read-only."""
    shape, dtype = draw(SHAPES), np.dtype(draw(DTYPES))
    with np.errstate(all="ignore"):
        a = np.array(draw(st.lists(VALUES, min_size=int(np.prod(shape)), max_size=int(np.prod(shape)))),
                     dtype=np.float64).reshape(shape).astype(dtype)
    if a.ndim >= 2 and draw(st.booleans()):
        a = a.T
    if draw(st.integers(0, 4)) == 0:
        a.flags.writeable = False
    return a


def hostile_value() -> st.SearchStrategy:
    return st.one_of(HOSTILE_SCALARS, hostile_arrays())


@st.composite
def mutated(draw: st.DrawFn, inputs: tuple, attrs: dict) -> tuple[tuple, dict]:
    """A valid (inputs, attrs) with some parts replaced by hostile values (or left valid: twin check)."""
    inputs, attrs = list(inputs), dict(attrs)
    how = draw(st.sampled_from(["valid", "input", "attr", "attr", "both", "extra", "missing"]))
    if how in ("input", "both") and inputs:
        inputs[draw(st.integers(0, len(inputs) - 1))] = draw(hostile_value())
    if how in ("attr", "both") and attrs:
        attrs[draw(st.sampled_from(sorted(attrs)))] = draw(hostile_value())
    if how == "extra":
        attrs["bogus_attr"] = draw(hostile_value())
    if how == "missing" and inputs:
        inputs.pop()
    return tuple(inputs), attrs
