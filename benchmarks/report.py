"""benchmarks/RESULTS.md from the rows of a run: checks first, a README-ready table, then details."""
from __future__ import annotations

from typing import Any

from benchmarks import harness, table

DEFAULT_BUILD = "flags not reported by this minigrad (setup.py's docstring lists its defaults and knobs)"
README_BEGIN, README_END = "<!-- README table: begin -->", "<!-- README table: end -->"


def checks(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every row that carries a floor or a target, with its thread count."""
    return [{**r, "threads": res["threads"]} for res in results for r in res.get("rows", [])
            if r.get("check")]


def check_lines(results: list[dict[str, Any]]) -> list[str]:
    """One line per check for the console: 'FLAGGED ...' first, so nothing below a floor hides."""
    found = checks(results)
    found.sort(key=lambda r: r["check"]["ok"] is not False)
    return [f"{'FLAGGED' if r['check']['ok'] is False else 'ok     '} [{r['threads']} thr] "
            f"{table.describe_check(r['check'])} ({r['case']})" for r in found]


def fmt_time(ms: float | None) -> str:
    """A time in the unit a reader expects: µs, ms or s."""
    if ms is None:
        return "—"
    if ms < 0.1:
        return f"{ms * 1e3:.2f} µs"
    if ms >= 1000:
        return f"{ms / 1e3:.1f} s"
    return f"{table.fmt_ms(ms)} ms"


def readme_table(results: list[dict[str, Any]], machine: dict[str, Any]) -> list[str]:
    """The headline rows (those with a `readme` label) as the table README.md quotes."""
    other = harness.other_build()  # --other-build rows compare two minigrad builds, not PyTorch
    rows = [{**r, "threads": res["threads"]} for res in results for r in res.get("rows", [])
            if r.get("readme") and (other is None or r.get("side") != other.name)]
    first = {}
    for r in rows:
        first.setdefault(r["readme"], len(first))
    rows.sort(key=lambda r: (first[r["readme"]], r["threads"]))
    cpu = machine.get("cpu", {})
    isa = machine.get("minigrad", {}).get("isa") or cpu.get("isa_from_flags", "?")
    out = [README_BEGIN,
           f"Medians from benchmarks/RESULTS.md ({cpu.get('model', '?')}, {cpu.get('logical', '?')} "
           f"cores, {isa}); each framework runs in processes of its own, alternated; ratio = "
           "minigrad / PyTorch (< 1: minigrad faster). \"PyTorch best\" is channels_last with glibc "
           "told to keep freed memory (for the optimizer and op rows: torch's fastest variant, as "
           "it comes).", "",
           "| case | threads | minigrad | PyTorch best | ratio |", "|---|---:|---:|---:|---:|"]
    out += [f"| {r['readme']} | {r['threads']} | {fmt_time(r['minigrad_ms'])} | "
            f"{fmt_time(r['torch_ms'])} | {table.fmt_ratio(r['ratio'])} |" for r in rows]
    return out + [README_END]


def machine_lines(machine: dict[str, Any], threads: list[int], loads: dict[str, Any]) -> list[str]:
    """Markdown bullets: CPU, ISA, build, libraries, threads, load."""
    if "error" in machine:
        return [f"- machine description failed: {machine['error']}"]
    cpu, mg = machine["cpu"], machine["minigrad"]
    isa = (f"{mg['isa']}, chosen by minigrad at import" if mg["isa"] else
           f"{cpu['isa_from_flags']} (from /proc/cpuinfo flags; this minigrad reports no ISA level)")
    return [
        f"- CPU: {cpu['model']}; {cpu['logical']} logical cores, {cpu['physical'] or '?'} physical, "
        f"{cpu['usable'] or '?'} usable by this process",
        f"- ISA level: {isa}; gcc's -march=native here: {mg['native']}",
        f"- Build: {mg['build'] or DEFAULT_BUILD}; compiler {mg['compiler']}",
        *[f"- {lib}" for lib in machine["libraries"]],
        f"- Threads: {', '.join(map(str, threads))}; every process gets "
        f"{', '.join(harness.THREAD_VARS)} set to the count, and each framework is told it "
        "(minigrad.set_num_threads, torch.set_num_threads)",
        f"- Load average (1, 5, 15 min): before {loads['before']}, after {loads['after']}; "
        "the range seen before each child is in the tables",
    ]


def render(results: list[dict[str, Any]], header: list[str], machine: dict[str, Any],
           threads: list[int], loads: dict[str, Any]) -> str:
    """The whole RESULTS.md text."""
    out = [*header, "", "## Floors and targets", ""]
    found = checks(results)
    out += ["| check | threads | value | needs | verdict |", "|---|---:|---:|---:|---|"] if found else [
        "(none measured in this run)"]
    for r in found:
        c = r["check"]
        verdict = table.describe_check(c).rsplit(": ", 1)[1]
        value = "—" if c["value"] is None else f"{c['value']:.2f}"
        shown = f"**{verdict}**" if c["ok"] is False else verdict
        out.append(f"| {_cell(c['metric'])} | {r['threads']} | {value} | {c['op']} {c['bound']:.2f} "
                   f"| {shown} |")
    out += ["", "## README table", "", *readme_table(results, machine)]
    out += ["", "## Machine", "", *machine_lines(machine, threads, loads)]
    out += ["", "## Versions", "", *[f"- {v}" for v in machine.get("versions", [])]]
    if machine.get("minigrad", {}).get("info"):
        out += ["", "## `python -m minigrad info`", "", "```", machine["minigrad"]["info"], "```"]
    out += _tables(results)
    failed = [res for res in results if "error" in res]
    if failed:
        out += ["", "## Failed", "", "| module | threads | error |", "|---|---:|---|"]
        out += [f"| {res['module']} | {res['threads']} | {_cell(res['error'])} |" for res in failed]
    return "\n".join(out) + "\n"


def _tables(results: list[dict[str, Any]]) -> list[str]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for res in results:
        for r in res.get("rows", []):
            groups.setdefault(str(r["group"]), []).append({**r, "threads": res["threads"]})
    out = []
    for group, rows in groups.items():
        first: dict[str, int] = {}
        for r in rows:
            first.setdefault(r["case"], len(first))
        rows.sort(key=lambda r: (first[r["case"]], r["threads"]))  # thread counts side by side
        out += ["", f"## {group}", "",
                "| case | threads | minigrad (ms) | PyTorch (ms) | ratio | spread | load | extra |",
                "|---|---:|---:|---:|---:|---|---|---|"]
        out += [f"| {'⚠ ' if r.get('check', {}).get('ok') is False else ''}{_cell(r['case'])} | "
                f"{r['threads']} | {table.fmt_ms(r['minigrad_ms'])} | "
                f"{table.fmt_ms(r['torch_ms'])} | {table.fmt_ratio(r['ratio'])} | "
                f"{_cell(r.get('spread', ''))} | {_cell(r.get('load', ''))} | "
                f"{_cell(r.get('extra', ''))} |" for r in rows]
    return out


def _cell(text: object) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")
