"""What RESULTS.md says about the machine and the build; `python -m benchmarks.machine` prints it.

`python -m benchmarks` runs this in a child of its own (the runner itself never imports minigrad,
so that nothing minigrad sets at import can leak into the torch processes it starts).
"""
from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ISA_FLAGS = (("AVX-512", ("avx512f", "avx512bw", "avx512vl", "avx512dq")),
             ("AVX2+FMA", ("avx2", "fma")), ("baseline x86-64 (SSE2)", ()))


def cpu() -> dict[str, Any]:
    """CPU model, core counts and the widest ISA level its flags allow (/proc/cpuinfo)."""
    text = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    models = re.findall(r"^model name\s*:\s*(.+)$", text, re.M)
    flags = set((re.findall(r"^flags\s*:\s*(.+)$", text, re.M) or [""])[0].split())
    cores = set(zip(re.findall(r"^physical id\s*:\s*(\d+)", text, re.M),
                    re.findall(r"^core id\s*:\s*(\d+)", text, re.M)))
    isa = next((name for name, need in ISA_FLAGS if flags.issuperset(need)), "unknown")
    return {"model": models[0] if models else platform.processor() or "unknown",
            "logical": os.cpu_count(), "physical": len(cores) or None,
            "usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
            "isa_from_flags": isa if text else "unknown (no /proc/cpuinfo)"}


def minigrad_info() -> dict[str, Any]:
    """`python -m minigrad info [--conv]` (where this minigrad has it), its ISA level, the compiler."""
    text = ""
    for args in (["info", "--conv"], ["info"]):  # --conv: the reference layers' plans listed too
        proc = subprocess.run([sys.executable, "-m", "minigrad", *args], cwd=ROOT,
                              capture_output=True, text=True, timeout=300)
        if proc.returncode == 0:
            text = proc.stdout.strip()
            break
    build = re.search(r"^\s*(?:build|compile flags|cflags)[^:]*:\s*(.+)$", text, re.M | re.I)
    return {"info": text, "isa": _isa(), "build": build.group(1).strip() if build else None,
            "compiler": _compiler(), "native": _native_target()}


def _isa() -> str | None:
    """The conv kernels' ISA level and what capped it, where this minigrad reports one."""
    try:
        from minigrad._ext import _conv

        forced = os.environ.get("MINIGRAD_ISA")
        return (f"{_conv.isa()} (CPU supports {_conv.CPU_ISA}, build allows up to "
                f"{_conv.BUILD_ISA}{f', MINIGRAD_ISA={forced}' if forced else ''})")
    except (ImportError, AttributeError):
        return None


def _native_target() -> str:
    """What this machine's gcc makes of -march=native ('-march=rocketlake -mtune=rocketlake')."""
    try:
        out = subprocess.run(["gcc", "-march=native", "-Q", "--help=target"], capture_output=True,
                             text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "unknown (no gcc)"
    found = re.findall(r"^\s*(-m(?:arch|tune)=)\s+(\S+)", out, re.M)
    return " ".join(f"{flag}{value}" for flag, value in found) or "unknown"


def _compiler() -> str:
    """The compiler that built minigrad's _conv, from its ELF .comment section ('GCC: (...) 12.2')."""
    try:
        from minigrad._ext import _conv
    except ImportError as exc:
        return f"unknown (_conv does not import: {exc})"
    found = re.findall(rb"(GCC: \([^)]*\) [\w.]+|clang version [\w.]+)", Path(_conv.__file__).read_bytes())
    return ", ".join(sorted({f.decode() for f in found})) or "unknown (no .comment section)"


def libraries() -> list[str]:
    """BLAS and OpenMP runtimes loaded by numpy, scipy and minigrad (threadpoolctl's view)."""
    import numpy  # noqa: F401  (loaded so that threadpoolctl sees their BLAS)
    import scipy.linalg  # noqa: F401
    from threadpoolctl import threadpool_info

    try:
        import minigrad  # noqa: F401  (loads minigrad's OpenMP runtime)
    except Exception:  # its failure is reported under versions
        pass
    out = []
    for info in threadpool_info():
        lib = Path(info["filepath"])
        desc = ", ".join(str(info[k]) for k in ("architecture", "threading_layer") if info.get(k))
        name = " ".join(str(v) for v in (info["internal_api"], info.get("version")) if v)
        line = f"{info['user_api'].upper()}: {name}{f' ({desc})' if desc else ''}, {lib.parent.name}/{lib.name}"
        if lib.parent.name == "scipy.libs":  # minigrad's _blas calls scipy.linalg.cython_blas
            line += " (the BLAS minigrad calls)"
        out.append(line)
    return out or ["BLAS: none found by threadpoolctl"]


def versions() -> list[str]:
    """Python, OS, minigrad (with OpenMP and commit), numpy, scipy, threadpoolctl and torch."""
    def dist(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "not installed"

    try:
        import minigrad

        mg = f"{minigrad.__version__} (OpenMP: {minigrad.openmp_available()})"
    except Exception as exc:
        mg = f"import failed: {type(exc).__name__}: {exc}"
    commit = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT, text=True,
                            capture_output=True).stdout.strip() or "unknown"
    return [f"Python {platform.python_version()} ({platform.python_implementation()}, "
            f"{sys.executable}), {platform.system()} {platform.release()}",
            f"minigrad {mg}, commit {commit}, imported from {ROOT}",
            f"numpy {dist('numpy')}, scipy {dist('scipy')}, threadpoolctl {dist('threadpoolctl')}",
            f"PyTorch {dist('torch')}"]


def collect() -> dict[str, Any]:
    """Everything above as one JSON-ready dict."""
    return {"cpu": cpu(), "minigrad": minigrad_info(), "libraries": libraries(),
            "versions": versions()}


if __name__ == "__main__":
    print(json.dumps(collect()))
