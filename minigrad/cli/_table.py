"""Aligned plain-text tables for the command line."""
from __future__ import annotations

from typing import Sequence


def format_row(cells: Sequence[str], widths: Sequence[int], right: Sequence[bool] = ()) -> str:
    """One line: cells padded to widths (right-aligned where right[i]), two spaces apart."""
    out = []
    for i, (cell, width) in enumerate(zip(cells, widths)):
        out.append(cell.rjust(width) if i < len(right) and right[i] else cell.ljust(width))
    return "  ".join(out).rstrip()


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool] = ()) -> str:
    """Header, a rule and the rows, columns as wide as their widest cell."""
    widths = [max(len(str(c)) for c in column) for column in zip(headers, *rows)]
    lines = [format_row(headers, widths, right), format_row(["-" * w for w in widths], widths)]
    lines += [format_row([str(c) for c in row], widths, right) for row in rows]
    return "\n".join(lines)
