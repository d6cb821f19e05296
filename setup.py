"""Build the Cython extensions: every minigrad/_ext/*.pyx becomes minigrad._ext.<name>.

OpenMP is probed by compiling a tiny program; without it the kernels build single-threaded.
Every extension is portable by default (no -march=native: the binary runs on any x86-64). The conv,
activation, optimizer and pooling kernels are compiled for baseline x86-64, AVX2+FMA and AVX-512 in
one build (minigrad/_ext/isa.h) and their extensions pick a level from CPUID at import (see _native).
BuildExt compiles the extensions in parallel (one job per usable core), says what it does, and keeps
each compiled module in build/ext-cache/ keyed by everything that goes into it, so a second
`pip install` in the same clone (editable or not) copies instead of compiling again.
Environment knobs: MINIGRAD_NO_OPENMP=1 (skip OpenMP), MINIGRAD_NATIVE=1 (-march=native for every
extension: a binary for this CPU only), MINIGRAD_PORTABLE=1 (no -march=native even if MINIGRAD_NATIVE
is set: what a wheel build asks for), MINIGRAD_BUILD_ISA=baseline|avx2|avx512 (the highest ISA
level of the dispatched kernels the import may pick), MINIGRAD_EXTENSIONS=_conv,_pool (developers:
build only these).
"""
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

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


def _native() -> bool:
    """Whether the extensions are compiled for this CPU only (-march=native): MINIGRAD_NATIVE=1 and
    not MINIGRAD_PORTABLE=1.

    The default is portable: _conv, _activation, _optim and _pool carry their kernels for every ISA
    level (minigrad/_ext/isa.h), written so that GCC vectorizes them even for baseline x86-64
    (SSE2); tests/kernels/test_disassembly.py checks that the hot loops stay vectorized.
    """
    return bool(os.environ.get("MINIGRAD_NATIVE")) and not os.environ.get("MINIGRAD_PORTABLE")


def _flags(native: bool) -> tuple[list[str], list[str]]:
    if sys.platform == "win32":
        return ["/O2", "/openmp"], []
    compile_args = ["-O3"]
    link_args: list[str] = []
    if native and _compiler_accepts(["-march=native"], "int main(void){return 0;}"):
        compile_args.append("-march=native")
    omp_probe = "#include <omp.h>\nint main(void){return omp_get_max_threads() > 0 ? 0 : 1;}"
    if not os.environ.get("MINIGRAD_NO_OPENMP") and _compiler_accepts(["-fopenmp"], omp_probe):
        compile_args.append("-fopenmp")
        link_args.append("-fopenmp")
    else:
        print("minigrad: building without OpenMP (kernels run single-threaded)", file=sys.stderr)
    return compile_args, link_args


_ISA_LEVELS = ("baseline", "avx2", "avx512")  # index = MG_ISA_* in minigrad/_ext/isa.h


def _isa_macros() -> list[tuple[str, str]]:
    """MG_MAX_ISA from MINIGRAD_BUILD_ISA: the highest level of the dispatched kernels
    (minigrad/_ext/isa.h) that the import may pick."""
    level = os.environ.get("MINIGRAD_BUILD_ISA", "avx512")
    if level not in _ISA_LEVELS:
        raise SystemExit(f"setup.py: MINIGRAD_BUILD_ISA must be one of {_ISA_LEVELS}, "
                         f"received {level!r}")
    return [("MG_MAX_ISA", str(_ISA_LEVELS.index(level)))]


def _extensions() -> list[Extension]:
    wanted = {n for n in os.environ.get("MINIGRAD_EXTENSIONS", "").split(",") if n}
    exts = []
    ext_dir = HERE / "minigrad" / "_ext"
    headers = [str(h.relative_to(HERE)) for h in sorted([*ext_dir.glob("*.h"), *ext_dir.glob("*.pxi")])]
    for pyx in sorted((HERE / "minigrad" / "_ext").glob("*.pyx")):
        if wanted and pyx.stem not in wanted:
            continue
        compile_args, link_args = _flags(_native())
        exts.append(
            Extension(
                f"minigrad._ext.{pyx.stem}",
                [str(pyx.relative_to(HERE))],
                include_dirs=[np.get_include(), str(ext_dir)],
                depends=headers,
                define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION"), *_isa_macros()],
                extra_compile_args=compile_args,
                extra_link_args=link_args,
            )
        )
    return _cythonize_uncached(exts)


# ----- the build: parallel, saying what it does, and compiling nothing twice in one clone
CACHE = HERE / "build" / "ext-cache"
_cache_keys: dict[str, str] = {}  # extension name -> key, computed before cythonize changes sources


def _say(message: str) -> None:
    """Print a build message; pip hides a build's output below -v, so also show it on the terminal."""
    line = f"minigrad build: {message}\n"
    sys.stderr.write(line)  # one write: messages from parallel jobs stay whole lines
    sys.stderr.flush()
    if sys.stderr.isatty():
        return
    try:  # pip captures stderr; the terminal the user typed `pip install` in is still there
        with open("/dev/tty", "w") as tty:
            # below pip's "Building ... -" line; pip's spinner then turns the trailing space, and
            # "done" lands after the last message
            tty.write(f"\n  {line.rstrip()}  ")
    except OSError:  # no terminal (CI, a pipe): pip -v shows the stderr line above
        pass


def _cache_key(ext: Extension) -> str:
    """sha256 of all that goes into the module: sources, headers, every .pxd, the versions of Cython
    and numpy (whose .pxd files are cimported), flags, compiler, Python and CPU."""
    import Cython

    h = hashlib.sha256()
    for path in [*ext.sources, *ext.depends, *sorted(HERE.glob("minigrad/_ext/*.pxd"))]:
        # named relative to the clone: setup.py may be run as setup.py or by its absolute path
        h.update(os.path.relpath(path, HERE).encode() + b"\0" + Path(path).read_bytes())
    cpu = Path("/proc/cpuinfo")  # -march=native builds for this CPU's instruction set
    cpu_flags = next((l for l in cpu.read_text().splitlines() if l.startswith("flags")), "") \
        if cpu.exists() else ""
    own_includes = [d for d in ext.include_dirs if d != np.get_include()]  # numpy's is a temp path
    parts = [ext.name, DIRECTIVES, ext.extra_compile_args, ext.extra_link_args, ext.define_macros,
             own_includes, ext.libraries, Cython.__version__, np.__version__,
             sys.version, sysconfig.get_config_var("EXT_SUFFIX"),
             [os.environ.get(v) or sysconfig.get_config_var(v) for v in ("CC", "CFLAGS", "LDSHARED")],
             platform.machine(), cpu_flags]
    h.update(repr(parts).encode())
    return h.hexdigest()[:24]


def _cached(name: str) -> Path:
    return CACHE / _cache_keys[name] / (name.rpartition(".")[2] + sysconfig.get_config_var("EXT_SUFFIX"))


def _cythonize_uncached(exts: list[Extension]) -> list[Extension]:
    """cythonize the extensions whose module is not in the cache (each pip build step runs this, and
    every isolated build environment has new .pxd files that would make Cython start again)."""
    for ext in exts:
        _cache_keys[ext.name] = _cache_key(ext)
    todo = [ext for ext in exts if not _cached(ext.name).exists()]
    done = [ext for ext in exts if ext not in todo]
    return done + (cythonize(todo, compiler_directives=DIRECTIVES, nthreads=os.cpu_count() or 1)
                   if todo else [])


class BuildExt(build_ext):
    """build_ext on every usable core, with a message per extension and a cache of compiled modules."""

    def finalize_options(self) -> None:
        super().finalize_options()
        if self.parallel is None:  # `build_ext -j N` still wins
            self.parallel = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") \
                else os.cpu_count() or 1

    def build_extensions(self) -> None:
        # longest first, so the last job to start is a short one
        self.extensions.sort(key=lambda e: -sum(Path(s).stat().st_size for s in e.sources))
        todo = [e for e in self.extensions if self.force or not _cached(e.name).exists()]
        flags = " ".join(self.extensions[0].extra_compile_args) if self.extensions else ""
        reused = len(self.extensions) - len(todo)
        if todo:
            _say(f"compiling {len(todo)} extension(s) in {self.parallel} parallel job(s) ({flags}), "
                 "about a minute on 2 idle cores" + (f"; {reused} reused from {CACHE}" if reused else ""))
        else:
            _say(f"all {reused} extensions reused from {CACHE} (compiled earlier in this clone)")
        started = time.perf_counter()
        super().build_extensions()
        if todo:
            _say(f"extensions compiled in {time.perf_counter() - started:.0f} s")

    def build_extension(self, ext: Extension) -> None:
        target, cached = Path(self.get_ext_fullpath(ext.name)), _cached(ext.name)
        if cached.exists() and not self.force:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(cached, target)
            return
        started = time.perf_counter()
        super().build_extension(ext)
        cached.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(target, cached.with_suffix(".tmp"))
        os.replace(cached.with_suffix(".tmp"), cached)  # a build killed midway leaves no half file
        _say(f"{ext.name}: compiled in {time.perf_counter() - started:.0f} s")


setup(ext_modules=_extensions(), cmdclass={"build_ext": BuildExt})
