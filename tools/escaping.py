"""Escape account text for each medium it reaches: terminals, spreadsheets (CSV) and Markdown.

Every field of an account is hostile: ids, names, stakeholders, free text, and the tool-built
strings that embed them. Each output escapes at the point it writes, for its own medium:

- terminal: escape sequences (CSI, OSC such as OSC 8 hyperlinks, DCS, ...) are removed, and so
  are C0/C1 control characters and the bidi overrides that reorder what is shown. Rich markup
  is not escaped here: rich output passes account text as `rich.text.Text`, never as markup.
- CSV: a text cell that starts with `=`, `+`, `-`, `@`, tab or carriage return gets a leading
  single quote (OWASP's rule against formula injection); numbers are never touched.
- Markdown (and the HTML it renders to): only what would change the rendering is
  backslash-escaped, so the raw report stays readable in a terminal.

Pure functions, no state."""

from __future__ import annotations

import re
from functools import lru_cache

# ESC sequences: CSI, then the string sequences (OSC, DCS, SOS, PM, APC) ended by BEL or ST,
# then any other two-or-more character escape (charset selection, single shifts, resets).
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b[\]PX^_][^\x07\x1b]*(?:\x07|\x1b\\)"
    r"|\x1b[ -/]*[0-~]"
)
_LINE_BREAKS = re.compile(r"\r\n|[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
# C0 controls but tab and newline, DEL, C1 controls, and the bidi controls (embeddings,
# overrides, isolates and marks) that make a terminal show text in another order.
_CONTROLS = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)


def terminal_text(value: object) -> str:
    """Text safe to print on a terminal, line breaks kept (as `\\n`) and tabs kept."""
    text = str(value)
    if text.isprintable():  # no escape, control, bidi or line-break character
        return text
    text = _ESCAPES.sub("", text)
    return _CONTROLS.sub("", _LINE_BREAKS.sub("\n", text))


def terminal_line(value: object) -> str:
    """Text safe to print on a terminal as part of one line: line breaks and tabs become
    spaces, escape sequences and control characters are removed."""
    text = str(value)
    if text.isprintable():  # no escape, control, bidi or line-break character
        return text
    return terminal_text(text).replace("\n", " ").replace("\t", " ")


# CSV ---------------------------------------------------------------------------------------

# OWASP's list; carriage returns become line feeds below, so a leading line feed counts too.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def csv_cell(value: object) -> object:
    """A CSV cell: text is cleaned of escape sequences and control characters (line breaks and
    tabs stay) and neutralised with a leading `'` when a spreadsheet would read it as a
    formula; numbers, booleans and None pass unchanged."""
    if not isinstance(value, str):
        return value
    if value.isprintable():  # no escape or control character: as it is
        return "'" + value if value.startswith(FORMULA_START) else value
    text = _CONTROLS.sub("", _ESCAPES.sub("", value).replace("\r\n", "\n").replace("\r", "\n"))
    return "'" + text if text.startswith(FORMULA_START) else text


# Markdown ----------------------------------------------------------------------------------

ASCII_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
# `&` that a Markdown renderer would read as the start of an entity or character reference
# (the `;` may follow the value in the template, so the value's end counts too).
_ENTITY = re.compile(r"&(?:#|[A-Za-z][A-Za-z0-9]*(?:;|$))")
# A value at the start of a line (after up to three spaces): ATX heading, blockquote, bullet,
# setext underline or thematic break, ordered-list marker (`1.`, `1)`).
_BLOCK_START = re.compile(r"\s*(?:#{1,6}(?:\s|$)|>|[-+](?:\s|$)|[-=][-=\s]*$)")
_ORDERED_START = re.compile(r"\s*\d{1,9}(?=[.)](?:\s|$))")
_OUTER_SPACE = re.compile(r"^\s{2,}|\s{2,}$")
_MARKER_STARTS = frozenset("#>-+=0123456789")  # the first characters of those markers


def _needs_escape(text: str, i: int) -> bool:
    """Whether the character at `i` would be read as Markdown syntax."""
    ch = text[i]
    before = text[i - 1] if i > 0 else ""
    after = text[i + 1] if i + 1 < len(text) else ""
    if ch == "\\":  # escapes the next punctuation, or ends a line with a hard break
        return after == "" or after in ASCII_PUNCTUATION
    if ch in "`|":  # code spans, table cells
        return True
    if ch == "[":  # a link reference definition starts a line; `[[` a wiki link
        return not text[:i].strip() or after == "["
    if ch == "]":  # `](url)`, `][ref]`, `]:`, `]]`; at the end the template may add `(`
        return after in ("", "(", "[", ":", "]")
    if ch in "*~":  # emphasis, strikethrough; literal only between two spaces
        return not (before.isspace() and after.isspace())
    if ch == "_":  # emphasis only at a word's edge
        return not (before.isalnum() and after.isalnum())
    if ch == "<":  # raw HTML, autolinks
        return not after.isspace()
    if ch == "&":
        return _ENTITY.match(text, i) is not None
    return False


# The characters `_needs_escape` may escape; text without any is returned as it is.
_SYNTAX = re.compile(r"[\\`|\[\]*~_<&]")


def _escape_characters(text: str) -> str:
    if _SYNTAX.search(text) is None:  # most values: nothing to look at character by character
        return text
    return _SYNTAX.sub(
        lambda m: "\\" + m.group() if _needs_escape(text, m.start()) else m.group(), text
    )


def _escape_line_start(text: str) -> str:
    """Escape a block marker at the start of `text` (which may start a line of the report)."""
    if text.lstrip()[:1] not in _MARKER_STARTS:  # the usual case: no marker can start here
        return text
    if match := _BLOCK_START.match(text):
        at = len(text) - len(text.lstrip())
        return text[:at] + "\\" + text[at:]
    if match := _ORDERED_START.match(text):
        return text[: match.end()] + "\\" + text[match.end() :]
    return text


def markdown_inline(value: object) -> str:
    """One value inside a line of Markdown: line breaks and control characters become spaces,
    whitespace at either end shrinks to one space (an indent could open a code block), and
    syntax characters are escaped."""
    return _inline(value if type(value) is str else str(value))


@lru_cache(maxsize=8192)  # reports print the same labels, dates and amounts for many accounts
def _inline(value: str) -> str:
    text = terminal_line(value)
    if text[:2].isspace() or text[-2:].isspace():
        text = _OUTER_SPACE.sub(" ", text)
    return _escape_line_start(_escape_characters(text))


def markdown_block(value: object) -> str:
    """Multi-line text (a paragraph) in Markdown: every line is escaped as by
    `markdown_inline`, line breaks are kept, and runs of blank lines shrink to one."""
    lines: list[str] = []
    for line in terminal_text(value).split("\n"):
        escaped = markdown_inline(line.strip())
        if escaped or (lines and lines[-1]):
            lines.append(escaped)
    return "\n".join(lines).strip("\n")
