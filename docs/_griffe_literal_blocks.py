"""A griffe extension for the API reference: the docstrings' reStructuredText literal blocks
(a paragraph ending in ``::``, then the code) become fenced Python code blocks, since the
reference renders docstrings as Markdown.

``text ::`` becomes ``text``, ``text::`` becomes ``text:``, a lone ``::`` goes; the code
is the indented lines that follow, or, when they are not indented, the next paragraph.
Loaded by mkdocs.yml (mkdocstrings' python handler, ``extensions``); not part of the site.
"""

from __future__ import annotations

from typing import Any

import griffe


def convert(text: str) -> str:
    """`text` with each literal block fenced."""
    lines = text.split("\n")
    out: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        stripped = line.rstrip()
        index += 1
        if not stripped.endswith("::") or stripped.lstrip().startswith(">>>"):
            out.append(line)
            continue
        head = stripped[:-2]
        if head.strip():
            out.append(head.rstrip() if head.endswith(" ") else head + ":")
        while index < len(lines) and not lines[index].strip():
            index += 1
        if index == len(lines):
            break
        base = _indent(line)
        first = _indent(lines[index])
        block: list[str] = []
        while index < len(lines):
            current = lines[index]
            if first > base:
                if current.strip() and _indent(current) <= base:
                    break
            elif not current.strip():
                break
            block.append(current)
            index += 1
        while block and not block[-1].strip():
            block.pop()
        margin = min(_indent(code) for code in block if code.strip())
        pad = " " * base
        out += ["", f"{pad}```python", *(pad + code[margin:] for code in block), f"{pad}```", ""]
    return "\n".join(out)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


class LiteralBlocks(griffe.Extension):
    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        docstring = obj.docstring
        if docstring is not None and "::" in docstring.value:
            docstring.value = convert(docstring.value)
