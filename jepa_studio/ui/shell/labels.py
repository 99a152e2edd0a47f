"""Text of pane titles: coloured runs, shortened encoder names, middle elision that never
cuts a warning ("[random weights]", "LEAKY"), and wrapping for notes."""

from __future__ import annotations

import html as _html
import re

from . import theme

_SPAN = re.compile(r'<span\s+style="[^"]*?color:\s*([^;"]+)[^"]*">(.*?)</span>', re.S)
_TAG = re.compile(r"<[^>]+>")
_PAREN = re.compile(r"\(([^()]*)\)")


def plain_text(html: str) -> str:
    """The visible text of a pane title (tags dropped, entities decoded)."""
    return "".join(text for text, _ in parse_runs(html))


def parse_runs(html: str) -> list[tuple[str, str | None]]:
    """Split a title's HTML into (text, colour or None) runs; only colour spans are kept."""
    runs: list[tuple[str, str | None]] = []
    pos = 0
    for m in _SPAN.finditer(html):
        if m.start() > pos:
            runs.append((html[pos : m.start()], None))
        runs.append((m.group(2), m.group(1).strip()))
        pos = m.end()
    runs.append((html[pos:], None))
    out = []
    for text, colour in runs:
        text = _html.unescape(_TAG.sub("", text.replace("<br>", " ")))
        if text:
            out.append((text, colour))
    return out


def short_name(name: str) -> str:
    """A short name for an encoder key: a folder's basename, else the name as is."""
    if "/" in name or "\\" in name:
        return re.split(r"[\\/]", name.rstrip("/\\"))[-1] or name
    return name


def short_label(label: str) -> str:
    """A features label with paths and hub ids shortened for a pane title.

    ``"vjepa2 (/data/runs/exp1/ckpt) [random weights]"`` -> ``"vjepa2 (ckpt) [random weights]"``;
    ``"dinov2-small (facebook/dinov2-small)"`` -> ``"dinov2-small"``. The weights tag stays.
    """
    def shorten(m: re.Match) -> str:
        inner = m.group(1)
        return f"({short_name(inner)})" if ("/" in inner or "\\" in inner) else m.group(0)

    text = _PAREN.sub(shorten, label)
    m = re.match(r"^(\S+) \((\S+)\)(.*)$", text, re.S)
    if m and m.group(1) == m.group(2):
        text = m.group(1) + m.group(3)
    return text


def label_html(label: str) -> str:
    """A features label for a pane title: paths shortened, escaped, random weights in orange."""
    short = _html.escape(short_label(label), quote=False)
    return f'<span style="color:{theme.WARN}">{short}</span>' if "random weights" in label else short


def wrap(text: str, width: int) -> str:
    words, lines, line = text.split(), [], ""
    for word in words:
        if len(line) + len(word) + 1 > width and line:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    if line:
        lines.append(line)
    return "\n".join(lines)
