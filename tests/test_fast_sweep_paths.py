"""The faster paths of a sweep (issue 15) give what the plain ones give: Markdown escaping that
looks only at syntax characters escapes exactly what a look at every character escapes, and the
shortcuts of `markdown_inline` change no value."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tools.escaping import (
    _BLOCK_START,
    _ORDERED_START,
    _OUTER_SPACE,
    _escape_characters,
    _needs_escape,
    markdown_inline,
    terminal_line,
)


def _every_character(text: str) -> str:
    """The reference: every character asked in turn."""
    return "".join("\\" + ch if _needs_escape(text, i) else ch for i, ch in enumerate(text))


@settings(max_examples=1500, deadline=None, derandomize=True, database=None)
@given(st.text(alphabet=st.sampled_from(list("ab1 \\`|[]*~_<&#;:(>-=.)xé全\t")), max_size=30))
def test_markdown_escaping_skips_only_characters_that_never_escape(text):
    assert _escape_characters(text) == _every_character(text)


def _inline_reference(value: str) -> str:
    """`markdown_inline` without its shortcuts: every regex applied to every value."""
    text = _OUTER_SPACE.sub(" ", terminal_line(value))
    text = _every_character(text)
    if _BLOCK_START.match(text):
        at = len(text) - len(text.lstrip())
        return text[:at] + "\\" + text[at:]
    if match := _ORDERED_START.match(text):
        return text[: match.end()] + "\\" + text[match.end():]
    return text


@settings(max_examples=1500, deadline=None, derandomize=True, database=None)
@given(st.text(alphabet=st.sampled_from(list("a1 \u00a0\u3000\t\n#>-+=.)*_[&")), max_size=12))
def test_markdown_inline_shortcuts_change_nothing(text):
    assert markdown_inline(text) == _inline_reference(text)
