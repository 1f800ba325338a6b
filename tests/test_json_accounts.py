"""`account_from_json` (issue 15) reads a JSONL row and validates it in one pass of
pydantic-core. It must build exactly the Account that parsing the text and validating it with
pydantic builds (values, their types, fields set, extras, private state), or give the row back
(None) for the full path to read and explain. Checked on generated portfolios, on arbitrary rows
(the property tests' strategies) and on numbers written every way JSON allows."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from tests.test_properties import SETTINGS, rows
from tools.portfolio.account import Account, parse_json
from tools.portfolio.fast_accounts import account_from_json
from tools.portfolio.readers import _jsonl_lines, read_portfolio, write_portfolio
from tools.portfolio.sample import generate_accounts


def _same(fast: Any, slow: Any) -> bool:
    """Equal, of the same types all the way down, with the same fields set and extras."""
    if type(fast) is not type(slow):
        return False
    if isinstance(fast, BaseModel):
        return (
            fast.model_fields_set == slow.model_fields_set
            and fast.__pydantic_extra__ == slow.__pydantic_extra__
            and fast.__pydantic_private__ == slow.__pydantic_private__
            and list(fast.__dict__) == list(slow.__dict__)
            and all(_same(fast.__dict__[k], slow.__dict__[k]) for k in fast.__dict__)
        )
    if isinstance(fast, list):
        return len(fast) == len(slow) and all(map(_same, fast, slow))
    return fast == slow or (fast != fast and slow != slow)


def _slow(text: str) -> Account | None:
    try:
        return Account.model_validate(parse_json(text))
    except ValidationError:
        return None


def _check(text: str) -> Account | None:
    """The one-pass account of `text`, checked against the full path's; read from the text's
    UTF-8 bytes (as the JSONL reader passes an ASCII line), it is the same."""
    fast = account_from_json(text)
    if fast is not None:
        slow = _slow(text)
        assert slow is not None, text
        assert _same(fast, slow), text
    from_bytes = account_from_json(text.encode("utf-8", "surrogatepass"))
    assert (from_bytes is None) == (fast is None), text
    if fast is not None:
        assert _same(from_bytes, fast), text
    return fast


def test_generated_rows_are_read_in_one_pass_exactly_as_validated(tmp_path):
    records = list(generate_accounts(2000, 11, date(2026, 12, 10)))
    for i, record in enumerate(records):
        if i % 7 == 0:
            record.update(status="churned", churned_on="2026-10-01")
    path = tmp_path / "a.jsonl"
    write_portfolio(records, path)
    lines = path.read_text(encoding="utf-8").splitlines()
    accepted = sum(_check(line) is not None for line in lines)
    assert accepted == len(lines)  # every generated row takes the one pass
    # and the reader gives the same portfolio as the full path
    full = [Account.model_validate(json.loads(line)) for line in lines]
    read = read_portfolio(path)
    assert not read.errors
    for row, (got, expected) in enumerate(zip(read.accounts, full, strict=True), start=1):
        assert _same(got, expected.located("a.jsonl", row))


@settings(max_examples=400, **SETTINGS)
@given(row=rows, ascii_only=st.booleans())
@example(row={"id": "0", "name": "\x1f"}, ascii_only=False)  # blank to str.strip only
@example(row={"id": "\x1c\x1d", "name": "x", "industry": "\x1e"}, ascii_only=True)
def test_any_row_is_read_exactly_or_given_back(row, ascii_only):
    """Arbitrary rows (hostile values in any field): the one pass accepts only what the full path
    accepts, and builds the same account."""
    try:
        text = json.dumps(row, ensure_ascii=ascii_only)
    except (ValueError, TypeError):
        return  # not JSON (nan in a key, ...)
    _check(text)


_DIGITS = st.text("0123456789", min_size=1, max_size=25)


@settings(max_examples=500, **SETTINGS)
@given(
    number=st.one_of(
        st.floats(0, 1e15).map(repr),
        st.floats(0, 1e15).map(lambda x: f"{x:.17g}"),
        st.floats(0, 1e15).map(lambda x: f"{x:.3e}"),
        st.tuples(_DIGITS, _DIGITS).map(lambda p: f"{p[0][:15]}.{p[1]}"),
        st.tuples(_DIGITS, st.integers(-330, 20)).map(lambda p: f"{p[0]}e{p[1]}"),
        st.integers(0, 10**15).map(str),
    )
)
def test_numbers_read_in_one_pass_are_the_numbers_python_reads(number):
    """Every way of writing a number: the one pass reads the float Python reads."""
    text = f'{{"id": "a", "name": "A", "mrr": {number}, "csat": 5, "budget": {number}}}'
    fast = _check(text)
    if fast is not None:
        assert fast.mrr == float(json.loads(number))


@pytest.mark.parametrize(
    "text",
    [
        '{"id": "a", "name": "A", "extra": 1}',  # an unknown key: the reader warns of it
        '{"id": "a", "name": "A", "stakeholders": [{"name": "B", "x": 1}]}',
        '{"id": "a", "name": "A", "history": [{"date": "2026-01-01", "x": 1}]}',
        '{"id": "a", "name": "A\\ud800"}',  # a lone surrogate: the full path refuses it
        '{"id": "a", "name": "A\\udc00\\u0041"}',
        '{"id": "a", "name": "A", "stakeholders": [{"name": "\\ud83d"}]}',
        '{"id": "a", "name": "A", "status": "Churned"}',  # lower-cased by the full path
        '{"id": "a", "name": "A", "status": "churned"}',  # no churned_on: refused there
        '{"id": 7, "name": "A"}',  # a number as id: text on the full path
        '{"id": "a", "name": "A", "licensed_seats": 3.0}',  # a whole float for a count
        '{"id": "a", "name": "A", "weekly_logins": "[1, 2]"}',  # a list as CSV text
        '{"id": "a", "name": "A", "mrr": 1e16}',  # beyond the bound
        '{"id": "a", "name": "A", "mrr": NaN}',
        '{"id": " ", "name": "A"}',
        '{"id": "a", "name": "A", "industry": ""}',  # blank: unknown on the full path
        '[{"id": "a", "name": "A"}]',
        '{"id": "a", "name": "A", "auto_pay": 1}',
    ],
)
def test_rows_that_need_the_full_path_are_given_back(text):
    assert account_from_json(text) is None


@pytest.mark.parametrize(
    "text",
    [
        '{"id": "  a ", "name": "A", "mrr": 5}',  # stripped as the model strips
        '{"id": "a", "name": "A", "mrr": 1, "mrr": 2}',  # the last of a repeated key
        '{"id": "a", "name": "Ärger 全", "mrr": -0.0, "csat": 10, "weekly_logins": []}',
        '{"id": "a", "name": "A", "status": "churned", "churned_on": "2026-01-31"}',
        '{"id": "a", "name": "A", "stakeholders": null, "history": [{"date": "2026-01-01"}]}',
        '{"id": "a", "name": "A\\u00e9\\ud83d\\ude00\\n\\t\\"\\\\\\/\\u0000"}',  # escapes
    ],
)
def test_rows_the_one_pass_reads_are_the_full_paths_accounts(text):
    assert _check(text) is not None


_PIECES = [b"\r", b"\n", b"\r\n", b" ", b"\t", b"\x1c", b"\x0b", b"a", b"{}", b"\xd0", b"\xd0\x96",
           b"\xe2\x80\xa8", b"\xc2\x85", b"\xef\xbb\xbf", b'{"id": "x", "name": "y"}']


@settings(max_examples=400, **SETTINGS)
@given(parts=st.lists(st.sampled_from(_PIECES), max_size=14))
def test_jsonl_lines_are_the_lines_text_mode_reads(tmp_path_factory, parts):
    """The binary line reader numbers and splits a file exactly as the text mode it replaced:
    line ends \n, \r\n and a lone \r, a leading byte-order mark dropped, bytes that are not
    UTF-8 escaped, other Unicode line breaks (NEL, U+2028) and separators left in the line."""
    path = tmp_path_factory.mktemp("lines") / "a.jsonl"
    path.write_bytes(b"".join(parts))
    with open(path, encoding="utf-8-sig", newline="", errors="surrogateescape") as handle:
        expected = list(enumerate(handle, start=1))
    read = [(n, line.decode("ascii") if isinstance(line, bytes) else line)
            for n, line in _jsonl_lines(path)]
    assert read == expected
