"""Fuzz worker: runs cases sent by _harness.Worker in its own process, so a crash or a hang costs
only this process. Protocol on stdin/stdout: 8-byte length + pickle, one case in, one verdict out.

A verdict is (status, detail): ok | wrong (result differs from the twin) | unclear (an error that is
not ValueError/TypeError/a minigrad error, or whose message does not name the op or file part).
Crashes and hangs are seen by the parent (the process dies or does not answer).
"""
from __future__ import annotations

import os
import pickle
import resource
import struct
import sys
import tempfile
import traceback
import warnings
from typing import Any

import numpy as np

# a hostile case must fail with a clear error, not take the machine down: allocations past this are a
# MemoryError (judged unclear) instead of swapping
resource.setrlimit(resource.RLIMIT_AS, (int(os.environ.get("MINIGRAD_FUZZ_MEMORY", 3 << 30)),) * 2)
os.environ.setdefault("MINIGRAD_NUM_THREADS", "1")

import minigrad  # noqa: E402
from minigrad import errors  # noqa: E402

# IndexError is what Python and numpy raise for an index out of bounds: accepted when it names the op
CLEAR = (ValueError, TypeError, IndexError, errors.MinigradError, errors.RegistryError)


def _same(a: Any, b: Any) -> bool:
    """NaN-aware comparison of a result with its twin's (tuples elementwise)."""
    if isinstance(a, tuple) or isinstance(b, tuple):
        return isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b) and all(map(_same, a, b))
    a, b = np.asarray(getattr(a, "data", a)), np.asarray(getattr(b, "data", b))
    if a.shape != b.shape:
        return False
    if a.dtype.kind in "fc" or b.dtype.kind in "fc":
        a64, b64 = a.astype(np.complex128), b.astype(np.complex128)
        if not np.array_equal(np.isnan(a64), np.isnan(b64)):
            return False
        tol = 1e-4 if np.float32 in (a.dtype, b.dtype) or np.float16 in (a.dtype, b.dtype) else 1e-9
        return bool(np.allclose(a64, b64, rtol=tol, atol=tol, equal_nan=True))
    return bool(np.array_equal(a, b))


def _names(message: str, names: tuple[str, ...]) -> bool:
    low = message.lower()
    return any(n.lower() in low for n in names if n)


def _judge_error(exc: BaseException, names: tuple[str, ...], case_target: str) -> tuple[str, str]:
    message = str(exc)
    detail = f"{type(exc).__name__}: {message[:300]}"
    if isinstance(exc, MemoryError) and case_target in ("op", "layer") and _names(message, names):
        return "ok", detail  # an absurd output or weight size was asked for explicitly, and it says whose
    if not isinstance(exc, CLEAR):
        return "unclear", detail + "\n" + "".join(traceback.format_tb(exc.__traceback__)[-3:])
    if not _names(message, names):
        return "unclear", f"message does not name {names[0]!r}: {detail}"
    return "ok", detail


def _op(case: dict) -> Any:
    from minigrad import ops

    return ops.apply(case["name"], *case["inputs"], **case["attrs"])


def _op_twin(case: dict) -> Any:
    from minigrad import ops

    return ops.get(case["name"]).reference(*case["inputs"], **case["attrs"])


def _kernel(case: dict, module: Any) -> Any:
    return getattr(module, case["name"])(*case["inputs"], **case["attrs"])


def _layer(case: dict) -> Any:
    from minigrad import layers

    layer = layers.get(case["name"])(**case["attrs"])
    return layer(*case["inputs"]) if case["inputs"] else layer


def _file(case: dict) -> Any:
    from minigrad import saving
    from minigrad.callbacks import BackupAndRestore

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "hostile.mg")
        with open(path, "wb") as f:
            f.write(case["data"])
        loader = case["name"]
        if loader == "load_model":
            saving.load_model(path)
        elif loader == "load_weights":
            model = minigrad.models.Sequential([minigrad.layers.Dense(3, input_shape=(4,))])
            saving.load_weights(model, path)
        elif loader == "backup":
            os.rename(path, os.path.join(tmp, "backup.mgckpt"))
            model = minigrad.models.Sequential([minigrad.layers.Dense(3, input_shape=(4,))])
            model.compile(optimizer="sgd", loss="mse")
            model.fit(np.ones((2, 4), np.float32), np.ones((2, 3), np.float32), epochs=2, verbose=0,
                      callbacks=[BackupAndRestore(tmp)])
        else:
            saving.read_archive(path, case["kind"])


def run(case: dict) -> tuple[str, str]:
    """(status, detail) of one case."""
    from minigrad import kernels
    from minigrad.kernels import reference

    target = case["target"]
    names = (case["name"], *case.get("also", ()))
    call = {"op": _op, "layer": _layer, "file": _file,
            "kernel": lambda c: _kernel(c, getattr(kernels, c["module"]))}[target]
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            result = call(case)
        except BaseException as exc:  # noqa: BLE001 - judging every failure is the point
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            return _judge_error(exc, names, target)
        twin = None
        try:
            if target == "op":
                twin = _op_twin(case)
            elif target == "kernel" and hasattr(reference, case["name"]):
                twin = _kernel(case, reference)
        except Exception:  # noqa: BLE001 - a twin refusing hostile input says nothing about the kernel
            twin = None
    if twin is not None and not _same(result, twin):
        return "wrong", f"{case['name']}: result differs from its twin"
    return "ok", ""


def main() -> None:
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # anything minigrad prints must not corrupt the protocol
    while True:
        header = inp.read(8)
        if len(header) < 8:
            return
        case = pickle.loads(inp.read(struct.unpack("<Q", header)[0]))
        reply = pickle.dumps(run(case))
        out.write(struct.pack("<Q", len(reply)) + reply)
        out.flush()


if __name__ == "__main__":
    main()
