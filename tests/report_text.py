"""Checks of a rendered report's text that a reader notices: repeated lines and clauses,
numbers written outside the language's format, and Markdown blocks that merge lines.

Used by tests/test_report_text.py on every sample report, and runnable by hand:
`python -m tests.report_text DIR` prints what it finds in every `*.md` of DIR."""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

from markdown_it import MarkdownIt

MD = MarkdownIt("commonmark").enable(["table", "strikethrough"])

# Text that is not a number to format: ISO dates, ids (acc-004), quarters with their year
# (Q4 2026), playbook keys and weekday counts inside identifiers.
_NOT_NUMBERS = re.compile(
    r"\d{4}-\d{2}-\d{2}"  # ISO dates
    r"|[A-Za-z_]+[-_]\d+"  # ids such as acc-004, h-1
    r"|Q[1-4] \d{4}"  # a quarter and its year
    r"|\b(?:19|20)\d{2}\b(?= (?:year|год|г\.))"
)
_DIGITS = re.compile(r"\d+")
# A decimal separator of the other language: 0.65 in Russian, 75,41 in English.
_FOREIGN_DECIMAL = {"ru": re.compile(r"(?<![\d.])\d+\.\d+(?![\d.])"),
                    "en": re.compile(r"(?<![\d,])\d+,\d{1,2}(?![\d,])")}
_FRACTION = {"en": re.compile(r"(?<=\d)\.\d+"), "ru": re.compile(r"(?<=\d),\d+")}
# A format label line: "HEALTH SCORE: ...", "КЛЮЧЕВЫЕ МЕТРИКИ:".
LABEL = re.compile(r"^[A-ZА-ЯЁ][A-ZА-ЯЁ0-9 /()-]{2,}:")
_LIST_MARK = re.compile(r"^\s*(?:[-*]|\d+\.)\s+")
_CLAUSE_SPLIT = re.compile(r"[;:()]\s*|,\s+|\s+[-–—]\s+")


def unformatted_numbers(text: str, lang: str) -> list[str]:
    """Numbers of 4 or more digits written without grouping (9600, 303963.5), and decimals
    written with the other language's separator, outside dates and ids."""
    found: list[str] = []
    for line in text.splitlines():
        plain = _NOT_NUMBERS.sub(" ", line)
        found += [m.group() for m in _FOREIGN_DECIMAL[lang].finditer(plain)]
        plain = _FOREIGN_DECIMAL[lang].sub(" ", plain)  # found once, as a decimal
        whole = _FRACTION[lang].sub("", plain)  # 0.0992 -> 0: decimals are not grouped
        found += [m.group() for m in _DIGITS.finditer(whole) if len(m.group()) >= 4]
    return found


def _norm(line: str) -> str:
    return " ".join(_LIST_MARK.sub("", line).split())


def _sections(report: str) -> list[list[str]]:
    """The report's lines by section: a section starts at a heading, a format label line
    ("KEY METRICS:") or a line that introduces a list (ends with ":")."""
    sections: list[list[str]] = [[]]
    for raw in report.splitlines():
        if raw.startswith("#") or LABEL.match(raw) or (raw.rstrip().endswith(":")
                                                       and not _LIST_MARK.match(raw)):
            sections.append([])
        sections[-1].append(raw)
    return sections


def repeated_lines(report: str, min_chars: int = 24) -> list[str]:
    """Lines (list markers and numbering aside) said twice in one section of a report, and list
    items of a section whose text after the item's name (`name: text`) is the same as
    another's (four initiatives with one description)."""
    found: list[str] = []
    for section in _sections(report):
        lines = [_norm(x) for x in section]
        counts = Counter(x for x in lines if len(x) >= min_chars)
        found += [x for x, n in counts.items() if n > 1]
        tails: Counter[str] = Counter()
        for raw in section:
            if _LIST_MARK.match(raw) and ": " in raw:
                name, tail = _norm(raw).split(": ", 1)
                if len(tail) >= min_chars and "(" not in name:
                    tails[tail] += 1
        found += [tail for tail, n in tails.items() if n > 1]
    return found


def repeated_clauses(report: str, min_words: int = 3) -> list[str]:
    """Clauses of three or more words said twice within one line ("propose on 2026-12-23, at
    the next QBR on 2026-12-23: propose on 2026-12-23")."""
    found: list[str] = []
    for line in report.splitlines():
        clauses = [" ".join(c.split()).lower() for c in _CLAUSE_SPLIT.split(_norm(line))]
        counts = Counter(c for c in clauses if len(c.split()) >= min_words)
        found += [c for c, n in counts.items() if n > 1]
    return found


def merged_label_paragraphs(markdown: str) -> list[str]:
    """Paragraphs in which two format lines ("CLIENT: ...", "HEALTH SCORE: ...") or a label
    and the text of the next line ("SUMMARY:" and the summary) run together when rendered."""
    found: list[str] = []
    for token in MD.parse(markdown):
        if token.type != "inline":
            continue
        children = token.children or []
        breaks = [i for i, c in enumerate(children) if c.type == "softbreak"]
        if not breaks:
            continue
        lines = token.content.split("\n")
        if any(LABEL.match(line) for line in lines):
            found.append(lines[0])
    return found


def blank_values(text: str) -> list[str]:
    """Lines with a label and nothing after it where a value belongs (`next , 91 days`)."""
    return [line for line in text.splitlines() if re.search(r"\s[,;]|\(\s*\)", line)]


def main(folder: str) -> int:
    totals: Counter[str] = Counter()
    for path in sorted(Path(folder).rglob("*.md")):
        text = path.read_text("utf-8")
        lang = "ru" if ".ru." in path.name or "/ru/" in str(path) else "en"
        problems = {
            "unformatted numbers": unformatted_numbers(text, lang),
            "repeated lines": [x for part in _reports(text) for x in repeated_lines(part)],
            "repeated clauses": [x for part in _reports(text) for x in repeated_clauses(part)],
            "merged paragraphs": merged_label_paragraphs(text),
        }
        for kind, items in problems.items():
            totals[kind] += len(items)
            for item in items:
                print(f"{path.name}: {kind}: {item[:120]}")
    for kind, n in totals.items():
        print(f"TOTAL {kind}: {n}")
    return 0


def _reports(text: str) -> list[str]:
    """The reports of one account file: split at its `## ` headings, else at blank-line runs."""
    if "\n## " in text or text.startswith("## "):
        return [p for p in re.split(r"(?m)^## ", text) if p.strip()]
    return [p for p in text.split("\n\n\n") if p.strip()]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
