"""Build the Cython extensions: every minigrad/_ext/*.pyx becomes minigrad._ext.<name>.

OpenMP is probed by compiling a tiny program; without it the kernels build single-threaded.
The build is portable (no -march=native): the conv kernels are compiled for baseline x86-64, AVX2+FMA
and AVX-512 in one build (minigrad/_ext/conv_isa_*.h) and _conv picks a level from CPUID at import.
Environment knobs: MINIGRAD_NO_OPENMP=1 (skip OpenMP), MINIGRAD_NATIVE=1 (add -march=native: the
binary then runs only on CPUs like this one), MINIGRAD_BUILD_ISA=baseline|avx2|avx512 (the highest
conv kernel level the import may pick), MINIGRAD_EXTENSIONS=_conv,_pool (developers: build only these).
"""
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

HERE = Path(__file__).parent
DIRECTIVES = {
    "language_level": 3,
    "boundscheck": False,  # every kernel input is validated in Python first (minigrad/kernels)
    "wraparound": False,
    "cdivision": True,
    "initializedcheck": False,
    "embedsignature": True,
}


def _compiler_accepts(flags: list[str], source: str) -> bool:
    cc = os.environ.get("CC", "cc")
    if shutil.which(cc.split()[0]) is None:
        return False
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp, "probe.c")
        src.write_text(source)
        cmd = [*cc.split(), *flags, str(src), "-o", str(Path(tmp, "probe"))]
        return subprocess.run(cmd, capture_output=True).returncode == 0


def _flags() -> tuple[list[str], list[str]]:
    if sys.platform == "win32":
        return ["/O2", "/openmp"], []
    compile_args = ["-O3"]
    link_args: list[str] = []
    if os.environ.get("MINIGRAD_NATIVE") and _compiler_accepts(
        ["-march=native"], "int main(void){return 0;}"
    ):
        compile_args.append("-march=native")
    omp_probe = "#include <omp.h>\nint main(void){return omp_get_max_threads() > 0 ? 0 : 1;}"
    if not os.environ.get("MINIGRAD_NO_OPENMP") and _compiler_accepts(["-fopenmp"], omp_probe):
        compile_args.append("-fopenmp")
        link_args.append("-fopenmp")
    else:
        print("minigrad: building without OpenMP (kernels run single-threaded)", file=sys.stderr)
    return compile_args, link_args


_ISA_LEVELS = ("baseline", "avx2", "avx512")  # index = MG_ISA_* in minigrad/_ext/conv_plan.h


def _conv_macros() -> list[tuple[str, str]]:
    """_conv's MG_MAX_ISA from MINIGRAD_BUILD_ISA (the highest kernel level the import may pick)."""
    level = os.environ.get("MINIGRAD_BUILD_ISA", "avx512")
    if level not in _ISA_LEVELS:
        raise SystemExit(f"setup.py: MINIGRAD_BUILD_ISA must be one of {_ISA_LEVELS}, "
                         f"received {level!r}")
    return [("MG_MAX_ISA", str(_ISA_LEVELS.index(level)))]


def _extensions() -> list[Extension]:
    wanted = {n for n in os.environ.get("MINIGRAD_EXTENSIONS", "").split(",") if n}
    compile_args, link_args = _flags()
    exts = []
    ext_dir = HERE / "minigrad" / "_ext"
    headers = [str(h.relative_to(HERE)) for h in sorted(ext_dir.glob("*.h"))]  # rebuild on change
    for pyx in sorted((HERE / "minigrad" / "_ext").glob("*.pyx")):
        if wanted and pyx.stem not in wanted:
            continue
        macros = _conv_macros() if pyx.stem == "_conv" else []
        exts.append(
            Extension(
                f"minigrad._ext.{pyx.stem}",
                [str(pyx.relative_to(HERE))],
                include_dirs=[np.get_include(), str(ext_dir)],
                depends=headers,
                define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION"), *macros],
                extra_compile_args=compile_args,
                extra_link_args=link_args,
            )
        )
    return cythonize(exts, compiler_directives=DIRECTIVES, nthreads=os.cpu_count() or 1)


setup(ext_modules=_extensions())
