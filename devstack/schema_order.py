"""The source files of supabase/schemas read nothing defined in a later file.

A name is defined where a file creates it (`create table|view|type|function|... x.y`); a
reference is any `public.y` or `messaging_private.y` in a file's text, function bodies
included (PL/pgSQL binds late, so the database would not notice a forward reference).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

DEFINE = re.compile(
    r"create\s+(?:or\s+replace\s+)?(?:table|view|type|function|procedure)\s+"
    r"(?:if\s+not\s+exists\s+)?(public|messaging_private)\.(\w+)",
    re.IGNORECASE,
)
REFERENCE = re.compile(r"\b(public|messaging_private)\.(\w+)")
COMMENT = re.compile(r"--[^\n]*")
#: a string literal is a mention, not a read, unless it is cast to a reg* type
LITERAL = re.compile(r"'(?:[^']|'')*'(::reg\w+)?")


def _mention(m: re.Match[str]) -> str:
    return m.group(0) if m.group(1) else "''"


def forward_references(files: list[Path]) -> list[str]:
    """'file: name (defined in later_file)' for each name read before its file runs."""
    defined_in: dict[str, int] = {}
    texts = [LITERAL.sub(_mention, COMMENT.sub("", f.read_text())) for f in files]
    for i, text in enumerate(texts):
        for schema, name in DEFINE.findall(text):
            defined_in.setdefault(f"{schema}.{name}".lower(), i)
    problems = []
    for i, text in enumerate(texts):
        for schema, name in sorted(set(REFERENCE.findall(text))):
            key = f"{schema}.{name}".lower()
            where = defined_in.get(key)
            if where is not None and where > i:
                problems.append(f"{files[i].name}: {key} (defined in {files[where].name})")
    return problems


FUNCTION_START = re.compile(
    r"^create\s+(?:or\s+replace\s+)?function\s+([a-z_]+\.[a-z_0-9]+)\s*\(", re.IGNORECASE
)
BODY_END = re.compile(r"^\$[a-z_]*\$;\s*$")


def function_spans(lines: list[str]) -> Iterator[tuple[str, int, int]]:
    """(schema.name, first line, last line) of each function in a file's lines: from
    `create ... function` to the line that closes its body's dollar quote."""
    start: int | None = None
    name = ""
    for i, line in enumerate(lines):
        m = FUNCTION_START.match(line)
        if m and start is None:
            start, name = i, m.group(1).lower()
        elif start is not None and BODY_END.match(line):
            yield name, start, i
            start = None


def function_sizes(files: list[Path]) -> dict[str, int]:
    """Lines of each function of the source, `create` to the end of its body."""
    sizes: dict[str, int] = {}
    for f in files:
        for name, start, end in function_spans(f.read_text().split("\n")):
            sizes[f"{f.name}:{name}"] = end - start + 1
    return sizes
