"""Plain-text tables: Markdown for files, space-aligned columns for a terminal."""

from __future__ import annotations

from typing import Sequence


def text_table(heads: Sequence[str], rows: Sequence[Sequence[str]], markdown: bool = True) -> str:
    """Lines of a table with a header row, each column as wide as its widest cell (no final newline)."""
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(heads)]
    if markdown:
        lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(heads, widths)) + " |"]
        lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
        lines += ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |" for r in rows]
    else:
        lines = ["  ".join(h.ljust(w) for h, w in zip(heads, widths))]
        lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    return "\n".join(lines)
