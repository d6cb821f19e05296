"""The README's two commands on a fresh machine: each install part in a fresh virtual environment,
once with the pip that python3 ships and once with the newest pip, and the main job's run once.

Standard library only (it runs before any venv exists): `python3 .ci/fresh_venvs.py [--all]`.
.ci/run leaves out the test command with the shipped pip (--all adds it): its next line is that
command itself, verbatim, in a fresh .venv.
A step of .ci/run rather than a test, because the installs write into this clone (build/,
minigrad/_ext/*.so) while a test session has those modules loaded, and because the README's test
command runs the whole suite, which must not create four environments for every user who runs it.
"""
from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = ".venv"
UPGRADE_PIP = "python -m pip install --quiet --upgrade pip"


def readme_commands(readme: Path = ROOT / "README.md") -> tuple[str, str]:
    """(main job, test command): the first ```bash block of the README and the one running pytest."""
    blocks = [b.strip() for b in re.findall(r"```bash\n(.*?)```", readme.read_text(), flags=re.S)]
    return blocks[0], next(b for b in blocks if "pytest" in b)


def steps(command: str) -> list[str]:
    """The `&&`-joined steps of a one-line command."""
    return [step.strip() for step in command.split(" && ")]


def install_part(command: str, venv: Path, *, newest_pip: bool) -> str:
    """The command without its run step, in `venv` instead of .venv, upgrading pip if asked."""
    parts = [step.replace(VENV, str(venv)) for step in steps(command)[:-1]]
    if newest_pip:
        activated = next(i for i, step in enumerate(parts) if step.startswith(". "))
        parts.insert(activated + 1, UPGRADE_PIP)
    return " && ".join([*parts, "pip --version", "pip check"])


def run(label: str, command: str) -> float:
    """Run one shell command from the clone's root; exit with its status if it fails."""
    print(f"\n=== {label}\n$ {command}", flush=True)
    started = time.perf_counter()
    proc = subprocess.run(["bash", "-c", command], cwd=ROOT)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"fresh_venvs: {label} failed (exit status {proc.returncode}) after {seconds:.0f} s")
    print(f"=== {label}: ok in {seconds:.0f} s", flush=True)
    return seconds


def main(argv: list[str]) -> None:
    main_job, test_command = readme_commands()
    cases = [("main job", main_job, False), ("main job", main_job, True),
             ("test command", test_command, True)]
    if "--all" in argv:
        cases.append(("test command", test_command, False))
    times = {}
    cache, extensions = ROOT / "build" / "ext-cache", len(list(ROOT.glob("minigrad/_ext/*.pyx")))
    before = set(cache.glob("*/*"))
    with tempfile.TemporaryDirectory(prefix="minigrad-fresh-venvs-") as tmp:
        for name, command, newest in cases:
            venv = Path(tmp, f"{name.split()[0]}-{'newest' if newest else 'shipped'}")
            label = f"{name} install, fresh venv, {'newest pip' if newest else 'the pip python3 ships'}"
            times[label] = run(label, install_part(command, venv, newest_pip=newest))
            if name == "main job" and not newest:  # the run step once, in the environment just made
                run_step = steps(command)[-1]
                label = f"main job run ({run_step})"
                times[label] = run(label, f". {venv}/bin/activate && cd {tmp} && {run_step}")
    print("\nfresh_venvs: " + "; ".join(f"{k}: {v:.0f} s" for k, v in times.items()))
    compiled = len(set(cache.glob("*/*")) - before)
    print(f"fresh_venvs: {compiled} extension module(s) compiled for {len(cases)} installs")
    if compiled > extensions:  # every install after the first must reuse the build cache
        sys.exit(f"fresh_venvs: {compiled} modules compiled, more than the {extensions} extensions: "
                 "the build cache missed (see _cache_key in setup.py)")


if __name__ == "__main__":
    main(sys.argv[1:])
