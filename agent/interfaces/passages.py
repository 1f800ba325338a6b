"""`csm kb search` results for people (a readable list) and programs (JSON). Apart from the
scores' renderers, so that a search imports no scoring code."""

from __future__ import annotations

import json
import re
from typing import IO, TYPE_CHECKING

from agent.interfaces.console import console_class
from tools.escaping import terminal_line, terminal_text

if TYPE_CHECKING:
    from rich.text import Text

    from tools.knowledge.index import Passage


def write_passages(passages: list[Passage], fmt: str, out: IO[str]) -> None:
    """Knowledge-base search results as a readable list or `{"results": [...]}`."""
    if fmt == "json":
        results = [p.model_dump() for p in passages]
        out.write(json.dumps({"results": results}, ensure_ascii=False, indent=2) + "\n")
        return
    from rich.text import Text

    console = console_class()(file=out)
    if not passages:
        console.print("no passages found")
    for rank, p in enumerate(passages, start=1):
        console.print(
            Text.assemble(
                _plain(f"{rank}. {p.heading}", "bold"),
                "  ",
                _plain(f"{p.topic} · {p.lang} · {p.source} · score {p.score:.3f}", "dim"),
            )
        )
        console.print(Text(terminal_text(unwrap(p.text))), highlight=False)
        console.print()


def _plain(value: object, style: str = "") -> Text:
    """Knowledge text for rich: a `Text`, so no markup or emoji code is read in it, with
    terminal escape sequences and control characters removed."""
    from rich.text import Text

    return Text(terminal_line(value), style=style)


_BLOCK_START = re.compile(r"^\s*([|#>*-]|\d+\.|```)")


def unwrap(text: str) -> str:
    """Join the hard-wrapped lines of Markdown paragraphs (lists, tables and headings stay)."""
    lines: list[str] = []
    for line in text.strip().splitlines():
        joinable = lines and lines[-1].strip() and line.strip()
        if joinable and not _BLOCK_START.match(line) and not lines[-1].lstrip().startswith("|"):
            lines[-1] = f"{lines[-1].rstrip()} {line.strip()}"
        else:
            lines.append(line)
    return "\n".join(lines)
